"""The `/_sim/` admin API: health, request counters and the request log, injected faults,
cutting and expiring watches, run-time settings. Never counted, never authenticated, never
faulted."""

from __future__ import annotations

import json
from typing import Any

from .app import Simulator


def handle(sim: Simulator, method: str, path: str, raw: bytes | None,
           query: dict[str, str] | None = None) -> tuple[int, Any]:
    """(HTTP code, JSON body or plain text) for one admin request."""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return 400, {"error": "body is not JSON"}
    if not isinstance(body, dict):
        body = {}
    if path == "/_sim/healthz":
        return 200, "ok"
    if path == "/_sim/stats" and method == "GET":
        return 200, sim.stats.snapshot()
    if path == "/_sim/stats/reset" and method == "POST":
        # The counters and the log describe the same requests: a test that starts counting
        # afresh wants both to start afresh.
        sim.stats.reset()
        sim.requests.clear()
        return 200, {"ok": True}
    if path == "/_sim/requests" and method == "GET":
        try:
            return 200, sim.requests.query(query or {})
        except ValueError:
            return 400, {"error": "since and limit must be integers"}
    if path == "/_sim/requests/clear" and method == "POST":
        sim.requests.clear()
        return 200, {"ok": True}
    if path == "/_sim/faults" and method == "POST":
        try:
            return 200, {"ok": True, "fault": sim.faults.add(body).to_json()}
        except (TypeError, ValueError) as exc:
            return 400, {"error": f"bad fault rule: {exc}"}
    if path == "/_sim/faults" and method == "GET":
        return 200, {"faults": sim.faults.list()}
    if path == "/_sim/faults/clear" and method == "POST":
        sim.faults.clear()
        return 200, {"ok": True}
    if path == "/_sim/watches/cut" and method == "POST":
        return 200, {"ok": True, "cut": sim.store.cut_watches()}
    if path == "/_sim/watches/expire" and method == "POST":
        return 200, {"ok": True, "expired": sim.store.expire(), "resourceVersion": str(sim.store.rv)}
    if path == "/_sim/config" and method == "POST":
        if "expiredWatchAsEvent" in body:
            sim.config.expired_watch_as_event = bool(body["expiredWatchAsEvent"])
        if "bookmarkIntervalSeconds" in body:
            sim.config.bookmark_interval_seconds = float(body["bookmarkIntervalSeconds"])
        return 200, {"ok": True}
    return 404, {"error": f"unknown admin path {method} {path}"}

"""Injected faults (latency, 5xx, 429) and request counters, both driven by the `/_sim/` API."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .util import JSON, parse_rfc3339, rfc3339_micro


@dataclass
class Fault:
    """One rule: applies to requests whose path contains `path_contains` (and method, if set)."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    throttle_rate: float = 0.0
    retry_after_seconds: int = 1
    path_contains: str = ""
    method: str = ""
    count: int | None = None  # remaining matching requests; None = until cleared
    expires_at: float | None = None  # epoch seconds after which the rule is dropped; None = never

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @staticmethod
    def from_json(body: JSON) -> "Fault":
        """A rule from its JSON; `seconds` (from now) or `until` (RFC 3339, or epoch seconds)
        make it expire by itself. ValueError / TypeError when a value does not fit."""
        error_status = int(body.get("errorStatus", 500))
        error_rate = body.get("errorRate")
        if error_rate is None:
            error_rate = 1.0 if "errorStatus" in body else 0.0
        throttle_rate = body.get("throttleRate")
        if throttle_rate is None:
            throttle_rate = 1.0 if "retryAfterSeconds" in body and "errorStatus" not in body else 0.0
        count = body.get("count")
        expires_at: float | None = None
        if body.get("seconds") is not None:
            expires_at = time.time() + float(body["seconds"])
        elif isinstance(body.get("until"), str):
            expires_at = parse_rfc3339(body["until"])
        elif body.get("until") is not None:
            expires_at = float(body["until"])
        return Fault(
            latency_ms=float(body.get("latencyMs", 0) or 0),
            error_rate=float(error_rate),
            error_status=error_status,
            throttle_rate=float(throttle_rate),
            retry_after_seconds=int(body.get("retryAfterSeconds", 1)),
            path_contains=str(body.get("pathContains", "") or ""),
            method=str(body.get("method", "") or "").upper(),
            count=int(count) if count is not None else None,
            expires_at=expires_at,
        )

    def to_json(self) -> JSON:
        return {"latencyMs": self.latency_ms, "errorRate": self.error_rate, "errorStatus": self.error_status,
                "throttleRate": self.throttle_rate, "retryAfterSeconds": self.retry_after_seconds,
                "pathContains": self.path_contains, "method": self.method, "count": self.count,
                "expiresAt": rfc3339_micro(self.expires_at) if self.expires_at is not None else None}


@dataclass
class Decision:
    latency_s: float = 0.0
    error: ApiError | None = None


def _error(status: int) -> ApiError:
    if status == 503:
        return ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request",
                        {"causes": [{"reason": "UnexpectedServerResponse", "message": "injected fault"}]})
    if status == 504:
        return ApiError(504, "Timeout", "the server was unable to return a response in the time allotted, "
                        "but may still be processing the request", {})
    if status == 429:
        return ApiError(429, "TooManyRequests", "the server has received too many requests and has asked us "
                        "to try again later", {"retryAfterSeconds": 1}, {"Retry-After": "1"})
    return ApiError(status, "InternalError", "Internal error occurred: injected fault",
                    {"causes": [{"message": "injected fault"}]})


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[Fault] = []

    def add(self, body: JSON) -> Fault:
        fault = Fault.from_json(body)
        with self.lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def list(self) -> list[JSON]:
        with self.lock:
            self._drop_expired()
            return [f.to_json() for f in self.rules]

    def _drop_expired(self) -> None:
        now = time.time()
        self.rules = [f for f in self.rules if not f.expired(now)]

    def decide(self, method: str, path: str) -> Decision:
        decision = Decision()
        with self.lock:
            self._drop_expired()
            for fault in list(self.rules):
                if fault.path_contains and fault.path_contains not in path:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.rules.remove(fault)
                decision.latency_s += fault.latency_ms / 1000.0
                if decision.error is None and fault.throttle_rate and random.random() < fault.throttle_rate:
                    n = fault.retry_after_seconds
                    decision.error = ApiError(
                        429, "TooManyRequests",
                        "the server has received too many requests and has asked us to try again later",
                        {"retryAfterSeconds": n}, {"Retry-After": str(n)},
                    )
                elif decision.error is None and fault.error_rate and random.random() < fault.error_rate:
                    decision.error = _error(fault.error_status)
        return decision


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[str, int] = field(default_factory=dict)
    watches: dict[str, int] = field(default_factory=dict)
    open_watches: int = 0
    log_streams: int = 0
    open_log_streams: int = 0

    def count(self, key: str) -> None:
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def watch_started(self, key: str) -> None:
        with self.lock:
            self.watches[key] = self.watches.get(key, 0) + 1
            self.open_watches += 1

    def watch_ended(self) -> None:
        with self.lock:
            self.open_watches -= 1

    def log_started(self) -> None:
        with self.lock:
            self.log_streams += 1
            self.open_log_streams += 1

    def log_ended(self) -> None:
        with self.lock:
            self.open_log_streams -= 1

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.watches.clear()
            self.log_streams = 0

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(sorted(self.requests.items())),
                "total": sum(self.requests.values()),
                "watches": dict(sorted(self.watches.items())),
                "openWatches": self.open_watches,
                "logStreams": self.log_streams,
                "openLogStreams": self.open_log_streams,
            }

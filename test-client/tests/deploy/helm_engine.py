"""Lint and render a Helm chart with the real Helm engine (PyPI `helm-sdkpy`: Helm v4's Go
library as a shared object, Python 3.12+). Run by the deploy tests in their own virtual
environment, never imported by them:

    python helm_engine.py lint CHART [--values FILE]
    python helm_engine.py render CHART [--values FILE] [--namespace NS] [--release NAME]

Both print one JSON document on stdout.

`lint` is `helm lint CHART [-f FILE]`. helm-sdkpy's lint takes no values file, so the chart is
copied to a scratch folder whose values.yaml is the chart's own with FILE merged over it, the
way Helm coalesces `-f` values (maps merge key by key, anything else is replaced).

`render` is `helm template`. helm-sdkpy has no template action, so the chart is installed
(no waiting, release record kept in memory) into a stand-in API server on 127.0.0.1 that
answers discovery for the kinds the chart uses, finds no existing object and records every
object Helm creates. The result holds
the release manifest (what `helm template` prints, hooks apart), the hooks' manifests, the
rendered NOTES.txt and the objects as Helm sent them to the API server.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

# Helm keeps its release record in memory (the stand-in server stores nothing). The Go library
# takes the environment the process started with, so start again with it set.
if __name__ == "__main__" and os.environ.get("HELM_DRIVER") != "memory":
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "HELM_DRIVER": "memory"})

import helm_sdkpy  # noqa: E402

# Helm's support.Severity values.
SEVERITIES = {1: "INFO", 2: "WARNING", 3: "ERROR"}

# What the stand-in API server reports: Kubernetes 1.34, the version of the OpenAPI documents
# the tests validate against.
KUBE_VERSION = {"major": "1", "minor": "34", "gitVersion": "v1.34.0", "platform": "linux/amd64"}

# group/version -> [(resource, kind, namespaced)] the stand-in server serves.
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("services", "Service", True),
        ("pods", "Pod", True),
        ("namespaces", "Namespace", False),
    ],
    "apps/v1": [("deployments", "Deployment", True)],
    "batch/v1": [("jobs", "Job", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True)],
    "rbac.authorization.k8s.io/v1": [
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


# MARK: - values


def merge_values(base: Any, override: Any) -> Any:
    """Helm's coalescing of a `-f` file over the chart's values."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge_values(base.get(key), value)
        return merged
    return copy.deepcopy(override)


def load_values(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


# MARK: - lint


def lint(chart: Path, values_file: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="helm-lint-") as scratch:
        target = Path(scratch) / chart.name
        shutil.copytree(chart, target)
        if values_file:
            chart_values = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8")) or {}
            merged = merge_values(chart_values, load_values(values_file))
            (target / "values.yaml").write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
        config = helm_sdkpy.Configuration(namespace="default")
        result = asyncio.run(helm_sdkpy.Lint(config).run(str(target)))
    messages = [
        {"severity": SEVERITIES.get(m.get("Severity"), str(m.get("Severity"))), "path": m.get("Path", "")}
        for m in result.get("Messages") or []
    ]
    return {"charts": result.get("TotalChartsLinted", 0), "messages": messages, "errors": len(result.get("Errors") or [])}


# MARK: - render through a stand-in API server


class Recorder:
    """What the stand-in API server was sent."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: list[dict[str, Any]] = []


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def resource_list(group_version: str) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind, "verbs": VERBS}
            for name, kind, namespaced in RESOURCES[group_version]
        ],
    }


def group_list() -> dict[str, Any]:
    groups = []
    for gv in RESOURCES:
        if "/" in gv:
            group, version = gv.split("/")
            entry = {"groupVersion": gv, "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def make_handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def resource_path(self) -> tuple[str, list[str]]:
            """(group/version, the path segments after it)."""
            parts = [p for p in urlsplit(self.path).path.split("/") if p]
            if parts[:1] == ["api"] and len(parts) >= 2:
                return parts[1], parts[2:]
            if parts[:1] == ["apis"] and len(parts) >= 3:
                return f"{parts[1]}/{parts[2]}", parts[3:]
            return "", parts

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path.rstrip("/")
            if path == "/version":
                return self.reply(200, KUBE_VERSION)
            if path == "/api":
                return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
            if path == "/apis":
                return self.reply(200, group_list())
            gv, rest = self.resource_path()
            if gv in RESOURCES and not rest:
                return self.reply(200, resource_list(gv))
            # A collection (RES or namespaces/NS/RES) is empty; any single object is absent.
            if gv in RESOURCES and (len(rest) == 1 or (len(rest) == 3 and rest[0] == "namespaces")):
                return self.reply(200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []})
            return self.reply(404, status(404, "NotFound", f"{path} not found"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                return self.reply(415, status(415, "UnsupportedMediaType", "JSON only"))
            obj = json.loads(body)
            with recorder.lock:
                recorder.created.append(copy.deepcopy(obj))
                obj.setdefault("metadata", {}).update({"resourceVersion": "1", "uid": f"uid-{len(recorder.created)}"})
            return self.reply(201, obj)

        def refuse(self) -> None:
            self.reply(405, status(405, "MethodNotAllowed", "the stand-in server only creates"))

        do_PUT = do_PATCH = do_DELETE = refuse

    return Handler


def render(chart: Path, values_file: str | None, namespace: str, release: str) -> dict[str, Any]:
    recorder = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(recorder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "users": [{"name": "stand-in", "user": {"token": "stand-in"}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "stand-in", "namespace": namespace}}],
        "current-context": "stand-in",
    }
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="kubeconfig-") as kc:
            yaml.safe_dump(kubeconfig, kc)
            kc.flush()
            config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=kc.name)
            release_record = asyncio.run(helm_sdkpy.Install(config).run(
                release, str(chart), values=load_values(values_file) or None, wait=False, timeout=60,
            ))
    finally:
        server.shutdown()
        server.server_close()
    return {
        "manifest": release_record.get("manifest", ""),
        # Hooks (helm test, post-delete) are kept in the release, not installed.
        "hooks": [hook.get("manifest", "") for hook in release_record.get("hooks") or []],
        "notes": (release_record.get("info") or {}).get("notes", ""),
        "created": recorder.created,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["lint", "render"])
    parser.add_argument("chart", type=Path)
    parser.add_argument("--values")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--release", default="cloud-worker")
    args = parser.parse_args()
    try:
        if args.action == "lint":
            result = lint(args.chart, args.values)
        else:
            result = render(args.chart, args.values, args.namespace, args.release)
    except helm_sdkpy.HelmError as error:
        print(f"helm {args.action}: {error}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

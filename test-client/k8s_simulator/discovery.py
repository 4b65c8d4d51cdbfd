"""Discovery documents: /version, /api, /apis, the APIResourceLists and the OpenAPI v3 index."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from .resources import BATCH, CORE, Resource
from .schema import BATCH_DOC, CORE_DOC
from .util import JSON

VERSION: JSON = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0",
    "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T07:28:49Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

OPENAPI_PATHS: dict[str, Path] = {"api/v1": CORE_DOC, "apis/batch/v1": BATCH_DOC}
_hashes: dict[str, str] = {}
_hash_lock = threading.Lock()


def api_versions(server_address: str) -> JSON:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_groups() -> JSON:
    gv = {"groupVersion": "batch/v1", "version": "v1"}
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [{"name": "batch", "versions": [gv], "preferredVersion": gv}],
    }


def api_group(name: str) -> JSON | None:
    if name != "batch":
        return None
    gv = {"groupVersion": "batch/v1", "version": "v1"}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": "batch", "versions": [gv], "preferredVersion": gv}


def _entries(r: Resource) -> list[JSON]:
    main: JSON = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        main["shortNames"] = list(r.short_names)
    if r.categories:
        main["categories"] = list(r.categories)
    main["storageVersionHash"] = hashlib.sha256(r.key.encode()).hexdigest()[:11]
    out = [main]
    for sub in r.subresources:
        verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
        out.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": verbs})
    return out


def resource_list(group: str) -> JSON | None:
    if group == "":
        resources = [e for r in CORE for e in _entries(r)]
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}
    if group == "batch":
        resources = [e for r in BATCH for e in _entries(r)]
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1", "resources": resources}
    return None


def openapi_hash(path: str) -> str:
    with _hash_lock:
        if path not in _hashes:
            _hashes[path] = hashlib.sha512(OPENAPI_PATHS[path].read_bytes()).hexdigest().upper()
        return _hashes[path]


def openapi_index() -> JSON:
    return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={openapi_hash(p)}"} for p in OPENAPI_PATHS}}

"""Preparing an object for create: names, server metadata, defaults and validation. Shared by
the REST handlers and the controllers (which create pods the same way clients create jobs)."""

from __future__ import annotations

from . import defaults, errors, validation
from .resources import JOBS, PODS, SECRETS, Resource
from .store import Store
from .util import JSON, meta, new_uid, random_suffix, rfc3339


def prepare_create(store: Store, res: Resource, obj: JSON, namespace: str | None) -> JSON:
    """Fill in what the API server fills in before storing a new object; raise 422 when invalid."""
    obj["kind"] = res.kind
    obj["apiVersion"] = res.api_version
    md = meta(obj)
    if res.namespaced:
        ns = namespace or md.get("namespace") or "default"
        if md.get("namespace") and namespace and md["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
        md["namespace"] = ns
    else:
        md.pop("namespace", None)
    for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                         "selfLink", "managedFields"):
        md.pop(server_field, None)
    if not md.get("name") and md.get("generateName"):
        prefix = str(md["generateName"])
        prefix = prefix[: 63 - 5] if len(prefix) > 63 - 5 else prefix
        for _ in range(16):
            candidate = prefix + random_suffix(5)
            if store.peek(res, md.get("namespace", ""), candidate) is None:
                break
        md["name"] = candidate
    md["uid"] = new_uid()
    md["creationTimestamp"] = rfc3339()
    if res is JOBS:
        md["generation"] = 1
        defaults.job(obj)
        errs = validation.job(obj)
        obj["status"] = {}
    elif res is PODS:
        defaults.pod(obj)
        errs = validation.pod(obj)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}
    else:
        if res is SECRETS:
            defaults.secret(obj)
        errs = validation.generic(obj, res)
        if res.plural == "namespaces":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md.get("name", "")
    if errs:
        raise errors.invalid_object(res.kind, res.group, md.get("name") or md.get("generateName") or "", errs)
    return obj


def qos_class(pod: JSON) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    requests_any = limits_all = False
    guaranteed = bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            requests_any = True
        if not (lim.get("cpu") and lim.get("memory")) or any(req.get(k) != lim.get(k) for k in ("cpu", "memory")):
            guaranteed = False
        limits_all = limits_all or bool(lim)
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if requests_any or limits_all else "BestEffort"

"""DELETE as the API server's generic registry does it (`registry/generic/registry/store.go`
`Delete`, `rest.BeforeDelete`): preconditions, graceful deletion of pods, the garbage
collector's finalizers `orphan` / `foregroundDeletion` chosen from the propagation policy, and
objects held by finalizers marked with `deletionTimestamp` instead of removed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from . import errors
from .resources import JOBS, PODS, Resource
from .store import Store
from .util import JSON, deep, parse_rfc3339, rfc3339

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
POLICIES = ("Orphan", "Background", "Foreground")
JOB_ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
    "to remove them or set propagationPolicy=Orphan to suppress this warning"
)


@dataclass
class DeleteResult:
    """What a DELETE replies: the object (or a success Status), whether it is gone, warnings."""

    body: JSON
    deleted: bool
    warnings: list[str]


def success_status(res: Resource, obj: JSON) -> JSON:
    md = obj.get("metadata") or {}
    details: JSON = {"name": md.get("name", "")}
    if res.group:
        details["group"] = res.group
    details["kind"] = res.plural
    details["uid"] = md.get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def gc_finalizers(finalizers: list[str], policy: str | None, orphan_by_default: bool) -> list[str]:
    """The finalizers after a DELETE (`deletionFinalizersForGarbageCollection`): an explicit
    policy wins, then a GC finalizer the object already has, then the kind's default."""
    if policy is None:
        if ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Orphan" if orphan_by_default else "Background"
    out = [f for f in finalizers if f not in (ORPHAN, FOREGROUND)]
    if policy == "Orphan":
        out.append(ORPHAN)
    elif policy == "Foreground":
        out.append(FOREGROUND)
    return finalizers if set(out) == set(finalizers) else out


def _check_preconditions(res: Resource, name: str, md: JSON, uid: str | None, rv: str | None) -> None:
    if uid and uid != md.get("uid"):
        raise errors.conflict(res.plural, res.group, name,
                              f"Precondition failed: UID in precondition: {uid}, UID in object meta: {md.get('uid')}")
    if rv and rv != md.get("resourceVersion"):
        raise errors.conflict(res.plural, res.group, name,
                              f"Precondition failed: ResourceVersion in precondition: {rv}, "
                              f"ResourceVersion in object meta: {md.get('resourceVersion')}")


def _pod_grace(pod: JSON, requested: int | None) -> int:
    """The pod strategy's `CheckGracefulDelete`: the pod's own grace period unless one is given;
    0 for a pod never scheduled or already terminated (nothing left to stop)."""
    spec, phase = pod.get("spec") or {}, (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if requested is None:
        return int(spec.get("terminationGracePeriodSeconds", 30))
    return max(requested, 0)


def delete_object(
    store: Store,
    res: Resource,
    namespace: str,
    name: str,
    policy: str | None,
    grace: int | None = None,
    precondition_uid: str | None = None,
    precondition_rv: str | None = None,
) -> DeleteResult:
    """DELETE one object; `policy` None means the kind's default (Jobs: Orphan, with a warning)."""
    warnings = [JOB_ORPHAN_WARNING] if res is JOBS and policy is None else []
    if policy is not None and policy not in POLICIES:
        raise errors.bad_request(
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
            f'supported values: "Foreground", "Background", "Orphan", "nil"'
        )
    with store.lock:
        cur = store.peek(res, namespace, name)
        if cur is None:
            raise errors.not_found(res.plural, res.group, name)
        md = cur["metadata"]
        _check_preconditions(res, name, md, precondition_uid, precondition_rv)
        pending_grace = int(md.get("deletionGracePeriodSeconds") or 0)
        if res is PODS and md.get("deletionTimestamp") and pending_grace > 0:
            # A graceful deletion is under way: only a shorter grace period changes anything,
            # and the finalizers cannot be changed through DeleteOptions any more.
            if grace is None or grace >= pending_grace:
                return DeleteResult(deep(cur), False, warnings)
            shorter = max(grace, 0)
            when = parse_rfc3339(md["deletionTimestamp"]) - pending_grace + shorter

            def shorten(m: JSON) -> None:
                m.update(deletionTimestamp=rfc3339(when), deletionGracePeriodSeconds=shorter)

            return _write_deletion(store, res, cur, shorten, warnings)

        finalizers = gc_finalizers(list(md.get("finalizers") or []), policy, orphan_by_default=res is JOBS)
        graceful = res is PODS and not md.get("deletionTimestamp")
        if not graceful and not finalizers:
            final = store.remove(res, namespace, name)
            return DeleteResult(final if res is PODS else success_status(res, final), True, warnings)
        seconds = _pod_grace(cur, grace) if graceful else 0

        def mark(m: JSON) -> None:
            if not m.get("deletionTimestamp"):
                m["deletionTimestamp"] = rfc3339(time.time() + seconds)
                if "generation" in m:
                    m["generation"] += 1
            m["deletionGracePeriodSeconds"] = seconds
            if finalizers:
                m["finalizers"] = finalizers
            else:
                m.pop("finalizers", None)

        return _write_deletion(store, res, cur, mark, warnings)


def _write_deletion(store: Store, res: Resource, cur: JSON, change: Callable[[JSON], None],
                    warnings: list[str]) -> DeleteResult:
    """Write the deletion as an update (a MODIFIED event), as the registry does; with no grace
    period and no finalizer left to wait for, the object is then removed at once."""
    md = cur["metadata"]
    ns, name = md.get("namespace", ""), md["name"]
    obj = store.mutate(res, ns, name, lambda o: change(o["metadata"]), finish_deletion=False)
    assert obj is not None  # under the store lock, found just before
    if not obj["metadata"].get("deletionGracePeriodSeconds") and not obj["metadata"].get("finalizers"):
        final = store.remove(res, ns, name)
        return DeleteResult(final if res is PODS else success_status(res, final), True, warnings)
    return DeleteResult(deep(obj), False, warnings)

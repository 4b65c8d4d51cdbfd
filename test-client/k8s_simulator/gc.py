"""Deletion and garbage collection: propagation policies, finalizers `orphan` and
`foregroundDeletion`, graceful pod deletion, dependents found through ownerReferences."""

from __future__ import annotations

import logging
import threading
import time

from . import errors
from .resources import BY_KEY, JOBS, PODS, Resource
from .store import Event, Store
from .util import JSON, deep, rfc3339

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
JOB_ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
    "to remove them or set propagationPolicy=Orphan to suppress this warning"
)

log = logging.getLogger("k8s_simulator.gc")


class DeleteResult:
    """What a DELETE replies: the object (or a success Status), and warnings."""

    def __init__(self, body: JSON, warnings: list[str]) -> None:
        self.body = body
        self.warnings = warnings


def success_status(res: Resource, obj: JSON) -> JSON:
    md = obj.get("metadata") or {}
    details: JSON = {"name": md.get("name", "")}
    if res.group:
        details["group"] = res.group
    details["kind"] = res.plural
    details["uid"] = md.get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


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
    """DELETE as the API server does it (policy None means the kind's default)."""
    warnings: list[str] = []
    if policy is None:
        if res is JOBS:
            policy = "Orphan"
            warnings.append(JOB_ORPHAN_WARNING)
        else:
            policy = "Background"
    if policy not in ("Orphan", "Background", "Foreground"):
        raise errors.bad_request(
            f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
            f'supported values: "Foreground", "Background", "Orphan", "nil"'
        )
    with store.lock:
        cur = store.peek(res, namespace, name)
        if cur is None:
            raise errors.not_found(res.plural, res.group, name)
        md = cur.get("metadata") or {}
        if precondition_uid and precondition_uid != md.get("uid"):
            raise errors.conflict(
                res.plural, res.group, name,
                f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {md.get('uid')}",
            )
        if precondition_rv and precondition_rv != md.get("resourceVersion"):
            raise errors.conflict(
                res.plural, res.group, name,
                f"Precondition failed: ResourceVersion in precondition: {precondition_rv}, "
                f"ResourceVersion in object meta: {md.get('resourceVersion')}",
            )
        if res is PODS:
            if grace is None:
                grace = int((cur.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            phase = (cur.get("status") or {}).get("phase")
            if not (cur.get("spec") or {}).get("nodeName") or phase in ("Succeeded", "Failed"):
                grace = 0
        else:
            grace = 0
        finalizers = list(md.get("finalizers") or [])
        add = {"Orphan": ORPHAN, "Foreground": FOREGROUND}.get(policy)
        has_dependents = bool(store.dependents_of(md.get("uid", "")))
        if add and (has_dependents or add == ORPHAN and res is JOBS) and add not in finalizers:
            finalizers.append(add)
        if md.get("deletionTimestamp"):
            # Already being deleted: a shorter grace period or a new finalizer may still apply.
            def again(o: JSON) -> None:
                m = o["metadata"]
                if res is PODS and grace is not None and grace < (m.get("deletionGracePeriodSeconds") or 0):
                    m["deletionGracePeriodSeconds"] = grace
                m["finalizers"] = finalizers
                if not m["finalizers"]:
                    m.pop("finalizers", None)
            obj = store.mutate(res, namespace, name, again) or cur
            return DeleteResult(deep(obj), warnings)
        if not finalizers and grace == 0:
            final = store.remove(res, namespace, name)
            body = final if res is PODS else success_status(res, final)
            return DeleteResult(body, warnings)

        def mark(o: JSON) -> None:
            m = o["metadata"]
            m["deletionTimestamp"] = rfc3339(time.time() + grace)
            m["deletionGracePeriodSeconds"] = grace
            if finalizers:
                m["finalizers"] = finalizers
            if "generation" in m:
                m["generation"] += 1

        obj = store.mutate(res, namespace, name, mark)
        return DeleteResult(deep(obj) if obj is not None else success_status(res, cur), warnings)


class GarbageCollector:
    """Deletes dependents whose owners are gone, orphans or foreground-deletes on request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.wake = threading.Event()
        self.stop_flag = threading.Event()
        self.pending: set[tuple[str, str, str]] = set()
        self.pending_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="gc", daemon=True)
        store.subscribe(self._on_event)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        self.wake.set()

    def _on_event(self, ev: Event) -> None:
        md = ev.obj.get("metadata") or {}
        if ev.type == "DELETED":
            self.wake.set()
        elif md.get("deletionTimestamp") and {ORPHAN, FOREGROUND} & set(md.get("finalizers") or []):
            with self.pending_lock:
                self.pending.add((ev.resource, md.get("namespace", ""), md.get("name", "")))
            self.wake.set()

    def _run(self) -> None:
        last_full = 0.0
        while not self.stop_flag.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
            try:
                full = time.monotonic() - last_full > 5.0
                if full:
                    last_full = time.monotonic()
                self.sweep(full)
            except Exception:  # keep collecting whatever one object does
                log.exception("garbage collection sweep failed")

    def sweep(self, full: bool = False) -> None:
        store = self.store
        with self.pending_lock:
            todo = list(self.pending)
            self.pending.clear()
        if full:
            for res in BY_KEY.values():
                for obj in store.objects_of(res.key):
                    md = obj.get("metadata") or {}
                    if md.get("deletionTimestamp"):
                        todo.append((res.key, md.get("namespace", ""), md.get("name", "")))
        # Owners being deleted with a finalizer this collector handles.
        for res_key, ns, name in todo:
            res = BY_KEY[res_key]
            obj = store.peek(res, ns, name)
            if obj is None or not obj["metadata"].get("deletionTimestamp"):
                continue
            fins = obj["metadata"].get("finalizers") or []
            if ORPHAN in fins:
                self._orphan(res, obj)
            elif FOREGROUND in fins:
                self._foreground(res, obj)
                with self.pending_lock:  # look again once its dependents are gone
                    self.pending.add((res_key, ns, name))
        # Dependents whose owners no longer exist.
        for uid in store.owners_with_dependents():
            if store.exists_uid(uid):
                continue
            for res_key, ns, name in store.dependents_of(uid):
                self._dangling(BY_KEY[res_key], ns, name)

    def _orphan(self, res: Resource, owner: JSON) -> None:
        uid = owner["metadata"].get("uid", "")
        for res_key, ns, name in self.store.dependents_of(uid):
            dep_res = BY_KEY[res_key]

            def drop(o: JSON) -> None:
                refs = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if refs:
                    o["metadata"]["ownerReferences"] = refs
                else:
                    o["metadata"].pop("ownerReferences", None)

            self.store.mutate(dep_res, ns, name, drop)
        self._remove_finalizer(res, owner, ORPHAN)

    def _foreground(self, res: Resource, owner: JSON) -> None:
        uid = owner["metadata"].get("uid", "")
        blocking = 0
        for res_key, ns, name in self.store.dependents_of(uid):
            dep_res = BY_KEY[res_key]
            dep = self.store.peek(dep_res, ns, name)
            if dep is None:
                continue
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") == uid]
            if any(r.get("blockOwnerDeletion") for r in refs):
                blocking += 1
            if not dep["metadata"].get("deletionTimestamp"):
                try:
                    delete_object(self.store, dep_res, ns, name, "Background")
                except errors.ApiError:
                    pass
        if blocking == 0:
            self._remove_finalizer(res, owner, FOREGROUND)

    def _remove_finalizer(self, res: Resource, owner: JSON, finalizer: str) -> None:
        md = owner["metadata"]

        def drop(o: JSON) -> None:
            if o["metadata"].get("uid") != md.get("uid"):
                return
            fins = [f for f in o["metadata"].get("finalizers") or [] if f != finalizer]
            if fins:
                o["metadata"]["finalizers"] = fins
            else:
                o["metadata"].pop("finalizers", None)

        self.store.mutate(res, md.get("namespace", ""), md.get("name", ""), drop)

    def _dangling(self, res: Resource, ns: str, name: str) -> None:
        dep = self.store.peek(res, ns, name)
        if dep is None:
            return
        refs = dep["metadata"].get("ownerReferences") or []
        alive = [r for r in refs if self.store.exists_uid(r.get("uid", ""))]
        if alive:
            if len(alive) != len(refs):
                self.store.mutate(res, ns, name, lambda o: o["metadata"].__setitem__("ownerReferences", alive))
            return
        if dep["metadata"].get("deletionTimestamp"):
            return
        try:
            delete_object(self.store, res, ns, name, "Background")
        except errors.ApiError:
            pass

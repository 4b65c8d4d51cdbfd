"""The object store: every object of every kind, one global resourceVersion counter, a bounded
history of change events and the open watches.

Stored objects are never mutated in place: each write stores a new dict, so the snapshots held by
the history and by watch queues stay valid without copying.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from . import errors
from .resources import NAMESPACES, Resource
from .selectors import FieldSelector, LabelSelector
from .util import JSON, deep, get_path, new_uid, rfc3339

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


@dataclass(frozen=True)
class Event:
    """One committed change."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: str  # Resource.key
    obj: JSON
    prev: JSON | None = None


CUT = object()  # sentinel: close the stream abruptly
EXPIRED = object()  # sentinel: send a 410 ERROR event and end the stream


@dataclass(eq=False)
class Watcher:
    """An open watch: events matching its filters land in `queue`."""

    resource: str
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: "queue.SimpleQueue[object]" = field(default_factory=queue.SimpleQueue)
    last_rv: int = 0

    def matches(self, obj: JSON | None) -> bool:
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        if self.namespace and md.get("namespace") != self.namespace:
            return False
        return self.labels.matches(md.get("labels")) and self.fields.matches(obj)

    def offer(self, ev: Event) -> None:
        if ev.resource != self.resource:
            return
        now, before = self.matches(ev.obj), self.matches(ev.prev)
        kind: str | None = None
        if ev.type == "ADDED":
            kind = "ADDED" if now else None
        elif ev.type == "MODIFIED":
            if now and before:
                kind = "MODIFIED"
            elif now:
                kind = "ADDED"
            elif before:
                kind = "DELETED"
        elif ev.type == "DELETED":
            kind = "DELETED" if (now or before) else None
        if kind is not None:
            self.queue.put((kind, ev.obj, ev.rv))


class Store:
    """Thread-safe object store with watch support."""

    def __init__(self, history_size: int = 1000) -> None:
        self.lock = threading.RLock()
        self.rv = 0
        self.compacted_rv = 0
        self.history_size = max(1, history_size)
        self.history: deque[Event] = deque()
        self.objects: dict[str, dict[Key, JSON]] = {}
        self.watchers: set[Watcher] = set()
        self.listeners: list[Callable[[Event], None]] = []
        self.dependents: dict[str, set[tuple[str, str, str]]] = {}  # owner uid -> (res, ns, name)
        self.uids: dict[str, tuple[str, str, str]] = {}  # uid -> (res, ns, name)

    # --- reads -------------------------------------------------------------------------------

    def get(self, res: Resource, namespace: str, name: str) -> JSON:
        with self.lock:
            obj = self.objects.get(res.key, {}).get((namespace if res.namespaced else "", name))
            if obj is None:
                raise errors.not_found(res.plural, res.group, name)
            return deep(obj)

    def peek(self, res: Resource, namespace: str, name: str) -> JSON | None:
        """The stored snapshot itself (read-only), or None."""
        with self.lock:
            return self.objects.get(res.key, {}).get((namespace if res.namespaced else "", name))

    def list(
        self,
        res: Resource,
        namespace: str | None,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        copy: bool = True,
    ) -> tuple[list[JSON], int]:
        with self.lock:
            out: list[JSON] = []
            for (ns, _name), obj in sorted(self.objects.get(res.key, {}).items()):
                if namespace and ns != namespace:
                    continue
                md = obj.get("metadata") or {}
                if labels is not None and not labels.matches(md.get("labels")):
                    continue
                if fields is not None and not fields.matches(obj):
                    continue
                out.append(deep(obj) if copy else obj)
            return out, self.rv

    def dependents_of(self, uid: str) -> list[tuple[str, str, str]]:
        with self.lock:
            return sorted(self.dependents.get(uid, set()))

    def locate(self, uid: str) -> tuple[str, str, str] | None:
        """(Resource.key, namespace, name) of the object with this uid, if it exists."""
        with self.lock:
            return self.uids.get(uid)

    def objects_of(self, res_key: str) -> list[JSON]:
        """Read-only snapshots of every object of one kind."""
        with self.lock:
            return list(self.objects.get(res_key, {}).values())

    # --- writes ------------------------------------------------------------------------------

    def _commit(self, res: Resource, kind: str, obj: JSON, prev: JSON | None) -> JSON:
        self.rv += 1
        md = obj.setdefault("metadata", {})
        md["resourceVersion"] = str(self.rv)
        key = (md.get("namespace", "") if res.namespaced else "", md.get("name", ""))
        table = self.objects.setdefault(res.key, {})
        uid = md.get("uid", "")
        if kind == "DELETED":
            table.pop(key, None)
            self.uids.pop(uid, None)
        else:
            table[key] = obj
            self.uids[uid] = (res.key, key[0], key[1])
        self._index_owners(res, key, prev, None if kind == "DELETED" else obj)
        ev = Event(self.rv, kind, res.key, obj, prev)
        if len(self.history) >= self.history_size:
            self.compacted_rv = self.history.popleft().rv
        self.history.append(ev)
        for w in list(self.watchers):
            w.offer(ev)
        for listener in self.listeners:
            listener(ev)
        return obj

    def _index_owners(self, res: Resource, key: Key, prev: JSON | None, new: JSON | None) -> None:
        ref = (res.key, key[0], key[1])
        for obj, add in ((prev, False), (new, True)):
            for owner in get_path(obj, "metadata", "ownerReferences", default=[]) or []:
                uid = owner.get("uid") if isinstance(owner, dict) else None
                if not uid:
                    continue
                if add:
                    self.dependents.setdefault(uid, set()).add(ref)
                else:
                    deps = self.dependents.get(uid)
                    if deps is not None:
                        deps.discard(ref)
                        if not deps:
                            del self.dependents[uid]

    def create(self, res: Resource, obj: JSON) -> JSON:
        """Store a new object (already defaulted and validated); 409 if the name is taken."""
        with self.lock:
            md = obj.setdefault("metadata", {})
            ns = md.get("namespace", "") if res.namespaced else ""
            if (ns, md.get("name", "")) in self.objects.get(res.key, {}):
                raise errors.already_exists(res.plural, res.group, md.get("name", ""))
            if res.namespaced and ns:
                self.ensure_namespace(ns)
            md.setdefault("uid", new_uid())
            md.setdefault("creationTimestamp", rfc3339())
            return deep(self._commit(res, "ADDED", obj, None))

    def ensure_namespace(self, name: str) -> None:
        with self.lock:
            if ("", name) in self.objects.get(NAMESPACES.key, {}):
                return
            ns_obj: JSON = {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "uid": new_uid(),
                    "creationTimestamp": rfc3339(),
                    "labels": {"kubernetes.io/metadata.name": name},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            self._commit(NAMESPACES, "ADDED", ns_obj, None)

    def replace(self, res: Resource, obj: JSON, precondition_rv: str | None = None) -> JSON:
        """Store a new version of an existing object; 404 if missing, 409 on a stale RV.

        Server-owned metadata (uid, creationTimestamp, deletionTimestamp) is kept; generation
        increases when `spec` changes. An object being deleted whose finalizers are all gone is
        removed.
        """
        with self.lock:
            md = obj.setdefault("metadata", {})
            ns = md.get("namespace", "") if res.namespaced else ""
            name = md.get("name", "")
            cur = self.objects.get(res.key, {}).get((ns, name))
            if cur is None:
                raise errors.not_found(res.plural, res.group, name)
            cur_md = cur["metadata"]
            if precondition_rv and precondition_rv != cur_md.get("resourceVersion"):
                raise errors.conflict(res.plural, res.group, name)
            for keep in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if keep in cur_md:
                    md[keep] = cur_md[keep]
                else:
                    md.pop(keep, None)
            if "generation" in cur_md:
                changed = cur.get("spec") != obj.get("spec")
                md["generation"] = cur_md["generation"] + (1 if changed else 0)
            md["resourceVersion"] = cur_md.get("resourceVersion")
            if md.get("namespace") is None and res.namespaced:
                md["namespace"] = ns
            if obj == cur:
                return deep(cur)  # a no-op write does not bump the resourceVersion
            if self._finished_deleting(res, obj):
                # The reply is the object as updated; the DELETED event, as etcd's, carries the
                # last stored state (finalizer still listed) at the deletion's resourceVersion.
                self._commit(res, "DELETED", deep(cur), cur)
                return deep(obj)
            return deep(self._commit(res, "MODIFIED", obj, cur))

    def _finished_deleting(self, res: Resource, obj: JSON) -> bool:
        md = obj.get("metadata") or {}
        if not md.get("deletionTimestamp") or md.get("finalizers"):
            return False
        if res.plural == "pods" and (md.get("deletionGracePeriodSeconds") or 0) > 0:
            return False  # the kubelet still has to stop the containers
        return True

    def mutate(self, res: Resource, namespace: str, name: str, fn: Callable[[JSON], object],
               finish_deletion: bool = True) -> JSON | None:
        """Apply `fn` to a copy of the object and store it if it changed; None if missing. An
        object being deleted that is left with nothing to wait for is removed (unless
        `finish_deletion` is False: the DELETE handler writes its update first)."""
        with self.lock:
            cur = self.objects.get(res.key, {}).get((namespace if res.namespaced else "", name))
            if cur is None:
                return None
            new = deep(cur)
            fn(new)
            if new == cur:
                return cur
            if finish_deletion and self._finished_deleting(res, new):
                self._commit(res, "DELETED", deep(cur), cur)  # the last stored state, as etcd
                return new
            return self._commit(res, "MODIFIED", new, cur)

    def remove(self, res: Resource, namespace: str, name: str) -> JSON:
        """Remove the object now (DELETED event); returns its final state."""
        with self.lock:
            cur = self.objects.get(res.key, {}).get((namespace if res.namespaced else "", name))
            if cur is None:
                raise errors.not_found(res.plural, res.group, name)
            return deep(self._commit(res, "DELETED", deep(cur), cur))

    # --- watches -----------------------------------------------------------------------------

    def watch(
        self,
        res: Resource,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        resource_version: str | None,
    ) -> Watcher:
        """Open a watch. No RV (or "0"): synthetic ADDED events for what exists, then changes.
        An RV older than the kept history: 410 Expired."""
        w = Watcher(res.key, namespace, labels, fields)
        with self.lock:
            if not resource_version or resource_version == "0":
                for obj in self.list(res, namespace, labels, fields, copy=False)[0]:
                    w.queue.put(("ADDED", obj, self.rv))
            else:
                try:
                    rv = int(resource_version)
                except ValueError:
                    raise errors.bad_request(f"invalid resource version: {resource_version}") from None
                if rv < self.compacted_rv:
                    raise errors.gone(f"too old resource version: {rv} ({self.compacted_rv + 1})")
                for ev in self.history:
                    if ev.rv > rv:
                        w.offer(ev)
            w.last_rv = self.rv
            self.watchers.add(w)
        return w

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            self.watchers.discard(w)

    def idle_bookmark_rv(self, w: Watcher) -> int | None:
        """The RV a bookmark may carry now: every event up to it is already in the queue."""
        with self.lock:
            return self.rv if w.queue.empty() else None

    def cut_watches(self) -> int:
        with self.lock:
            ws = list(self.watchers)
            self.watchers.clear()
        for w in ws:
            w.queue.put(CUT)
        return len(ws)

    def expire(self) -> int:
        """Forget the history: older RVs now give 410, open watches get an ERROR event."""
        with self.lock:
            self.history.clear()
            self.compacted_rv = self.rv
            ws = list(self.watchers)
            self.watchers.clear()
        for w in ws:
            w.queue.put(EXPIRED)
        return len(ws)

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Internal controllers: called under the store lock, must only enqueue work."""
        with self.lock:
            self.listeners.append(listener)

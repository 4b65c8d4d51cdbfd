"""The garbage collector, as kube-controller-manager's (`pkg/controller/garbagecollector`):
dependents whose owners are gone are deleted, owners deleted with `orphan` get their dependents
released, and owners deleted with `foregroundDeletion` wait until their blocking dependents are
gone. Dependents are found through `metadata.ownerReferences` (the store indexes them by uid)."""

from __future__ import annotations

from typing import Iterable

from . import errors
from .controller import Controller, Key
from .deletion import FOREGROUND, ORPHAN, delete_object
from .resources import BY_KEY, Resource
from .store import Event
from .util import JSON, get_path


def _without(values: list[JSON], drop: set[str]) -> list[JSON]:
    return [r for r in values if r.get("uid") not in drop]


class GarbageCollector(Controller):
    name = "garbage-collector"

    # --- what to look at -------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        md = ev.obj.get("metadata") or {}
        ns, name = md.get("namespace", ""), md.get("name", "")
        yield ev.resource, ns, name
        # Owners re-check their blocking dependents; dependents re-check their owners.
        for obj in (ev.obj, ev.prev):
            for ref in get_path(obj, "metadata", "ownerReferences", default=[]) or []:
                owner = self.store.locate(ref.get("uid", "")) if isinstance(ref, dict) else None
                if owner is not None:
                    yield owner
        if ev.type == "DELETED" or md.get("deletionTimestamp"):
            yield from self.store.dependents_of(md.get("uid", ""))

    def all_keys(self) -> Iterable[Key]:
        for res in BY_KEY.values():
            for obj in self.store.objects_of(res.key):
                md = obj["metadata"]
                if md.get("ownerReferences") or md.get("deletionTimestamp"):
                    yield res.key, md.get("namespace", ""), md["name"]

    # --- sync ------------------------------------------------------------------------------------

    def sync(self, key: Key) -> float | None:
        res_key, ns, name = key
        res = BY_KEY[res_key]
        obj = self.store.peek(res, ns, name)
        if obj is None:
            return None
        md = obj["metadata"]
        finalizers = md.get("finalizers") or []
        if md.get("deletionTimestamp") and ORPHAN in finalizers:
            self._orphan_dependents(res, obj)
        elif md.get("deletionTimestamp") and FOREGROUND in finalizers:
            self._delete_dependents(res, obj)
        elif md.get("ownerReferences") and not md.get("deletionTimestamp"):
            self._check_owners(res, obj)
        return None

    def _orphan_dependents(self, res: Resource, owner: JSON) -> None:
        """`attemptToOrphan`: drop the owner from every dependent, then the `orphan` finalizer."""
        uid = owner["metadata"]["uid"]
        for dep_key, ns, name in self.store.dependents_of(uid):
            self.store.mutate(BY_KEY[dep_key], ns, name, lambda o: self._set_refs(
                o, _without(o["metadata"].get("ownerReferences") or [], {uid})))
        self._remove_finalizer(res, owner, ORPHAN)

    def _delete_dependents(self, res: Resource, owner: JSON) -> None:
        """`processDeletingDependentsItem`: every dependent is looked at (and deleted unless another
        owner keeps it); the `foregroundDeletion` finalizer goes once no dependent with
        `blockOwnerDeletion` is left, being deleted or not."""
        uid = owner["metadata"]["uid"]
        blocking = 0
        for dep_key, ns, name in self.store.dependents_of(uid):
            dep = self.store.peek(BY_KEY[dep_key], ns, name)
            if dep is None:
                continue
            refs = dep["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in refs):
                blocking += 1
            self.queue.add((dep_key, ns, name))
        if blocking == 0:
            self._remove_finalizer(res, owner, FOREGROUND)

    def _check_owners(self, res: Resource, obj: JSON) -> None:
        """`attemptToDeleteItem`: sort the owners into solid (present), dangling (gone) and
        waiting (deleting in the foreground). With a solid owner left, only the other references
        are dropped; with none, the object is deleted, in the foreground if it has dependents of
        its own and an owner waits for it, else as its own finalizers say."""
        md = obj["metadata"]
        refs = md.get("ownerReferences") or []
        solid: list[JSON] = []
        dangling: list[JSON] = []
        waiting: list[JSON] = []
        for ref in refs:
            owner_at = self.store.locate(ref.get("uid", ""))
            owner = self.store.peek(BY_KEY[owner_at[0]], owner_at[1], owner_at[2]) if owner_at else None
            if owner is None:
                dangling.append(ref)
            elif owner["metadata"].get("deletionTimestamp") and FOREGROUND in (owner["metadata"].get("finalizers") or []):
                waiting.append(ref)
            else:
                solid.append(ref)
        ns, name = md.get("namespace", ""), md["name"]
        if solid:
            drop = {r.get("uid", "") for r in dangling + waiting}
            if drop:
                self.store.mutate(res, ns, name, lambda o: self._set_refs(
                    o, _without(o["metadata"].get("ownerReferences") or [], drop)))
            return
        finalizers = md.get("finalizers") or []
        if waiting and self.store.dependents_of(md["uid"]):
            policy = "Foreground"
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        try:
            delete_object(self.store, res, ns, name, policy, precondition_uid=md["uid"])
        except errors.ApiError as exc:
            if exc.code not in (404, 409):  # gone already, or replaced by a new object
                raise

    @staticmethod
    def _set_refs(obj: JSON, refs: list[JSON]) -> None:
        if refs:
            obj["metadata"]["ownerReferences"] = refs
        else:
            obj["metadata"].pop("ownerReferences", None)

    def _remove_finalizer(self, res: Resource, owner: JSON, finalizer: str) -> None:
        uid = owner["metadata"]["uid"]

        def drop(o: JSON) -> None:
            if o["metadata"].get("uid") != uid:
                return
            rest = [f for f in o["metadata"].get("finalizers") or [] if f != finalizer]
            if rest:
                o["metadata"]["finalizers"] = rest
            else:
                o["metadata"].pop("finalizers", None)

        self.store.mutate(res, owner["metadata"].get("namespace", ""), owner["metadata"]["name"], drop)

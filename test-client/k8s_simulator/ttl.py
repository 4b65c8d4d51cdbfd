"""The TTL-after-finished controller (`pkg/controller/ttlafterfinished`): a finished Job with
`ttlSecondsAfterFinished` is deleted that many seconds after its `Complete` / `Failed` condition's
`lastTransitionTime`, in the foreground and with a uid precondition, as the real controller does.
Finalizers on the Job hold it (Terminating) after its pods are gone."""

from __future__ import annotations

import time
from typing import Iterable

from . import errors
from .controller import Controller, Key
from .deletion import delete_object
from .resources import JOBS
from .store import Event
from .util import JSON, parse_rfc3339


def finish_time(job: JSON) -> float | None:
    """When a finished Job finished (the condition's second-precision time), else None."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True" and c.get("lastTransitionTime"):
            return parse_rfc3339(c["lastTransitionTime"])
    return None


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == JOBS.key and ev.type != "DELETED":
            md = ev.obj["metadata"]
            yield JOBS.key, md.get("namespace", ""), md["name"]

    def all_keys(self) -> Iterable[Key]:
        for job in self.store.objects_of(JOBS.key):
            yield JOBS.key, job["metadata"].get("namespace", ""), job["metadata"]["name"]

    def sync(self, key: Key) -> float | None:
        _, ns, name = key
        job = self.store.peek(JOBS, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        finished = finish_time(job)
        if ttl is None or finished is None:
            return None
        left = finished + float(ttl) - time.time()
        if left > 0:
            return left
        try:
            delete_object(self.store, JOBS, ns, name, "Foreground", precondition_uid=job["metadata"]["uid"])
        except errors.ApiError as exc:
            if exc.code not in (404, 409):  # gone already, or a new Job of the same name
                raise
        return None

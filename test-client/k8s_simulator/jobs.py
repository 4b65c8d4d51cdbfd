"""The Job controller, following Kubernetes 1.31+ (`pkg/controller/job/job_controller.go`
`syncJob`): pods up to `parallelism` until `completions` succeed (Indexed: each index once),
retries with exponential back-off up to `backoffLimit`, `activeDeadlineSeconds`, `suspend`, and
the terminal conditions that appear only once every pod has terminated (`FailureTarget` /
`SuccessCriteriaMet` first).

Pods are counted as the real controller counts them: a finished pod that still carries the
`batch.kubernetes.io/job-tracking` finalizer is added to `succeeded` / `failed` and loses the
finalizer in the same step, so every count is derived from the store, never from memory. The
step runs under the store lock, which makes counting and finalizer removal one change (the real
controller needs `status.uncountedTerminatedPods` for that).

A Job being deleted (`deletionTimestamp`, held by a finalizer) is still synced, as upstream:
no pod is created or removed for it any more (`manageJob` is skipped), but deadlines and the
backoff limit still fail it and kill its pods, and every pod loses its tracking finalizer right
away; a pod that finishes after that is no longer counted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterable

from . import errors
from .controller import Controller, Key
from .defaults import COMPLETION_INDEX
from .deletion import delete_object
from .jobpods import (
    TRACKING_FINALIZER, condition, controller_ref, failed, finished, format_indexes, parse_indexes,
    phase, pod_index, ready, set_condition, terminal, tracked,
)
from .objects import prepare_create
from .resources import JOBS, PODS
from .store import Event, Store
from .util import JSON, deep, get_path, parse_rfc3339, rfc3339

BACKOFF_CAP_SECONDS = 360.0

log = logging.getLogger("k8s_simulator.jobs")


@dataclass
class Backoff:
    """Pod failures since the last success, for the retry delay (kept in memory upstream too)."""

    uid: str
    failures: int = 0
    last_failure: float = 0.0

    def remaining(self, base: float, now: float) -> float:
        if self.failures == 0:
            return 0.0
        delay = min(base * 2 ** (self.failures - 1), BACKOFF_CAP_SECONDS)
        return self.last_failure + delay - now


def _soonest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


class JobController(Controller):
    name = "job-controller"

    def __init__(self, store: Store, backoff_base: float = 10.0) -> None:
        super().__init__(store)
        self.backoff_base = backoff_base
        self.backoffs: dict[tuple[str, str], Backoff] = {}

    # --- what to look at -------------------------------------------------------------------------

    def keys_for(self, ev: Event) -> Iterable[Key]:
        md = ev.obj.get("metadata") or {}
        ns = md.get("namespace", "")
        if ev.resource == JOBS.key:
            yield JOBS.key, ns, md.get("name", "")
        elif ev.resource == PODS.key:
            for obj in (ev.obj, ev.prev):
                ref = controller_ref(obj)
                if ref is not None and ref.get("kind") == "Job":
                    yield JOBS.key, ns, ref.get("name", "")
            if ev.type != "DELETED" and tracked(ev.obj):
                yield PODS.key, ns, md.get("name", "")  # perhaps an orphan to release

    def all_keys(self) -> Iterable[Key]:
        for job in self.store.objects_of(JOBS.key):
            yield JOBS.key, job["metadata"].get("namespace", ""), job["metadata"]["name"]
        for pod in self.store.objects_of(PODS.key):
            if tracked(pod):
                yield PODS.key, pod["metadata"].get("namespace", ""), pod["metadata"]["name"]

    # --- sync ------------------------------------------------------------------------------------

    def sync(self, key: Key) -> float | None:
        res_key, ns, name = key
        # One consistent view of the Job and its pods; counts and finalizers change together.
        with self.store.lock:
            if res_key == PODS.key:
                self._release_orphan(ns, name)
                return None
            job = self.store.peek(JOBS, ns, name)
            if job is None:
                self.backoffs.pop((ns, name), None)
                return None
            if finished(job):
                return None
            return self._sync_job(job)

    def _release_orphan(self, ns: str, name: str) -> None:
        """`syncOrphanPod`: a pod whose Job is gone, finished or not a Job keeps no tracking
        finalizer (the Job's own sync releases the pods it still owns)."""
        pod = self.store.peek(PODS, ns, name)
        if pod is None or not tracked(pod):
            return
        ref = controller_ref(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self.store.peek(JOBS, ns, ref.get("name", ""))
            if job is not None and job["metadata"]["uid"] == ref.get("uid") and not finished(job):
                return
        self._untrack(pod)

    def _sync_job(self, job: JSON) -> float | None:
        md, spec = job["metadata"], job.get("spec") or {}
        now = time.time()
        status = deep(job.get("status") or {})
        pods = self._pods_of(job)
        deleting = bool(md.get("deletionTimestamp"))
        suspended = bool(spec.get("suspend"))

        # Finished pods not counted yet (they still carry the finalizer).
        new_succeeded = [p for p in pods if tracked(p) and phase(p) == "Succeeded"]
        new_failed = [p for p in pods if tracked(p) and failed(p, spec)]
        completed = self._completed_indexes(spec, status, new_succeeded)
        succeeded = len(completed) if completed is not None else int(status.get("succeeded") or 0) + len(new_succeeded)
        failures = int(status.get("failed") or 0) + len(new_failed)
        backoff = self._record_backoff(job, new_succeeded, new_failed, now)
        active = [p for p in pods if not terminal(p) and not p["metadata"].get("deletionTimestamp")]

        if not status.get("startTime") and not suspended:
            status["startTime"] = rfc3339(now)
        again: float | None = None
        target = condition(status, "FailureTarget") or condition(status, "SuccessCriteriaMet")
        if target is None:
            deadline = self._deadline(spec, status)
            if failures > int(spec.get("backoffLimit", 6)) or self._restarts_past_limit(spec, pods):
                target = self._target(status, "FailureTarget", "BackoffLimitExceeded",
                                      "Job has reached the specified backoff limit")
            elif deadline is not None and now >= deadline:
                target = self._target(status, "FailureTarget", "DeadlineExceeded",
                                      "Job was active longer than specified deadline")
            elif deadline is not None:
                again = deadline - now

        if target is not None:
            for pod in active:  # the finalizer stays: these pods are counted below
                self._delete(pod)
            active = []
        else:
            if not deleting:
                again = _soonest(again, self._manage(job, status, active, succeeded, completed, backoff, now))
            if self._complete(spec, succeeded, completed, active):
                target = self._target(status, "SuccessCriteriaMet", "CompletionsReached",
                                      "Reached expected number of completions")

        # The tracking finalizer goes from every pod counted now and, once the Job is deleting
        # or finishing, from all of its pods; a failing Job counts its unfinished pods as failed.
        counted = {p["metadata"]["uid"] for p in new_succeeded + new_failed}
        failing = target is not None and target["type"] == "FailureTarget"
        for pod in pods:
            if tracked(pod) and (pod["metadata"]["uid"] in counted or deleting or target is not None):
                if failing and pod["metadata"]["uid"] not in counted and phase(pod) != "Succeeded":
                    failures += 1
                self._untrack(pod)

        # The counts describe the pods as this sync leaves them.
        now_pods = self._pods_of(job)
        running = [p for p in now_pods if not terminal(p) and not p["metadata"].get("deletionTimestamp")]
        terminating = sum(1 for p in now_pods if p["metadata"].get("deletionTimestamp") and not terminal(p))
        if target is not None and terminating == 0:
            self._finish(status, target, now)
        done = finished({"status": status})
        status["succeeded"], status["failed"] = succeeded, failures
        self._fill_counts(status, [] if done else running, terminating, completed)
        if status != (job.get("status") or {}):
            self._write_status(job, status)
        return None if done else again

    # --- pieces of the sync ----------------------------------------------------------------------

    def _pods_of(self, job: JSON) -> list[JSON]:
        uid = job["metadata"]["uid"]
        out: list[JSON] = []
        for res_key, ns, name in self.store.dependents_of(uid):
            pod = self.store.peek(PODS, ns, name) if res_key == PODS.key else None
            ref = controller_ref(pod)
            if pod is not None and ref is not None and ref.get("uid") == uid:
                out.append(pod)
        return out

    @staticmethod
    def _completed_indexes(spec: JSON, status: JSON, new_succeeded: list[JSON]) -> set[int] | None:
        """Indexed Jobs: the succeeded indexes (status plus the pods counted now); else None."""
        if spec.get("completionMode") != "Indexed":
            return None
        completions = int(spec.get("completions") or 0)
        done = parse_indexes(status.get("completedIndexes"), completions)
        for pod in new_succeeded:
            index = pod_index(pod)
            if index is not None and 0 <= index < completions:
                done.add(index)
        return done

    def _record_backoff(self, job: JSON, new_succeeded: list[JSON], new_failed: list[JSON],
                        now: float) -> Backoff:
        md = job["metadata"]
        key = (md.get("namespace", ""), md["name"])
        record = self.backoffs.get(key)
        if record is None or record.uid != md["uid"]:
            record = self.backoffs[key] = Backoff(md["uid"])
        if new_succeeded:
            record.failures = 0
        elif new_failed:
            record.failures += len(new_failed)
            record.last_failure = now
        return record

    @staticmethod
    def _deadline(spec: JSON, status: JSON) -> float | None:
        """When `activeDeadlineSeconds` runs out (read afresh each sync, so a PATCH that
        shortens it takes effect at once)."""
        seconds = spec.get("activeDeadlineSeconds")
        if seconds is None or spec.get("suspend") or not status.get("startTime"):
            return None
        return parse_rfc3339(status["startTime"]) + float(seconds)

    @staticmethod
    def _restarts_past_limit(spec: JSON, pods: list[JSON]) -> bool:
        """restartPolicy OnFailure: container restarts in place count against backoffLimit."""
        if get_path(spec, "template", "spec", "restartPolicy") != "OnFailure":
            return False
        restarts = sum(int(cs.get("restartCount") or 0) for p in pods if phase(p) in ("Pending", "Running")
                       for cs in get_path(p, "status", "containerStatuses", default=[]) or [])
        limit = int(spec.get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    @staticmethod
    def _target(status: JSON, ctype: str, reason: str, message: str) -> JSON:
        set_condition(status, ctype, "True", reason, message)
        found = condition(status, ctype)
        assert found is not None
        return found

    @staticmethod
    def _complete(spec: JSON, succeeded: int, completed: set[int] | None, active: list[JSON]) -> bool:
        if active:
            return False
        completions = spec.get("completions")
        if completed is not None:
            return completions is not None and len(completed) >= int(completions)
        if completions is None:
            return succeeded > 0
        return succeeded >= int(completions)

    @staticmethod
    def _finish(status: JSON, target: JSON, now: float) -> None:
        """Complete / Failed, once no pod is terminating any more."""
        if target["type"] == "FailureTarget":
            set_condition(status, "Failed", "True", target["reason"], target["message"])
        else:
            set_condition(status, "Complete", "True", target["reason"], target["message"])
            status["completionTime"] = rfc3339(now)

    @staticmethod
    def _fill_counts(status: JSON, active: list[JSON], terminating: int, completed: set[int] | None) -> None:
        for key, value in (("active", len(active)), ("succeeded", int(status.get("succeeded") or 0)),
                           ("failed", int(status.get("failed") or 0))):
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        if completed is not None:
            text = format_indexes(completed)
            if text:
                status["completedIndexes"] = text
            else:
                status.pop("completedIndexes", None)
        status["ready"] = sum(1 for p in active if ready(p))
        status["terminating"] = terminating
        status["uncountedTerminatedPods"] = {}

    def _manage(self, job: JSON, status: JSON, active: list[JSON], succeeded: int,
                completed: set[int] | None, backoff: Backoff, now: float) -> float | None:
        """`manageJob`: suspend, scale down, or create pods after the back-off (mutates `status`
        and `active`); returns when to look again, if a back-off is pending."""
        spec = job.get("spec") or {}
        if spec.get("suspend"):
            for pod in active:
                self._delete(pod, counted=False)
            active.clear()
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended")
            status.pop("startTime", None)
            return None
        suspended_before = condition(status, "Suspended")
        if suspended_before is not None:
            set_condition(status, "Suspended", "False", "JobResumed", "Job resumed")
            status["startTime"] = rfc3339(now)

        parallelism = int(spec.get("parallelism") or 0)
        completions = spec.get("completions")
        if completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(0, min(parallelism, int(completions) - succeeded))
        if len(active) > want:
            newest = sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
            for pod in newest[: len(active) - want]:
                self._delete(pod, counted=False)
                active.remove(pod)
            return None
        if len(active) == want:
            return None
        wait = backoff.remaining(self.backoff_base, now)
        if wait > 0:
            return wait
        missing = want - len(active)
        if spec.get("podReplacementPolicy") == "Failed":
            # Only failed pods are replaced: a terminating pod still holds its place.
            missing -= sum(1 for p in self._pods_of(job) if p["metadata"].get("deletionTimestamp") and not terminal(p))
        if completed is not None:
            busy = {pod_index(p) for p in active}
            todo = [i for i in range(int(completions or 0)) if i not in completed and i not in busy]
            indexes: list[int | None] = list(todo[: max(0, missing)])
        else:
            indexes = [None] * max(0, missing)
        for index in indexes:
            created = self._create_pod(job, index)
            if created is not None:
                active.append(created)
        return None

    # --- writes ----------------------------------------------------------------------------------

    def _write_status(self, job: JSON, status: JSON) -> None:
        uid = job["metadata"]["uid"]

        def write(o: JSON) -> None:
            if o["metadata"]["uid"] == uid:
                o["status"] = status

        self.store.mutate(JOBS, job["metadata"].get("namespace", ""), job["metadata"]["name"], write)

    def _untrack(self, pod: JSON) -> None:
        def drop(o: JSON) -> None:
            rest = [f for f in o["metadata"].get("finalizers") or [] if f != TRACKING_FINALIZER]
            if rest:
                o["metadata"]["finalizers"] = rest
            else:
                o["metadata"].pop("finalizers", None)

        self.store.mutate(PODS, pod["metadata"].get("namespace", ""), pod["metadata"]["name"], drop)

    def _delete(self, pod: JSON, counted: bool = True) -> None:
        """Delete a pod (Background). `counted=False` (suspend, scale down): its finalizer goes
        first, so it never counts as a failure (`deleteJobPods`)."""
        if not counted:
            self._untrack(pod)
        try:
            delete_object(self.store, PODS, pod["metadata"].get("namespace", ""), pod["metadata"]["name"],
                          "Background", precondition_uid=pod["metadata"]["uid"])
        except errors.ApiError as exc:
            if exc.code not in (404, 409):
                raise

    def _create_pod(self, job: JSON, index: int | None) -> JSON | None:
        md, spec = job["metadata"], job.get("spec") or {}
        template = deep(spec.get("template") or {})
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        annotations = dict(tmeta.get("annotations") or {})
        pod_spec = template.get("spec") or {}
        generate = f"{md['name']}-"
        if index is not None:
            generate = f"{md['name']}-{index}-"
            annotations[COMPLETION_INDEX] = str(index)
            labels[COMPLETION_INDEX] = str(index)
            pod_spec.setdefault("hostname", f"{md['name']}-{index}")
            for c in (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or []):
                env = c.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})
        pod: JSON = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": generate,
                "namespace": md.get("namespace", ""),
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": md["name"],
                                     "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}],
                "finalizers": [TRACKING_FINALIZER],
            },
            "spec": pod_spec,
        }
        if not annotations:
            del pod["metadata"]["annotations"]
        try:
            prepared = prepare_create(self.store, PODS, pod, md.get("namespace", ""))
            return self.store.create(PODS, prepared)
        except errors.ApiError as exc:
            # An invalid template fails every time: the controller reports it and goes on.
            log.warning("job %s: pod not created: %s", md["name"], exc)
            return None

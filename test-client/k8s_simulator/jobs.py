"""The Job controller, following Kubernetes 1.31+: pods up to `parallelism` until `completions`
succeed (Indexed: each index once), retries with exponential back-off up to `backoffLimit`,
`activeDeadlineSeconds`, `suspend`, `ttlSecondsAfterFinished`, and the terminal conditions that
appear only after every pod has terminated (`FailureTarget` / `SuccessCriteriaMet` first)."""

from __future__ import annotations

import heapq
import logging
import threading
import time

from . import errors
from .defaults import COMPLETION_INDEX
from .gc import delete_object
from .objects import prepare_create
from .resources import JOBS, PODS
from .store import Event, Store
from .util import JSON, deep, get_path, parse_rfc3339, rfc3339

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
BACKOFF_CAP_SECONDS = 360.0

log = logging.getLogger("k8s_simulator.jobs")


def controller_ref(obj: JSON | None) -> JSON | None:
    for ref in get_path(obj, "metadata", "ownerReferences", default=[]) or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def has_condition(status: JSON, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in status.get("conditions") or [])


def set_condition(status: JSON, ctype: str, cstatus: str, reason: str, message: str) -> None:
    now = rfc3339()
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != cstatus:
                c.update(status=cstatus, lastTransitionTime=now)
            c.update(reason=reason, message=message, lastProbeTime=now)
            return
    conds.append({"type": ctype, "status": cstatus, "lastProbeTime": now, "lastTransitionTime": now,
                  "reason": reason, "message": message})


def format_indexes(indexes: set[int]) -> str:
    """`0-3,5` as in `status.completedIndexes`."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def pod_index(pod: JSON) -> int | None:
    value = get_path(pod, "metadata", "annotations", COMPLETION_INDEX)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class JobController:
    """Reconciles Jobs whenever they or their pods change, and on timers (back-off, deadline, TTL)."""

    def __init__(self, store: Store, backoff_base: float = 10.0) -> None:
        self.store = store
        self.backoff_base = backoff_base
        self.lock = threading.Lock()
        self.dirty: set[tuple[str, str]] = set()
        self.release: set[tuple[str, str]] = set()  # pods whose tracking finalizer may go
        self.timers: list[tuple[float, str, str]] = []
        self.wake = threading.Event()
        self.stop_flag = threading.Event()
        self.counted: dict[str, set[str]] = {}  # job uid -> pod uids already counted
        self.seen: dict[str, set[str]] = {}  # job uid -> pod uids seen not terminal
        self.last_failure: dict[str, float] = {}
        self.completed: dict[str, set[int]] = {}
        self.thread = threading.Thread(target=self._run, name="job-controller", daemon=True)
        store.subscribe(self._on_event)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        self.wake.set()

    # --- event intake (called under the store lock) ---------------------------------------------

    def _on_event(self, ev: Event) -> None:
        md = ev.obj.get("metadata") or {}
        if ev.resource == JOBS.key:
            with self.lock:
                self.dirty.add((md.get("namespace", ""), md.get("name", "")))
            self.wake.set()
        elif ev.resource == PODS.key:
            ref = controller_ref(ev.obj) or controller_ref(ev.prev)
            with self.lock:
                if ref and ref.get("kind") == "Job":
                    self.dirty.add((md.get("namespace", ""), ref.get("name", "")))
                if ev.type != "DELETED" and TRACKING_FINALIZER in (md.get("finalizers") or []):
                    self.release.add((md.get("namespace", ""), md.get("name", "")))
            self.wake.set()

    def _schedule(self, when: float, ns: str, name: str) -> None:
        with self.lock:
            heapq.heappush(self.timers, (when, ns, name))
        self.wake.set()

    # --- loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        last_resync = time.monotonic()
        while not self.stop_flag.is_set():
            with self.lock:
                delay = 1.0
                if self.timers:
                    delay = max(0.0, min(delay, self.timers[0][0] - time.time()))
            self.wake.wait(delay)
            self.wake.clear()
            now = time.time()
            with self.lock:
                work = set(self.dirty)
                self.dirty.clear()
                while self.timers and self.timers[0][0] <= now:
                    _, ns, name = heapq.heappop(self.timers)
                    work.add((ns, name))
                release = set(self.release)
                self.release.clear()
            if time.monotonic() - last_resync > 10.0:
                last_resync = time.monotonic()
                jobs = self.store.objects_of(JOBS.key)
                work |= {(j["metadata"].get("namespace", ""), j["metadata"]["name"]) for j in jobs}
                live = {j["metadata"]["uid"] for j in jobs}
                for table in (self.counted, self.seen, self.last_failure, self.completed):
                    for gone_uid in [u for u in table if u not in live]:
                        del table[gone_uid]
            for ns, name in sorted(work):
                try:
                    self.reconcile(ns, name)
                except Exception:
                    log.exception("reconciling job %s/%s failed", ns, name)
            for ns, name in release:
                try:
                    self._release_orphan(ns, name)
                except Exception:
                    log.exception("releasing pod %s/%s failed", ns, name)

    # --- reconcile -------------------------------------------------------------------------------

    def _remove_tracking(self, ns: str, name: str) -> None:
        def drop(o: JSON) -> None:
            fins = [f for f in o["metadata"].get("finalizers") or [] if f != TRACKING_FINALIZER]
            if fins:
                o["metadata"]["finalizers"] = fins
            else:
                o["metadata"].pop("finalizers", None)

        self.store.mutate(PODS, ns, name, drop)

    def _release_orphan(self, ns: str, name: str) -> None:
        """A pod whose Job is gone (or that no Job controls) keeps no tracking finalizer."""
        pod = self.store.peek(PODS, ns, name)
        if pod is None or TRACKING_FINALIZER not in (pod["metadata"].get("finalizers") or []):
            return
        ref = controller_ref(pod)
        if ref is None or not self.store.exists_uid(ref.get("uid", "")):
            self._remove_tracking(ns, name)

    def reconcile(self, ns: str, name: str) -> None:
        store = self.store
        job = store.peek(JOBS, ns, name)
        if job is None:
            return
        uid = job["metadata"]["uid"]
        spec = job.get("spec") or {}
        status = deep(job.get("status") or {})
        now = time.time()
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism") or 0)
        counted = self.counted.setdefault(uid, set())
        seen = self.seen.setdefault(uid, set())
        completed = self.completed.setdefault(uid, set())

        pods: list[JSON] = []
        for res_key, pns, pname in store.dependents_of(uid):
            if res_key != PODS.key:
                continue
            pod = store.peek(PODS, pns, pname)
            ref = controller_ref(pod)
            if pod is not None and ref is not None and ref.get("uid") == uid:
                pods.append(pod)

        active: list[JSON] = []
        terminating: list[JSON] = []
        ready = 0
        present: set[str] = set()
        for pod in pods:
            puid = pod["metadata"]["uid"]
            present.add(puid)
            phase = get_path(pod, "status", "phase")
            if phase in ("Succeeded", "Failed"):
                if puid not in counted:
                    counted.add(puid)
                    if phase == "Succeeded":
                        idx = pod_index(pod)
                        if not indexed:
                            status["succeeded"] = int(status.get("succeeded") or 0) + 1
                        elif idx is not None and completions is not None and 0 <= idx < completions:
                            completed.add(idx)
                    else:
                        status["failed"] = int(status.get("failed") or 0) + 1
                        self.last_failure[uid] = now
                if TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or []):
                    self._remove_tracking(pns_of(pod), pod["metadata"]["name"])
            elif pod["metadata"].get("deletionTimestamp"):
                # As the controller does: a deleted pod counts as failed right away (unless
                # podReplacementPolicy is Failed), before a replacement is considered.
                seen.add(puid)
                terminating.append(pod)
                if puid not in counted and spec.get("podReplacementPolicy") != "Failed":
                    counted.add(puid)
                    status["failed"] = int(status.get("failed") or 0) + 1
                    self.last_failure[uid] = now
            else:
                seen.add(puid)
                active.append(pod)
                if any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in get_path(pod, "status", "conditions", default=[]) or []):
                    ready += 1
        for puid in seen - present - counted:  # vanished before reaching a terminal phase
            counted.add(puid)
            status["failed"] = int(status.get("failed") or 0) + 1
            self.last_failure[uid] = now
        seen &= present
        if indexed:
            status["succeeded"] = len(completed)

        finished = has_condition(status, "Complete") or has_condition(status, "Failed")
        deleting = bool(job["metadata"].get("deletionTimestamp"))
        managed = not finished and not deleting
        if managed:
            self._manage(job, status, active, terminating, completed, now)
            finished = has_condition(status, "Complete") or has_condition(status, "Failed")
        else:
            self._fill_counts(status, active, terminating, ready, indexed, completed)

        if managed and finished:
            # Complete / Failed go out in the same status write as the final counts, as the
            # controller sends them: `_manage` sets them only once no pod runs any more, and a
            # finished Job is not written again (clients claim it with a resourceVersion
            # precondition, which a second write would break).
            self._fill_counts(status, [], [], 0, indexed, completed)
        elif not finished and not deleting:
            ready = sum(
                1 for p in active
                if any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in get_path(p, "status", "conditions", default=[]) or [])
            )
            self._fill_counts(status, active, terminating, ready, indexed, completed)

        if status != (job.get("status") or {}):
            def write(o: JSON) -> None:
                if o["metadata"].get("uid") == uid:
                    o["status"] = status

            store.mutate(JOBS, ns, name, write)
        if finished:
            self._ttl(job, status, now)

    def _fill_counts(self, status: JSON, active: list[JSON], terminating: list[JSON], ready: int,
                     indexed: bool, completed: set[int]) -> None:
        for key, value in (("active", len(active)), ("succeeded", int(status.get("succeeded") or 0)),
                           ("failed", int(status.get("failed") or 0))):
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        if indexed:
            text = format_indexes(completed)
            if text:
                status["completedIndexes"] = text
            else:
                status.pop("completedIndexes", None)
        status["ready"] = ready
        status["terminating"] = len(terminating)
        status["uncountedTerminatedPods"] = {}

    def _manage(self, job: JSON, status: JSON, active: list[JSON], terminating: list[JSON],
                completed: set[int], now: float) -> None:
        """Decide conditions and create or delete pods (mutates `status` and `active`)."""
        md, spec = job["metadata"], job.get("spec") or {}
        ns, name, uid = md.get("namespace", ""), md["name"], md["uid"]
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        parallelism = int(spec.get("parallelism") or 0)
        suspended = bool(spec.get("suspend"))
        succeeded = int(status.get("succeeded") or 0)
        failed = int(status.get("failed") or 0)

        if not has_condition(status, "FailureTarget") and not has_condition(status, "SuccessCriteriaMet"):
            if not suspended and not status.get("startTime"):
                status["startTime"] = rfc3339(now)
            ads = spec.get("activeDeadlineSeconds")
            start = parse_rfc3339(status["startTime"]) if status.get("startTime") else None
            if not suspended and ads is not None and start is not None and now - start >= ads:
                set_condition(status, "FailureTarget", "True", "DeadlineExceeded",
                              "Job was active longer than specified deadline")
            elif failed > int(spec.get("backoffLimit", 6)) or self._restarts_past_limit(spec, active):
                set_condition(status, "FailureTarget", "True", "BackoffLimitExceeded",
                              "Job has reached the specified backoff limit")
            elif self._succeeded(indexed, completions, succeeded, completed, active):
                set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached",
                              "Reached expected number of completions")
            elif ads is not None and start is not None and not suspended:
                self._schedule(start + ads, ns, name)

        target = has_condition(status, "FailureTarget")
        met = has_condition(status, "SuccessCriteriaMet")
        if target or met:
            for pod in active:
                self._delete_pod(pod)
            terminating.extend(active)
            active.clear()
            still_running = [p for p in terminating if self.store.peek(PODS, ns, p["metadata"]["name"]) is not None
                             and get_path(p, "status", "phase") not in ("Succeeded", "Failed")]
            if not still_running:
                if target:
                    cond = next(c for c in status["conditions"] if c["type"] == "FailureTarget")
                    set_condition(status, "Failed", "True", cond["reason"], cond["message"])
                else:
                    set_condition(status, "Complete", "True", "CompletionsReached",
                                  "Reached expected number of completions")
                    status["completionTime"] = rfc3339(now)
            return

        if suspended:
            for pod in active:
                self._delete_pod(pod)
            terminating.extend(active)
            active.clear()
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended")
            status.pop("startTime", None)
            return
        if has_condition(status, "Suspended"):
            set_condition(status, "Suspended", "False", "JobResumed", "Job resumed")

        # Back-off after failures: base * 2^(failures-1), capped like the controller's 6 minutes.
        if failed and uid in self.last_failure:
            delay = min(self.backoff_base * (2 ** (failed - 1)), BACKOFF_CAP_SECONDS)
            ready_at = self.last_failure[uid] + delay
            if now < ready_at:
                self._schedule(ready_at, ns, name)
                return

        if indexed:
            busy = {pod_index(p) for p in active}
            todo = [i for i in range(int(completions or 0)) if i not in completed and i not in busy]
            room = max(0, parallelism - len(active))
            for i in todo[:room]:
                created = self._create_pod(job, i)
                if created is not None:
                    active.append(created)
        else:
            if completions is None:
                want = parallelism if succeeded == 0 else 0
            else:
                want = min(parallelism, max(0, int(completions) - succeeded))
            if len(active) < want:
                for _ in range(want - len(active)):
                    created = self._create_pod(job, None)
                    if created is not None:
                        active.append(created)
            elif len(active) > want:
                excess = sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
                for pod in excess[: len(active) - want]:
                    self._delete_pod(pod)
                    active.remove(pod)
                    terminating.append(pod)

    @staticmethod
    def _restarts_past_limit(spec: JSON, active: list[JSON]) -> bool:
        """restartPolicy OnFailure: container restarts in place count against backoffLimit."""
        if get_path(spec, "template", "spec", "restartPolicy") != "OnFailure":
            return False
        restarts = sum(int(cs.get("restartCount") or 0) for p in active
                       for cs in get_path(p, "status", "containerStatuses", default=[]) or [])
        limit = int(spec.get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    @staticmethod
    def _succeeded(indexed: bool, completions: int | None, succeeded: int, completed: set[int],
                   active: list[JSON]) -> bool:
        if indexed:
            return completions is not None and len(completed) >= completions
        if completions is None:
            return succeeded > 0 and not active
        return succeeded >= completions

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
            log.warning("job %s: pod not created: %s", md["name"], exc)
            return None

    def _delete_pod(self, pod: JSON) -> None:
        try:
            delete_object(self.store, PODS, pns_of(pod), pod["metadata"]["name"], "Background")
        except errors.ApiError:
            pass

    def _ttl(self, job: JSON, status: JSON, now: float) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or job["metadata"].get("deletionTimestamp"):
            return
        finished_at = None
        for c in status.get("conditions") or []:
            if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
                finished_at = parse_rfc3339(c["lastTransitionTime"])
        if finished_at is None:
            return
        md = job["metadata"]
        due = finished_at + float(ttl)
        if now >= due:
            try:
                delete_object(self.store, JOBS, md.get("namespace", ""), md["name"], "Background")
            except errors.ApiError:
                pass
            for table in (self.counted, self.seen, self.last_failure, self.completed):
                table.pop(md["uid"], None)
        else:
            self._schedule(due, md.get("namespace", ""), md["name"])


def pns_of(pod: JSON) -> str:
    return str(pod["metadata"].get("namespace", ""))

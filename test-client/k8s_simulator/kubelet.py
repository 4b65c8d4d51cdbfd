"""The kubelet of the one simulated node (`sim-node-1`): binds each new pod, runs its first
container as a local process and reports the pod status as a kubelet does.

Differences from a real node, by necessity:
- The container image is looked up in the image map (`images.json`); an unknown image never
  runs and reports `ErrImagePull` / `ImagePullBackOff`.
- A process cannot see the container's file system. Volumes (`configMap`, `secret`, `emptyDir`)
  become directories in the pod's sandbox under the state directory, and any environment value,
  command or argument that starts with a volume's `mountPath` is rewritten to point there.
- The termination message file is a per-pod file too: the process gets its real path in
  `TERMINATION_MESSAGE_PATH`, and a string equal to `terminationMessagePath` is rewritten to it.
- The process environment holds only PATH, HOME (the sandbox), LANG, PYTHONUNBUFFERED, HOSTNAME,
  KUBERNETES_SERVICE_HOST/PORT, TERMINATION_MESSAGE_PATH and the container's own variables;
  `workingDir` is ignored (the process runs in the sandbox). `python3`/`python` as the program
  name run the simulator's own interpreter.
- Only the first container runs. A memory limit is enforced by polling the process group's
  resident set size (SIGKILL, reason `OOMKilled`, exit code 137). Grace periods are capped at 2 s.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Callable, Iterable

from .controller import Controller, Key
from .images import Image, ImageMap
from .logs import ContainerLog, LogStore
from .podenv import NODE_IP, NODE_NAME, ConfigError, MountError, PodConfig, parse_quantity
from .resources import PODS
from .store import Event, Store
from .util import JSON, deep, get_path, rfc3339

GRACE_CAP_SECONDS = 2.0
TERMINATION_MESSAGE_MAX = 4096
FALLBACK_LINES = 80
FALLBACK_BYTES = 2048

log = logging.getLogger("k8s_simulator.kubelet")


class PodWorker:
    """Runs one pod from binding to termination."""

    def __init__(self, kubelet: "Kubelet", namespace: str, name: str, uid: str) -> None:
        self.kubelet = kubelet
        self.store = kubelet.store
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.kill = threading.Event()  # deletion requested
        self.gone = threading.Event()  # the pod object no longer exists
        self.finished = threading.Event()  # the lifecycle is over (nothing runs any more)
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = kubelet.state_dir / "pods" / f"{namespace}_{name}_{uid[:8]}"
        self.sandbox = self.dir / "sandbox"
        self.config = PodConfig(self.store, namespace, self.dir)
        self.thread = threading.Thread(target=self._run, name=f"pod-{name}", daemon=True)
        self.status: JSON = {}
        self.container_log: ContainerLog | None = None
        self.oom = False

    # --- status helpers --------------------------------------------------------------------------

    def _pod(self) -> JSON | None:
        pod = self.store.peek(PODS, self.namespace, self.name)
        if pod is None or pod["metadata"].get("uid") != self.uid:
            self.gone.set()
            return None
        return pod

    def _write(self, fn: Callable[[JSON], object]) -> JSON | None:
        uid = self.uid

        def guarded(o: JSON) -> None:
            if o["metadata"].get("uid") == uid:
                fn(o)

        return self.store.mutate(PODS, self.namespace, self.name, guarded)

    def _set_status(self) -> None:
        status = deep(self.status)
        self._write(lambda o: o.__setitem__("status", {**status, "qosClass": (o.get("status") or {}).get("qosClass", "BestEffort")}))

    def _conditions(self, ready: bool, reason: str | None, container: str, scheduled_at: str,
                    started: bool = True) -> list[JSON]:
        now = rfc3339()
        old = {c["type"]: c for c in self.status.get("conditions") or []}

        def cond(ctype: str, ok: bool, why: str | None = None, msg: str | None = None) -> JSON:
            prev = old.get(ctype)
            status = "True" if ok else "False"
            c: JSON = {"type": ctype, "status": status, "lastProbeTime": None,
                       "lastTransitionTime": prev["lastTransitionTime"] if prev and prev["status"] == status else now}
            if not ok and why:
                c["reason"] = why
                if msg:
                    c["message"] = msg
            return c

        not_ready_msg = f"containers with unready status: [{container}]"
        why = reason or "ContainersNotReady"
        return [
            cond("PodReadyToStartContainers", started),
            cond("Initialized", True),
            cond("Ready", ready, why, None if reason == "PodCompleted" else not_ready_msg),
            cond("ContainersReady", ready, why, None if reason == "PodCompleted" else not_ready_msg),
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": scheduled_at},
        ]

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self._lifecycle()
        except Exception:
            log.exception("pod %s/%s failed in the kubelet", self.namespace, self.name)
        finally:
            # The kubelet looks at the pod again: one that is being deleted and was not
            # finalised here (the lifecycle failed) is finalised there.
            self.finished.set()
            self.kubelet.queue.add((PODS.key, self.namespace, self.name))

    def _lifecycle(self) -> None:
        scheduled_at = rfc3339()

        def bind(o: JSON) -> None:
            o.setdefault("spec", {})["nodeName"] = NODE_NAME
            st = o.setdefault("status", {})
            st["phase"] = "Pending"
            st["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                 "lastTransitionTime": scheduled_at}]

        if self._write(bind) is None:
            return
        pod = self._pod()
        if pod is None:
            return
        spec = pod.get("spec") or {}
        containers = spec.get("containers") or []
        container = containers[0]
        cname = container.get("name", "")
        image_name = container.get("image", "")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sandbox.mkdir(parents=True, exist_ok=True)
        self.container_log = self.kubelet.logs.open(self.uid, cname, self.dir / "logs" / cname / "0.log")
        start_time = rfc3339()
        base_status: JSON = {
            "phase": "Pending",
            "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
            "podIP": NODE_IP, "podIPs": [{"ip": NODE_IP}],
            "startTime": start_time,
        }
        restart_count = 0
        last_state: JSON = {}

        def cstatus(state: JSON, ready: bool = False, started: bool = False, cid: str | None = None) -> JSON:
            cs: JSON = {"name": cname, "state": state, "lastState": last_state, "ready": ready,
                        "restartCount": restart_count, "image": image_name,
                        "imageID": f"sim://{image_name}" if cid else "", "started": started}
            if cid:
                cs["containerID"] = cid
            return cs

        def waiting(reason: str, message: str | None = None) -> None:
            state: JSON = {"waiting": {"reason": reason}}
            if message:
                state["waiting"]["message"] = message
            self.status = {**base_status, "conditions": self._conditions(False, None, cname, scheduled_at),
                           "containerStatuses": [cstatus(state)]}
            self._set_status()

        waiting("ContainerCreating")
        pull_failures = 0
        while True:  # wait until the container can be created
            if self.kill.is_set() or self._pod() is None:
                self._finish_unstarted(cname, image_name, scheduled_at, base_status)
                return
            pod = self._pod()
            assert pod is not None
            image = self.kubelet.images.lookup(image_name)
            if image is None:
                pull_failures += 1
                waiting("ErrImagePull",
                        f'Failed to pull image "{image_name}": rpc error: code = NotFound desc = failed to pull '
                        f'and unpack image "{image_name}": failed to resolve reference "{image_name}": '
                        f'{image_name}: not found')
                if self.kill.wait(1.0):
                    continue
                waiting("ImagePullBackOff", f'Back-off pulling image "{image_name}"')
                self.kill.wait(min(2.0 * (2 ** (pull_failures - 1)), 20.0))
                continue
            try:
                mounts = self.config.volumes(pod)
                env = self.config.env(pod, container, image)
            except MountError:
                waiting("ContainerCreating")
                self.kill.wait(1.0)
                continue
            except ConfigError as exc:
                waiting("CreateContainerConfigError", str(exc))
                self.kill.wait(1.0)
                continue
            break

        restart_policy = spec.get("restartPolicy", "Always")
        while True:
            pod = self._pod()
            if pod is None or self.kill.is_set():
                self._finish_unstarted(cname, image_name, scheduled_at, base_status)
                return
            exit_code, reason, message, started_at, finished_at, cid = self._run_container(
                pod, container, image, env, mounts, scheduled_at, base_status, cstatus)
            terminated: JSON = {"exitCode": exit_code, "reason": reason}
            if message:
                terminated["message"] = message
            terminated.update(startedAt=started_at, finishedAt=finished_at, containerID=cid)
            restart = (
                not self.kill.is_set() and self._pod() is not None
                and (restart_policy == "Always" or (restart_policy == "OnFailure" and exit_code != 0))
            )
            if restart:
                last_state = {"terminated": terminated}
                restart_count += 1
                delay = min(1.0 * (2 ** (restart_count - 1)), 10.0)
                self.status = {**base_status, "phase": "Running",
                               "conditions": self._conditions(False, None, cname, scheduled_at),
                               "containerStatuses": [cstatus({"waiting": {
                                   "reason": "CrashLoopBackOff",
                                   "message": f"back-off {int(delay)}s restarting failed container={cname} "
                                              f"pod={self.name}_{self.namespace}({self.uid})"}})]}
                self._set_status()
                if self.container_log is not None:
                    self.container_log.reopen()
                if self.kill.wait(delay):
                    continue
                continue
            phase = "Succeeded" if exit_code == 0 else "Failed"
            self.status = {**base_status, "phase": phase,
                           "conditions": self._conditions(False, "PodCompleted", cname, scheduled_at, started=False),
                           "containerStatuses": [cstatus({"terminated": terminated}, cid=cid)]}
            self._set_status()
            self._finalize_deletion()
            return

    def _finish_unstarted(self, cname: str, image: str, scheduled_at: str, base_status: JSON) -> None:
        """Deleted before its container ever ran: terminal phase, then let the deletion finish."""
        if self._pod() is not None:
            self.status = {**base_status, "phase": "Failed",
                           "conditions": self._conditions(False, "PodCompleted", cname, scheduled_at, started=False),
                           "containerStatuses": [{
                               "name": cname, "image": image, "imageID": "", "ready": False,
                               "restartCount": 0, "started": False, "lastState": {},
                               "state": {"terminated": {
                                   "exitCode": 137, "reason": "ContainerStatusUnknown",
                                   "message": "The container could not be located when the pod was deleted.  "
                                              "The container used to be Running",
                                   "startedAt": None, "finishedAt": rfc3339()}}}]}
            self._set_status()
        if self.container_log is not None:
            self.container_log.close()
        self._finalize_deletion()

    def _finalize_deletion(self) -> None:
        """The kubelet's final delete (grace period 0) once the containers are stopped."""
        pod = self._pod()
        if pod is None or not pod["metadata"].get("deletionTimestamp"):
            return
        self._write(lambda o: o["metadata"].__setitem__("deletionGracePeriodSeconds", 0))

    # --- container -------------------------------------------------------------------------------

    def _run_container(self, pod: JSON, container: JSON, image: Image, env: dict[str, str],
                       mounts: dict[str, str], scheduled_at: str, base_status: JSON,
                       cstatus: Callable[..., JSON]) -> tuple[int, str, str, str, str, str]:
        cname = container.get("name", "")
        term_path = container.get("terminationMessagePath") or "/dev/termination-log"
        term_file = mounts[term_path]
        Path(term_file).write_bytes(b"")
        values = {k: self.config.rewrite(v, mounts) for k, v in env.items()}
        proc_env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.sandbox),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "HOSTNAME": self.name,
            "KUBERNETES_SERVICE_HOST": self.kubelet.api_host,
            "KUBERNETES_SERVICE_PORT": str(self.kubelet.api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.kubelet.api_port),
        }
        proc_env.update(values)
        proc_env["TERMINATION_MESSAGE_PATH"] = term_file
        argv = self.config.argv(container, image, env, mounts)
        cid = f"sim://{self.uid[:8]}-{cname}-{int(time.time() * 1000)}"
        started_at = rfc3339()
        assert self.container_log is not None
        clog = self.container_log
        try:
            if not argv:
                raise FileNotFoundError("no command specified")
            self.proc = subprocess.Popen(
                argv, cwd=str(self.sandbox), env=proc_env, stdin=subprocess.DEVNULL,
                # One pipe for both streams keeps their lines in the order they were written.
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as exc:
            what = argv[0] if argv else ""
            message = (f"failed to create containerd task: failed to create shim task: OCI runtime create "
                       f"failed: runc create failed: unable to start container process: exec: \"{what}\": "
                       f"{'executable file not found in $PATH' if isinstance(exc, FileNotFoundError) else exc}: "
                       f"unknown")
            return 128, "StartError", message, started_at, rfc3339(), cid
        readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, "stdout", clog), daemon=True)]
        for t in readers:
            t.start()
        self.status = {**base_status, "phase": "Running",
                       "conditions": self._conditions(True, None, cname, scheduled_at),
                       "containerStatuses": [cstatus({"running": {"startedAt": started_at}}, ready=True,
                                                     started=True, cid=cid)]}
        self._set_status()
        limit = parse_quantity(get_path(container, "resources", "limits", "memory"))
        self.oom = False
        killing_since: float | None = None
        next_rss = 0.0
        while True:
            try:
                rc = self.proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            if self.kill.is_set() or self.gone.is_set():
                if killing_since is None:
                    killing_since = time.monotonic()
                    self._signal(signal.SIGTERM)
                grace = self.kubelet.grace_for(self)
                if time.monotonic() - killing_since >= grace:
                    self._signal(signal.SIGKILL)
            if limit is not None and time.monotonic() >= next_rss:
                next_rss = time.monotonic() + 0.25
                if self._rss() > limit:
                    self.oom = True
                    self._signal(signal.SIGKILL)
        for t in readers:
            t.join(timeout=2.0)
        self._signal(signal.SIGKILL)  # anything the process left behind in its group
        clog.close()
        finished_at = rfc3339()
        exit_code = rc if rc >= 0 else 128 - rc
        if self.oom:
            reason, exit_code = "OOMKilled", 137
        else:
            reason = "Completed" if exit_code == 0 else "Error"
        message = self._termination_message(container, term_file, exit_code, clog)
        return exit_code, reason, message, started_at, finished_at, cid

    @staticmethod
    def _pump(pipe: IO[bytes] | None, stream: str, clog: ContainerLog) -> None:
        if pipe is None:
            return
        with pipe:
            while True:
                line = pipe.readline()
                if not line:
                    return
                full = line.endswith(b"\n")
                clog.append(stream, line[:-1] if full else line, full)

    def _signal(self, sig: int) -> None:
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _rss(self) -> int:
        """Resident set size of the process group, in bytes."""
        proc = self.proc
        if proc is None:
            return 0
        total = 0
        todo, seen = [proc.pid], set()
        page = os.sysconf("SC_PAGE_SIZE")
        while todo:  # the process and its descendants, through /proc/PID/task/TID/children
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    total += int(f.read().rsplit(b")", 1)[1].split()[21]) * page  # field 24: rss pages
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                        todo.extend(int(c) for c in f.read().split())
            except (OSError, IndexError, ValueError):
                continue
        return total

    @staticmethod
    def _termination_message(container: JSON, path: str, exit_code: int, clog: ContainerLog) -> str:
        try:
            with open(path, "rb") as f:
                message = f.read(TERMINATION_MESSAGE_MAX).decode("utf-8", "replace")
        except OSError:
            message = ""
        if not message and exit_code != 0 and container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            message = clog.tail_text(FALLBACK_LINES, FALLBACK_BYTES)
        return message


class Kubelet(Controller):
    """Runs one PodWorker per pod, tells workers about deletions, cleans up after pods."""

    name = "kubelet"

    def __init__(self, store: Store, images: ImageMap, logs: LogStore, state_dir: Path,
                 api_host: str = "127.0.0.1", api_port: int = 8001) -> None:
        super().__init__(store)
        self.images = images
        self.logs = logs
        self.state_dir = state_dir
        self.api_host = api_host
        self.api_port = api_port
        self.lock = threading.Lock()
        # By namespace and name. A worker stays here after its pod terminated, until the pod is
        # gone, so that a terminated pod is never started again.
        self.workers: dict[tuple[str, str], PodWorker] = {}

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if ev.resource == PODS.key:
            md = ev.obj["metadata"]
            yield PODS.key, md.get("namespace", ""), md["name"]

    def all_keys(self) -> Iterable[Key]:
        for pod in self.store.objects_of(PODS.key):
            yield PODS.key, pod["metadata"].get("namespace", ""), pod["metadata"]["name"]

    def sync(self, key: Key) -> float | None:
        _, ns, name = key
        pod = self.store.peek(PODS, ns, name)
        with self.lock:
            worker = self.workers.get((ns, name))
        if worker is not None and (pod is None or pod["metadata"]["uid"] != worker.uid):
            self._retire(worker)  # its pod is gone (perhaps replaced by a new one of that name)
            worker = None
        if pod is None:
            return None
        md = pod["metadata"]
        if worker is None and get_path(pod, "status", "phase") not in ("Succeeded", "Failed"):
            worker = PodWorker(self, ns, name, md["uid"])
            with self.lock:
                self.workers[(ns, name)] = worker
            worker.start()
        if md.get("deletionTimestamp"):
            if worker is not None and not worker.finished.is_set():
                worker.kill.set()
            elif md.get("deletionGracePeriodSeconds"):
                # Nothing runs for it here (any more): the kubelet's final delete, grace 0.
                uid = md["uid"]

                def finalise(o: JSON) -> None:
                    if o["metadata"]["uid"] == uid:
                        o["metadata"]["deletionGracePeriodSeconds"] = 0

                self.store.mutate(PODS, ns, name, finalise)
        return None

    def _retire(self, worker: PodWorker) -> None:
        with self.lock:
            if self.workers.get((worker.namespace, worker.name)) is worker:
                del self.workers[(worker.namespace, worker.name)]
        worker.gone.set()
        worker.kill.set()
        self.logs.remove_pod(worker.uid)
        # A moment's delay lets the worker's last writes and log readers finish first.
        timer = threading.Timer(0.5, shutil.rmtree, args=(worker.dir,), kwargs={"ignore_errors": True})
        timer.daemon = True
        timer.start()

    def grace_for(self, worker: PodWorker) -> float:
        if worker.gone.is_set():
            return 0.0
        pod = self.store.peek(PODS, worker.namespace, worker.name)
        grace = get_path(pod, "metadata", "deletionGracePeriodSeconds", default=None)
        if grace is None:
            grace = get_path(pod, "spec", "terminationGracePeriodSeconds", default=30)
        return min(float(grace or 0), GRACE_CAP_SECONDS)

    def shutdown(self) -> None:
        """Stop syncing and kill every pod process (simulator exit)."""
        self.stop()
        with self.lock:
            workers = list(self.workers.values())
        for w in workers:
            w.gone.set()
            w.kill.set()
            w._signal(signal.SIGKILL)

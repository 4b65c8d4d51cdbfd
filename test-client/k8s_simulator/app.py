"""The simulator's parts wired together: configuration, store, controllers, kubelet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .faults import Faults, Stats
from .gc import GarbageCollector
from .images import ImageMap
from .jobs import JobController
from .kubelet import Kubelet
from .logs import LogStore
from .requestlog import DEFAULT_SIZE as REQUEST_LOG_SIZE
from .requestlog import RequestLog
from .store import Store
from .ttl import TTLAfterFinishedController


@dataclass
class Config:
    """Every setting of the simulator, with the defaults of `python3 -m k8s_simulator`."""

    host: str = "127.0.0.1"
    port: int = 8001
    images: Path | None = None
    state_dir: Path = Path(".k8s-simulator")
    log_rotate_bytes: int = 10 * 1024 * 1024
    log_max_files: int = 5
    cut_follow_on_rotate: bool = True
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    token: str | None = None
    backoff_base_seconds: float = 10.0
    history_size: int = 1000
    bookmark_interval_seconds: float = 5.0
    watch_timeout_min_seconds: float = 300.0
    watch_timeout_max_seconds: float = 600.0
    expired_watch_as_event: bool = False
    request_log_size: int = REQUEST_LOG_SIZE
    verbose: bool = False
    # The process that started the simulator, which must outlive it (None: no such check).
    parent_pid: int | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


class Simulator:
    def __init__(self, config: Config) -> None:
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(config.history_size)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.ensure_namespace(ns)
        self.faults = Faults()
        self.stats = Stats()
        self.requests = RequestLog(config.request_log_size)
        self.images = ImageMap(config.images)
        self.logs = LogStore(config.log_rotate_bytes, config.log_max_files, config.cut_follow_on_rotate)
        self.gc = GarbageCollector(self.store)
        self.ttl = TTLAfterFinishedController(self.store)
        self.jobs = JobController(self.store, config.backoff_base_seconds)
        self.kubelet = Kubelet(self.store, self.images, self.logs, config.state_dir.resolve(),
                               config.host, config.port)

    def start(self) -> None:
        for part in (self.gc, self.ttl, self.jobs, self.kubelet):
            part.start()

    def shutdown(self) -> None:
        for part in (self.jobs, self.ttl, self.gc):
            part.stop()
        self.kubelet.shutdown()

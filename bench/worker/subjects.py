"""The two workers under test. Each runs against a Kubernetes API simulator of its own, so that
API request counts and the simulator's CPU belong to one worker, and consumes a request queue of
its own on the shared RabbitMQ; both archive logs into the shared SeaweedFS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import pika

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test-client" / "tests" / "e2e"))
from e2e_support import RecordingSimulator  # noqa: E402 - found through the path above

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
S3_ENDPOINT = os.environ.get("S3_ENDPOINT", "http://127.0.0.1:8333")
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
S3_KEY = os.environ.get("S3_ACCESS_KEY_ID", "CWTESTACCESSKEY")
S3_SECRET = os.environ.get("S3_SECRET_ACCESS_KEY", "cwTestSecretKey0123456789abcdefghijklmn")
NAMESPACE = "default"
S3_SECRET_NAME = "cloud-worker-s3"
IMAGES = Path(__file__).resolve().parent / "images.json"
PEER = REPO / "bench" / "peer" / "peer_worker.py"


def broker_connection() -> pika.BlockingConnection:
    """A connection to the broker, waiting up to a minute for it (to outlast a restart)."""
    parameters = pika.URLParameters(AMQP_URL)
    parameters.connection_attempts, parameters.retry_delay = 30, 2
    return pika.BlockingConnection(parameters)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Subject(ABC):
    """One worker process, its simulator, its queues, and a broker connection to talk to it."""

    name: str

    def __init__(self, state: Path) -> None:
        self.connection = broker_connection()
        self.channel = self.connection.channel()
        self.replies = self.channel.queue_declare("", exclusive=True).method.queue
        self.queue = f"bench-{self.name}-{uuid.uuid4().hex[:8]}"
        (state / "simulator").mkdir(parents=True)
        self.state = state
        self.sim = RecordingSimulator(state / "simulator", IMAGES)
        self.sim.create_s3_secret(NAMESPACE, S3_SECRET_NAME, S3_KEY, S3_SECRET)
        self.log_path = state / "worker.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> tuple[list[str], dict[str, str]]:
        """The worker's command line and environment."""

    def ready(self) -> bool:
        """Whether the worker is ready for work once it consumes."""
        return True

    def start(self) -> float:
        """Starts the worker; returns milliseconds until it logs that it consumes (both print a
        line with `consuming` once their consumer is registered), then waits until it is ready."""
        argv, env = self.command()
        started = time.monotonic()
        self.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.wait(lambda: b"consuming" in self.log_path.read_bytes(), "it to consume", 60, 0.001)
        consuming = (time.monotonic() - started) * 1000
        self.wait(self.ready, "it to be ready", 30)
        return consuming

    def pause(self, seconds: float) -> None:
        """Sleeps while keeping the broker connection serviced (heartbeats)."""
        self.connection.sleep(seconds)

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float, interval: float = 0.02) -> None:
        """Polls `predicate` until it holds; a simulator too busy to answer in time (as with
        1,000 pods) counts as not yet."""
        deadline = time.monotonic() + timeout
        while not self.holds(predicate):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name}: timed out after {timeout:.0f} s waiting for {what}; log {self.log_path}")
            self.pause(interval)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @staticmethod
    def holds(predicate: Callable[[], bool]) -> bool:
        try:
            return predicate()
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            return False

    def publish(self, body: dict[str, Any]) -> str:
        request_id = uuid.uuid4().hex
        self.channel.basic_publish(
            self.queue, self.queue, json.dumps(body).encode(),
            pika.BasicProperties(message_id=request_id, correlation_id=request_id, reply_to=self.replies,
                                 content_type="application/json", delivery_mode=2),
        )
        return request_id

    def await_replies(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Up to `count` replies: those that arrived within `timeout` (the caller counts the
        missing ones as failures, so that one slow scenario does not cost the whole run)."""
        replies: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(replies) < count and time.monotonic() < deadline:
            method, _, body = self.channel.basic_get(self.replies, auto_ack=True)
            if method is None:
                self.pause(0.02)
            else:
                replies.append(json.loads(body))
        return replies

    def stats(self) -> dict[str, Any]:
        """The simulator's counters (which the admin API itself does not add to), asked again
        while it is too busy to answer in time."""
        for _ in range(5):
            try:
                stats: dict[str, Any] = self.sim.stats()
                return stats
            except (TimeoutError, urllib.error.URLError, ConnectionError):
                continue
        stats = self.sim.stats()
        return stats

    def jobs_created(self) -> int:
        """Job creates the simulator has counted."""
        requests: dict[str, int] = self.stats()["requests"]
        return sum(n for key, n in requests.items() if key.startswith("POST ") and key.endswith("/jobs"))

    def api_requests(self) -> int:
        total: int = self.stats()["total"]
        return total

    def open_log_streams(self) -> int:
        streams: int = self.stats()["openLogStreams"]
        return streams

    def resource_version(self) -> str:
        """The simulator's global resourceVersion: it moves with every change to any object."""
        _, answer = self.sim.call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?limit=1")
        version: str = answer["metadata"]["resourceVersion"]
        return version

    def remove_s3_secret(self) -> None:
        """From now on new pods wait in CreateContainerConfigError, a state that does not change:
        their Jobs stay in flight without a process each and without an event."""
        status, answer = self.sim.call("DELETE", f"/api/v1/namespaces/{NAMESPACE}/secrets/{S3_SECRET_NAME}")
        assert status == 200, f"deleting the Secret: HTTP {status} {answer}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.sim.stop()
        self.log.close()
        # After a broker restart the durable queues are still there, on a connection of their own.
        connection = self.connection if self.connection.is_open else broker_connection()
        channel = connection.channel()
        for queue in (self.queue, f"{self.queue}.dead-letter", f"{self.queue}.replies"):
            channel.queue_delete(queue)
        channel.exchange_delete(self.queue)
        connection.close()


class CloudWorker(Subject):
    name = "cloud-worker"

    def __init__(self, state: Path, binary: str) -> None:
        self.binary = binary
        self.http_port = free_port()
        super().__init__(state)

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
        env.update({
            "CLOUD_WORKER_AMQP_URL": AMQP_URL, "CLOUD_WORKER_KUBE_SERVER": self.sim.base,
            "CLOUD_WORKER_NAMESPACE": NAMESPACE, "CLOUD_WORKER_S3_ENDPOINT": S3_ENDPOINT,
            "CLOUD_WORKER_S3_REGION": S3_REGION,
            "CLOUD_WORKER_S3_ACCESS_KEY_ID": S3_KEY, "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "CLOUD_WORKER_S3_CREDENTIALS_SECRET": S3_SECRET_NAME,
            "CLOUD_WORKER_REQUEST_QUEUE": self.queue, "CLOUD_WORKER_REQUEST_EXCHANGE": self.queue,
            "CLOUD_WORKER_DEAD_LETTER_QUEUE": f"{self.queue}.dead-letter",
            "CLOUD_WORKER_REPLY_QUEUE": f"{self.queue}.replies", "CLOUD_WORKER_HTTP_PORT": str(self.http_port),
            # Pods held back on purpose (the in-flight figures) must not be failed as stuck.
            "CLOUD_WORKER_STUCK_POD_GRACE_SECONDS": "3600", "CLOUD_WORKER_PREFETCH": "64",
        })
        return [self.binary], env

    def ready(self) -> bool:
        """/readyz answers 200 once the broker is connected and the watches have listed."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False


class PeerWorker(Subject):
    name = "peer"

    def command(self) -> tuple[list[str], dict[str, str]]:
        kubeconfig = self.state / "kubeconfig.json"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "sim",
            "clusters": [{"name": "sim", "cluster": {"server": self.sim.base}}],
            "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": NAMESPACE}}],
            "users": [{"name": "sim", "user": {}}],
        }))
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET)
        argv = [sys.executable, str(PEER), "--amqp-url", AMQP_URL, "--queue", self.queue,
                "--reply-queue", f"{self.queue}.replies", "--prefetch", "64", "--namespace", NAMESPACE,
                "--s3-endpoint", S3_ENDPOINT, "--s3-region", S3_REGION, "--s3-credentials-secret", S3_SECRET_NAME]
        return argv, env

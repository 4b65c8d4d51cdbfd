"""Shared fixtures: the local services (RabbitMQ, SeaweedFS, the Kubernetes API simulator) and
the worker process.

Service endpoints come from the environment (``scripts/services.sh env``: AMQP_URL,
S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION, KUBE_SERVER) with the
127.0.0.1 defaults of docs/CONTRACT.md. A test that needs a service which is not reachable
FAILS with a message saying how to start it; nothing is skipped.

Every fixture here is lazy: tests that need no service (the simulator's own tests, say) never
touch the services.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_CLIENT_DIR = REPO_ROOT / "test-client"
SERVICES_SCRIPT = REPO_ROOT / "scripts" / "services.sh"
DEFAULT_WORKER_BIN = REPO_ROOT / ".build" / "debug" / "cloud-worker"
SAMPLE_JOB_IMAGE = "cloud-worker/sample-job:latest"
WORKER_START_TIMEOUT = 30.0
WORKER_STOP_TIMEOUT = 10.0
START_HINT = "start the local services with: scripts/services.sh start"

# Make the client importable when the tests run from a plain checkout (no pip install).
if str(TEST_CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(TEST_CLIENT_DIR))

from cloud_worker_client.config import ClientConfig  # noqa: E402
from cloud_worker_client.rpc import RpcClient  # noqa: E402
from cloud_worker_client.storage import Storage, make_s3_client  # noqa: E402

# ---------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoints:
    amqp_url: str
    s3_endpoint: str
    s3_access_key_id: str
    s3_secret_access_key: str
    s3_region: str
    kube_server: str
    namespace: str = "default"
    s3_credentials_secret: str = "cloud-worker-s3"

    def client_config(self, **overrides: str | None) -> ClientConfig:
        return ClientConfig(
            amqp_url=self.amqp_url,
            s3_endpoint=self.s3_endpoint,
            s3_access_key_id=self.s3_access_key_id,
            s3_secret_access_key=self.s3_secret_access_key,
            s3_region=self.s3_region,
            kube_server=self.kube_server,
            namespace=self.namespace,
        ).with_overrides(**overrides)

    def client_env(self) -> dict[str, str]:
        """The variables ``scripts/services.sh env`` prints."""
        return {
            "AMQP_URL": self.amqp_url,
            "S3_ENDPOINT": self.s3_endpoint,
            "S3_ACCESS_KEY_ID": self.s3_access_key_id,
            "S3_SECRET_ACCESS_KEY": self.s3_secret_access_key,
            "S3_REGION": self.s3_region,
            "KUBE_SERVER": self.kube_server,
        }


def _env(*names: str, default: str) -> str:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


@pytest.fixture(scope="session")
def endpoints() -> Endpoints:
    return Endpoints(
        amqp_url=_env("AMQP_URL", default="amqp://guest:guest@127.0.0.1:5672/%2F"),
        s3_endpoint=_env("S3_ENDPOINT", default="http://127.0.0.1:8333"),
        s3_access_key_id=_env("S3_ACCESS_KEY_ID", default="CWTESTACCESSKEY"),
        s3_secret_access_key=_env(
            "S3_SECRET_ACCESS_KEY", default="cwTestSecretKey0123456789abcdefghijklmn"
        ),
        s3_region=_env("S3_REGION", default="us-east-1"),
        kube_server=_env("KUBE_SERVER", default="http://127.0.0.1:8001"),
    )


# ---------------------------------------------------------------- service checks


@pytest.fixture(scope="session")
def rabbitmq(endpoints: Endpoints) -> str:
    """The AMQP URL, once a connection has succeeded."""
    problem = None
    try:
        params = pika.URLParameters(endpoints.amqp_url)
        params.socket_timeout = 5
        params.connection_attempts = 3
        params.retry_delay = 1
        pika.BlockingConnection(params).close()
    except pika.exceptions.AMQPError as exc:
        problem = repr(exc)
    if problem is not None:
        where = ClientConfig(amqp_url=endpoints.amqp_url).redacted()["amqp_url"]
        pytest.fail(f"RabbitMQ is not reachable at {where}: {problem}; {START_HINT}", pytrace=False)
    return endpoints.amqp_url


@pytest.fixture(scope="session")
def s3_service(endpoints: Endpoints) -> str:
    """The S3 endpoint, once a signed ListBuckets has succeeded."""
    client = make_s3_client(endpoints.client_config(), retries=2, timeout=10)
    problem = None
    try:
        client.list_buckets()
    except Exception as exc:  # botocore raises many unrelated types here
        problem = repr(exc)
    if problem is not None:
        pytest.fail(
            f"S3 (SeaweedFS) is not usable at {endpoints.s3_endpoint}: {problem}; {START_HINT}",
            pytrace=False,
        )
    return endpoints.s3_endpoint


def kube_get(server: str, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    request = urllib.request.Request(server.rstrip("/") + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body or b"null")
        except ValueError:
            return err.code, body.decode(errors="replace")


@pytest.fixture(scope="session")
def kube_service(endpoints: Endpoints) -> str:
    """The Kubernetes API URL, once GET /version and the S3 credentials Secret are there."""
    problem = None
    try:
        status, body = kube_get(endpoints.kube_server, "/version")
    except OSError as exc:
        problem = repr(exc)
    if problem is not None:
        pytest.fail(
            f"the Kubernetes API (simulator) is not reachable at {endpoints.kube_server}: "
            f"{problem}; {START_HINT}",
            pytrace=False,
        )
    if status != 200:
        pytest.fail(f"GET {endpoints.kube_server}/version answered HTTP {status}: {body}",
                    pytrace=False)
    status, body = kube_get(
        endpoints.kube_server,
        f"/api/v1/namespaces/{endpoints.namespace}/secrets/{endpoints.s3_credentials_secret}",
    )
    if status != 200:
        pytest.fail(
            f"the Secret {endpoints.namespace}/{endpoints.s3_credentials_secret} the Jobs need is "
            f"missing (HTTP {status}); scripts/services.sh start creates it",
            pytrace=False,
        )
    return endpoints.kube_server


# ---------------------------------------------------------------- clients


@pytest.fixture(scope="session")
def client_config(endpoints: Endpoints) -> ClientConfig:
    return endpoints.client_config()


@pytest.fixture()
def s3(s3_service: str, client_config: ClientConfig) -> Any:
    """A boto3 S3 client (SigV4, path-style) with the contract's identity."""
    return make_s3_client(client_config)


@pytest.fixture()
def storage(s3: Any, client_config: ClientConfig) -> Storage:
    return Storage(client_config, client=s3)


@pytest.fixture()
def amqp_connection(rabbitmq: str) -> Iterator[pika.BlockingConnection]:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    try:
        yield connection
    finally:
        if connection.is_open:
            try:
                connection.close()
            except pika.exceptions.AMQPError:
                pass


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def bucket_factory(storage: Storage) -> Iterator[Callable[[str], str]]:
    """``make_bucket("in")`` creates a bucket with a unique name; all are deleted afterwards."""
    created: list[str] = []

    def make_bucket(label: str = "bucket") -> str:
        name = unique(f"cw-test-{label}")
        storage.ensure_bucket(name)
        created.append(name)
        return name

    yield make_bucket
    for name in created:
        try:
            storage.delete_bucket(name)
        except Exception as exc:  # cleanup only; keep the real failure visible
            print(f"warning: could not delete bucket {name}: {exc!r}", file=sys.stderr)


# ---------------------------------------------------------------- queues and the worker


@dataclass(frozen=True)
class QueueNames:
    """Queue and exchange names private to one test module, so that tests (and workers) never
    consume each other's messages."""

    exchange: str
    request_queue: str
    routing_key: str
    reply_queue: str
    dead_letter_queue: str

    @classmethod
    def fresh(cls) -> QueueNames:
        base = unique("cw-test")
        return cls(
            exchange=base,
            request_queue=f"{base}.requests",
            routing_key=f"{base}.requests",
            reply_queue=f"{base}.replies",
            dead_letter_queue=f"{base}.dead-letter",
        )

    def worker_env(self) -> dict[str, str]:
        return {
            "CLOUD_WORKER_REQUEST_EXCHANGE": self.exchange,
            "CLOUD_WORKER_REQUEST_QUEUE": self.request_queue,
            "CLOUD_WORKER_REQUEST_ROUTING_KEY": self.routing_key,
            "CLOUD_WORKER_REPLY_QUEUE": self.reply_queue,
            "CLOUD_WORKER_DEAD_LETTER_QUEUE": self.dead_letter_queue,
        }


def delete_queues(amqp_url: str, names: QueueNames) -> None:
    """Best-effort removal of a module's queues and exchange."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    except pika.exceptions.AMQPError:
        return
    try:
        for queue in (names.request_queue, names.reply_queue, names.dead_letter_queue):
            try:
                connection.channel().queue_delete(queue=queue)
            except pika.exceptions.AMQPError:
                pass
        try:
            connection.channel().exchange_delete(exchange=names.exchange)
        except pika.exceptions.AMQPError:
            pass
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture(scope="module")
def queue_names(rabbitmq: str) -> Iterator[QueueNames]:
    names = QueueNames.fresh()
    yield names
    delete_queues(rabbitmq, names)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_binary() -> Path:
    return Path(os.environ.get("CLOUD_WORKER_BIN") or DEFAULT_WORKER_BIN)


@pytest.fixture(scope="session")
def worker_bin() -> Path:
    """The worker binary the tests run ($CLOUD_WORKER_BIN, default .build/debug/cloud-worker)."""
    return worker_binary()


@dataclass
class WorkerProcess:
    """A running ``cloud-worker``: its process, environment, queues and log file."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    names: QueueNames
    log_path: Path
    endpoints: Endpoints
    _log_handle: Any = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float, flags: int = re.IGNORECASE) -> re.Match[str]:
        """Wait until the log matches ``pattern``; fail with the log if it does not."""
        regex = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.log_text())
            if match:
                return match
            if not self.alive():
                pytest.fail(
                    f"the worker exited with code {self.process.returncode} before logging "
                    f"/{pattern}/; its log:\n{self.log_text()}",
                    pytrace=False,
                )
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"the worker did not log /{pattern}/ within {timeout:g}s; its log:\n"
                    f"{self.log_text()}",
                    pytrace=False,
                )
            time.sleep(0.05)

    def client_config(self) -> ClientConfig:
        """A test-client configuration that publishes to this worker's queues."""
        return self.endpoints.client_config(
            request_exchange=self.names.exchange,
            request_queue=self.names.request_queue,
            request_routing_key=self.names.routing_key,
            reply_queue=self.names.reply_queue,
            dead_letter_queue=self.names.dead_letter_queue,
        )

    def rpc(self, reply_queue: str | None = None) -> RpcClient:
        return RpcClient(self.client_config(), reply_queue=reply_queue)

    def stop(self, timeout: float = WORKER_STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Returns the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        return int(self.process.returncode)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture(scope="module")
def worker(
    request: pytest.FixtureRequest,
    endpoints: Endpoints,
    queue_names: QueueNames,
    rabbitmq: str,
    s3_service: str,
    kube_service: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StartWorker]:
    """Factory: ``worker(**env)`` starts ``$CLOUD_WORKER_BIN`` (default .build/debug/cloud-worker)
    configured for the local services and this module's queues, waits for its ``consuming``
    line and returns a :class:`WorkerProcess`. ``names=QueueNames.fresh()`` gives it queues of
    its own. Workers are stopped (SIGTERM, SIGKILL after 10 s) when the module ends."""
    binary = worker_binary()
    started: list[WorkerProcess] = []
    extra_names: list[QueueNames] = []
    log_dir = tmp_path_factory.mktemp("worker-logs")

    def start(
        names: QueueNames | None = None,
        args: list[str] | None = None,
        wait_pattern: str | None = "consuming",
        **env_overrides: str,
    ) -> WorkerProcess:
        if not binary.is_file() or not os.access(binary, os.X_OK):
            pytest.fail(
                f"the worker binary {binary} does not exist (build it with `swift build`, or "
                "set CLOUD_WORKER_BIN)",
                pytrace=False,
            )
        if names is None:
            names = queue_names
        elif names != queue_names:
            extra_names.append(names)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
        env.update(
            {
                "CLOUD_WORKER_AMQP_URL": endpoints.amqp_url,
                "CLOUD_WORKER_KUBE_SERVER": endpoints.kube_server,
                "CLOUD_WORKER_NAMESPACE": endpoints.namespace,
                "CLOUD_WORKER_S3_ENDPOINT": endpoints.s3_endpoint,
                "CLOUD_WORKER_JOB_S3_ENDPOINT": endpoints.s3_endpoint,
                "CLOUD_WORKER_S3_REGION": endpoints.s3_region,
                "CLOUD_WORKER_S3_ACCESS_KEY_ID": endpoints.s3_access_key_id,
                "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": endpoints.s3_secret_access_key,
                "CLOUD_WORKER_S3_CREDENTIALS_SECRET": endpoints.s3_credentials_secret,
                "CLOUD_WORKER_LOG_FORMAT": "text",
                # Each worker its own HTTP port, so that two can run at once.
                "CLOUD_WORKER_HTTP_PORT": str(free_port()),
            }
        )
        env.update(names.worker_env())
        env.update(env_overrides)
        log_path = log_dir / f"worker-{len(started) + 1}.log"
        handle = open(log_path, "wb")
        process = subprocess.Popen(
            [str(binary), *(args or [])],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(REPO_ROOT),
        )
        worker_process = WorkerProcess(
            process=process,
            env=env,
            names=names,
            log_path=log_path,
            endpoints=endpoints,
            _log_handle=handle,
        )
        started.append(worker_process)
        if wait_pattern:
            worker_process.wait_for_log(wait_pattern, WORKER_START_TIMEOUT)
        return worker_process

    yield start

    for worker_process in reversed(started):
        code = worker_process.stop()
        if code not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
            print(
                f"\nworker pid {worker_process.pid} exited with {code}; log "
                f"{worker_process.log_path}:\n{worker_process.log_text()[-4000:]}",
                file=sys.stderr,
            )
    for names in extra_names:
        delete_queues(rabbitmq, names)


# ---------------------------------------------------------------- broker control


@dataclass(frozen=True)
class BrokerControl:
    """Stop and start the local RabbitMQ through scripts/services.sh (for restart tests)."""

    script: Path = SERVICES_SCRIPT

    def _run(self, command: str) -> None:
        result = subprocess.run(
            ["bash", str(self.script), command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"scripts/services.sh {command} failed:\n{result.stdout}", pytrace=False)

    def stop(self) -> None:
        self._run("rabbitmq-stop")

    def start(self) -> None:
        self._run("rabbitmq-start")


@pytest.fixture()
def broker_control(rabbitmq: str) -> Iterator[BrokerControl]:
    """Stop/start the broker; it is started again after the test whatever happens."""
    control = BrokerControl()
    yield control
    control.start()

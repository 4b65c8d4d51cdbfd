"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika
from cloud_worker_client.rpc import ReplyTimeout, RpcClient

REPO_ROOT = Path(__file__).resolve().parents[3]
TEST_CLIENT_DIR = REPO_ROOT / "test-client"

# A few small input files with known counts: a plain one, a multi-line one, one in a
# sub-folder and one with non-ASCII text.
SAMPLE_INPUTS: dict[str, str] = {
    "alpha.txt": "one two three\n",
    "notes/beta.txt": "first line\nsecond line here\n\nfourth line, after an empty one\n",
    "gamma.md": "# Gamma\n\nUnicode: café, naïve, Ωmega ✓\n",
}

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
REPLY_TIMEOUT = 180.0


def expected_counts(text: str) -> dict[str, int]:
    data = text.encode("utf-8")
    return {"lines": len(text.splitlines()), "words": len(text.split()), "bytes": len(data)}


def total_bytes(inputs: dict[str, str]) -> int:
    return sum(len(text.encode("utf-8")) for text in inputs.values())


def write_inputs(folder: Path, inputs: dict[str, str] = SAMPLE_INPUTS) -> Path:
    for key, text in inputs.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def upload_inputs(s3: Any, bucket: str, inputs: dict[str, str] = SAMPLE_INPUTS) -> None:
    for key, text in inputs.items():
        s3.put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="text/plain; charset=utf-8"
        )


def read_json_object(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    value = json.loads(body)
    assert isinstance(value, dict), f"{key} is not a JSON object: {body!r}"
    return value


def describe(reply: dict[str, Any]) -> str:
    """The reply, pretty-printed, for assertion messages."""
    return json.dumps(reply, indent=2, sort_keys=True)


def dead_letter(amqp_url: str, queue: str, correlation_id: str, timeout: float = 15) -> tuple[Any, bytes]:
    """The dead-lettered message with this correlation id (others are put back)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, properties, body = channel.basic_get(queue=queue, auto_ack=False)
            if method is None:
                time.sleep(0.1)
                continue
            if properties.correlation_id == correlation_id:
                channel.basic_ack(method.delivery_tag)
                return properties, body
            channel.basic_nack(method.delivery_tag, requeue=True)
        raise AssertionError(f"no dead-lettered message with correlation id {correlation_id}")
    finally:
        connection.close()


# ---------------------------------------------------------------- a simulator of one's own


class RecordingSimulator:
    """A Kubernetes API simulator started from this checkout for one test module, on a free
    port. Its request log (`GET /_sim/requests`) and counters then hold only what that
    module's worker and the test itself did, and it has the admin API of this checkout's
    simulator whatever version the shared one (scripts/services.sh) was started from."""

    def __init__(self, state_dir: Path, images: Path | None = None, extra_args: list[str] | None = None) -> None:
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env["PYTHONPATH"] = str(TEST_CLIENT_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        self.log_path = state_dir / "simulator.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "k8s_simulator", "--host", "127.0.0.1", "--port", str(port),
             "--images", str(images or TEST_CLIENT_DIR / "images.json"), "--state-dir", str(state_dir),
             "--backoff-base-seconds", "0.2", "--verbose", "--parent-pid", str(os.getpid()), *(extra_args or [])],
            cwd=str(TEST_CLIENT_DIR), env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != f"k8s-simulator listening on {self.base}":
            self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}; log {self.log_path}")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request: (HTTP status, JSON body). Used for the admin API and for set-up; the
        test's own API requests show in the request log with the user agent ``e2e-test``."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json", "User-Agent": "e2e-test"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def admin(self, path: str, body: Any = None) -> Any:
        status, answer = self.call("POST" if body is not None else "GET", path, body)
        assert status == 200, f"{path}: HTTP {status} {answer}"
        return answer

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The request log (see k8s_simulator/README.md), filtered."""
        query = urllib.parse.urlencode({key: str(value) for key, value in filters.items()})
        entries: list[dict[str, Any]] = self.admin("/_sim/requests" + (f"?{query}" if query else ""))["requests"]
        return entries

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.admin("/_sim/stats")
        return stats

    def create_s3_secret(self, namespace: str, name: str, key_id: str, secret: str) -> None:
        """The Secret the worker's Jobs take their S3 credentials from (scripts/services.sh
        creates it in the shared simulator)."""
        status, answer = self.call(
            "POST", f"/api/v1/namespaces/{namespace}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
             "stringData": {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}},
        )
        assert status in (201, 409), f"creating the Secret {name}: HTTP {status} {answer}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def simulator_with_secrets(
    state_dir: Path, endpoints: Any, secrets: Iterable[str], extra_args: list[str] | None = None
) -> Iterator[RecordingSimulator]:
    """A simulator of one's own, holding S3 credentials Secrets with the contract's keys under
    each of these names; stopped on leaving."""
    sim = RecordingSimulator(state_dir, extra_args=extra_args)
    try:
        for secret in secrets:
            sim.create_s3_secret(endpoints.namespace, secret, endpoints.s3_access_key_id, endpoints.s3_secret_access_key)
        yield sim
    finally:
        sim.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- an outage of a real service


class OutageProxy:
    """A TCP proxy on a free loopback port in front of a real service (SeaweedFS, say), that
    can be taken down and brought back: while down it refuses connections and cuts those open,
    as the service itself would look from outside while stopped. Lets a test stop "S3" for one
    worker without stopping the shared service under everything else."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.up()

    @classmethod
    def in_front_of(cls, url: str, default_port: int) -> OutageProxy:
        """A proxy in front of the service at `url` (`amqp://…`, `http://…`)."""
        parts = urllib.parse.urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def proxied(self, url: str) -> str:
        """`url` (its credentials, path and query kept) with the proxy's address for the service's."""
        parts = urllib.parse.urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        return parts._replace(netloc=(credentials + "@" if credentials else "") + f"127.0.0.1:{self.port}").geturl()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Refuse new connections and cut every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # Closing alone leaves a thread blocked in accept() accepting one more connection;
            # shutting the listener down wakes it.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)  # the timeout was for connecting: idle connections (AMQP) stay
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def jobs_of_request(server: str, namespace: str, request_id: str) -> list[dict[str, Any]]:
    """The Jobs made for a request (their `cloud-worker.io/request-id`), in one list call to the
    API server at `server` (as user agent `e2e-test`, which request counts leave out)."""
    request = urllib.request.Request(f"{server.rstrip('/')}/apis/batch/v1/namespaces/{namespace}/jobs",
                                     headers={"Accept": "application/json", "User-Agent": "e2e-test"})
    with urllib.request.urlopen(request, timeout=10) as response:
        items = json.load(response)["items"]
    return [job for job in items if (job["metadata"].get("annotations") or {}).get("cloud-worker.io/request-id") == request_id]


def no_reply_within(rpc: RpcClient, correlation_id: str, seconds: float = 3.0) -> bool:
    """Whether no reply to `correlation_id` (or none further, once one was taken) arrives within
    `seconds`. After a first reply a few seconds do: a second reporter would have had the same
    facts at about the same time."""
    try:
        rpc.wait_for_reply(correlation_id, seconds)
    except ReplyTimeout:
        return True
    return False


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Polls `predicate` every 0.1 s until it gives something true, and returns that; fails the
    test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value

"""`cloud-worker-client submit` against the local services: the broker and the request queue
are checked before anything is uploaded, a queue no worker consumes stops it (unless
--no-wait), and with a worker each phase shows on stderr, with transfer progress on a
terminal only."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pika
import pytest

TEST_CLIENT_DIR = Path(__file__).resolve().parents[2]
SAMPLE_INPUT = TEST_CLIENT_DIR / "sample-job" / "example-input"
SAMPLE_IMAGE = "cloud-worker/sample-job:latest"


def client_env(endpoints: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
    env.update(endpoints.client_env())
    env["PYTHONPATH"] = str(TEST_CLIENT_DIR)
    return env


def submit(endpoints: Any, *args: str, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cloud_worker_client", "submit", *args], stdout=subprocess.PIPE,
                          stderr=stderr, text=True, env=client_env(endpoints), timeout=300)


def unique(label: str) -> str:
    return f"cw-test-{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture()
def idle_queue(amqp_connection: pika.BlockingConnection) -> Any:
    """A durable queue no worker consumes; deleted afterwards."""
    queue = unique("idle")
    channel = amqp_connection.channel()
    channel.queue_declare(queue, durable=True)
    yield queue
    channel.queue_delete(queue)


def sample_args(bucket: str, *extra: str) -> list[str]:
    return ["--image", SAMPLE_IMAGE, "--job-name", "client-test", "--input-dir", str(SAMPLE_INPUT),
            "--input-bucket", bucket, *extra]


def test_missing_queue_stops_before_uploading(endpoints: Any, rabbitmq: str, storage: Any) -> None:
    bucket = unique("never")
    queue = unique("absent")
    completed = submit(endpoints, *sample_args(bucket, "--exchange", "", "--request-queue", queue))
    assert completed.returncode == 1
    assert f"error: the request queue {queue!r} does not exist" in completed.stderr
    assert "uploading" not in completed.stderr
    assert not storage.bucket_exists(bucket)


def test_queue_without_worker_stops_before_uploading(endpoints: Any, idle_queue: str, storage: Any) -> None:
    bucket = unique("never")
    completed = submit(endpoints, *sample_args(bucket, "--exchange", "", "--request-queue", idle_queue))
    assert completed.returncode == 1
    assert f"warning: no worker consumes the request queue {idle_queue!r}" in completed.stderr
    assert "--no-wait queues the request anyway" in completed.stderr
    assert not storage.bucket_exists(bucket)


def test_no_wait_queues_the_request_for_a_worker_to_come(endpoints: Any, idle_queue: str, bucket_factory: Any,
                                                         amqp_connection: pika.BlockingConnection) -> None:
    bucket = bucket_factory("nowait")
    completed = submit(endpoints, *sample_args(bucket, "--exchange", "", "--request-queue", idle_queue, "--no-wait"))
    assert completed.returncode == 0, completed.stderr
    request_id = completed.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), completed.stdout
    assert "warning: no worker consumes" in completed.stderr
    assert f"cloud-worker-client status {request_id}" in completed.stderr
    method, properties, _ = amqp_connection.channel().basic_get(idle_queue, auto_ack=True)
    assert method is not None and properties.correlation_id == request_id
    assert properties.reply_to is None  # the reply goes to the worker's shared reply queue


def test_phases_with_a_worker(endpoints: Any, worker: Any, bucket_factory: Any, tmp_path: Path) -> None:
    """Stderr, not a terminal: the phases as lines, no line rewritten in place."""
    running = worker()
    bucket = bucket_factory("phases")
    names = running.names
    completed = submit(endpoints, *sample_args(
        bucket, "--exchange", names.exchange, "--routing-key", names.routing_key,
        "--status-url", f"http://127.0.0.1:{running.env['CLOUD_WORKER_HTTP_PORT']}",
        "--download-dir", str(tmp_path / "out"), "--json",
        # Long enough for the status API to be asked while the Job runs.
        "--env", "SAMPLE_JOB_SLEEP_SECONDS=4",
    ))
    assert completed.returncode == 0, completed.stderr
    phases = [
        f"1 worker(s) consume {names.request_queue!r}",
        f"uploading {SAMPLE_INPUT} to s3://{bucket}/",
        "uploaded 3 file(s)",
        "submitted request ",
        "running: Kubernetes Job client-test-",
        "finished: status=succeeded",
        "downloading ",
    ]
    positions = [completed.stderr.find(phase) for phase in phases]
    assert -1 not in positions and positions == sorted(positions), completed.stderr
    assert "\r" not in completed.stderr


def test_transfer_progress_on_a_terminal(endpoints: Any, worker: Any, bucket_factory: Any, tmp_path: Path) -> None:
    """Stderr a terminal: files and bytes of the upload and the download on a line rewritten in
    place, the time waited too."""
    running = worker()
    bucket = bucket_factory("tty")
    primary, secondary = pty.openpty()
    with os.fdopen(primary, "rb", buffering=0) as terminal:
        process = subprocess.Popen(
            [sys.executable, "-m", "cloud_worker_client", "submit", *sample_args(
                bucket, "--exchange", running.names.exchange, "--routing-key", running.names.routing_key,
                "--download-dir", str(tmp_path / "out"), "--env", "SAMPLE_JOB_SLEEP_SECONDS=3")],
            stdout=subprocess.PIPE, stderr=secondary, env=client_env(endpoints), text=True,
        )
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = terminal.read(4096)
            except OSError:  # the client closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=300) == 0, shown.decode(errors="replace")
        assert process.stdout is not None and '"status": "succeeded"' in process.stdout.read()
    text = shown.decode(errors="replace")
    assert re.search(r"\ruploading 3/3 files, [\d.]+ (B|KiB) of [\d.]+ (B|KiB)", text), text
    assert re.search(r"\rdownloading \d+/\d+ files", text), text
    assert re.search(r"\r(submitted|running)[^\r]*… \d+s", text), text

"""`cloud-worker-client status` and `logs`: a request looked up in the worker's status API
(a stand-in serving what StatusRoutes serves, and a real worker), its archived logs read from
the local S3 store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cloud_worker_client.messages import build_job_request

TEST_CLIENT_DIR = Path(__file__).resolve().parents[2]
JOBS = [
    {"requestId": "req-running", "jobName": "wordcount", "k8sJob": "wordcount-1a2b3c4d", "state": "running",
     "updatedAt": "2026-12-07T10:00:02Z"},
    {"requestId": "req-done", "jobName": "wordcount", "k8sJob": "wordcount-5e6f7a8b", "state": "failed",
     "reason": "BackoffLimitExceeded", "updatedAt": "2026-12-07T09:00:00Z"},
]


def client(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(TEST_CLIENT_DIR)
    return subprocess.run([sys.executable, "-m", "cloud_worker_client", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


@pytest.fixture()
def status_server() -> Iterator[str]:
    """A stand-in status server answering GET /api/jobs with JOBS."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            found = self.path == "/api/jobs"
            body = json.dumps({"jobs": JOBS}).encode() if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


# MARK: - status


@pytest.mark.parametrize("name", ["req-done", "wordcount-5e6f7a8b"])
def test_status_by_request_id_or_kubernetes_job(status_server: str, name: str) -> None:
    completed = client("status", name, "--status-url", status_server)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "req-done  failed (BackoffLimitExceeded)  job wordcount  Kubernetes Job wordcount-5e6f7a8b  "
        "updated 2026-12-07T09:00:00Z"
    ]


def test_status_by_job_name_lists_every_request(status_server: str) -> None:
    completed = client("status", "wordcount", "--json", env={"CLOUD_WORKER_STATUS_URL": status_server})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == JOBS


def test_status_of_an_unknown_request(status_server: str) -> None:
    completed = client("status", "nope", "--status-url", status_server)
    assert completed.returncode == 1
    assert completed.stderr.startswith(f"nope: not known to the worker at {status_server}")


def test_status_without_a_status_server() -> None:
    completed = client("status", "req", "--status-url", "http://127.0.0.1:9")
    assert completed.returncode == 1
    assert len(completed.stderr.splitlines()) == 1 and "status API is not reachable" in completed.stderr


def test_status_of_a_real_workers_request(worker: Any, bucket_factory: Any) -> None:
    """What the worker's /api/jobs says about a request it has replied to."""
    running = worker()
    bucket = bucket_factory("status")
    request = build_job_request(image="cloud-worker/sample-job:latest", job_name="status-test", input_bucket=bucket)
    # An id of its own: a finished Job stays for the worker's retention, and a request of the
    # same id meanwhile (a second run) would be taken for this one.
    request_id = f"status-test-{uuid.uuid4().hex[:8]}"
    with running.rpc() as rpc:
        reply = rpc.call(request, timeout=120, correlation_id=request_id).json
    completed = client("status", request_id, "--json",
                       "--status-url", f"http://127.0.0.1:{running.env['CLOUD_WORKER_HTTP_PORT']}")
    assert completed.returncode == 0, completed.stderr
    [entry] = json.loads(completed.stdout)
    assert entry["k8sJob"] == reply["k8sJob"] and entry["state"] == reply["status"] == "succeeded"


# MARK: - logs


@pytest.fixture()
def logs_bucket(bucket_factory: Any, storage: Any) -> str:
    bucket: str = bucket_factory("logs")
    storage.put_text(bucket, "logs/wordcount-5e6f7a8b/wordcount-5e6f7a8b-aaaaa.log", "first pod\n")
    storage.put_text(bucket, "logs/wordcount-5e6f7a8b/wordcount-5e6f7a8b-bbbbb.log", "second pod\n")
    storage.put_text(bucket, "logs/wordcount-1a2b3c4d/other.log", "another job\n")
    return bucket


def test_logs_of_a_request_found_in_the_status_api(status_server: str, logs_bucket: str, endpoints: Any) -> None:
    completed = client("logs", "req-done", "--bucket", logs_bucket, "--status-url", status_server,
                       env=endpoints.client_env())
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "first pod\nsecond pod\n"
    assert completed.stderr.splitlines() == [
        f"==> s3://{logs_bucket}/logs/wordcount-5e6f7a8b/wordcount-5e6f7a8b-aaaaa.log <==",
        f"==> s3://{logs_bucket}/logs/wordcount-5e6f7a8b/wordcount-5e6f7a8b-bbbbb.log <==",
    ]


def test_logs_by_kubernetes_job_without_a_status_server(logs_bucket: str, endpoints: Any, tmp_path: Path) -> None:
    completed = client("logs", "wordcount-5e6f7a8b", "--bucket", logs_bucket, "--status-url", "http://127.0.0.1:9",
                       "--dir", str(tmp_path), env=endpoints.client_env())
    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wordcount-5e6f7a8b-aaaaa.log", "wordcount-5e6f7a8b-bbbbb.log"]
    assert (tmp_path / "wordcount-5e6f7a8b-bbbbb.log").read_text() == "second pod\n"


def test_logs_of_an_unknown_request(status_server: str, logs_bucket: str, endpoints: Any) -> None:
    completed = client("logs", "nope", "--bucket", logs_bucket, "--status-url", status_server,
                       env=endpoints.client_env())
    assert completed.returncode == 1
    assert completed.stderr.strip() == (f"nope: no Kubernetes Job known to the status API, and no logs under "
                                        f"s3://{logs_bucket}/logs/nope/")

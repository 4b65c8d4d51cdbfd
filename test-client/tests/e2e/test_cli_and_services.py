"""The client's command line and the local-services script (no worker needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pika
import pytest
from e2e_support import REPO_ROOT, SAMPLE_INPUTS, TEST_CLIENT_DIR, write_inputs

pytestmark = pytest.mark.e2e

SERVICES = REPO_ROOT / "scripts" / "services.sh"


def client(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = str(TEST_CLIENT_DIR) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "cloud_worker_client", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, timeout=120,
    )


@pytest.mark.parametrize(
    "command", [[], ["submit"], ["publish"], ["cancel"], ["upload"], ["download"], ["get"]]
)
def test_help_everywhere(command: list[str]) -> None:
    completed = client(*command, "--help")
    assert completed.returncode == 0, completed.stderr
    assert "usage: cloud-worker-client" in completed.stdout


def test_submit_requires_its_arguments() -> None:
    completed = client("submit", "--image", "x")
    assert completed.returncode == 2
    assert "--job-name" in completed.stderr


def test_upload_download_get(endpoints: Any, s3_service: str, bucket_factory: Any, tmp_path: Path) -> None:
    env = {**os.environ, **endpoints.client_env()}
    bucket = bucket_factory("cli-files")
    source = write_inputs(tmp_path / "src")
    up = client("upload", "--bucket", bucket, "--dir", str(source), env=env)
    assert up.returncode == 0, up.stderr
    assert sorted(up.stdout.split()) == sorted(f"s3://{bucket}/{k}" for k in SAMPLE_INPUTS)

    down = client("download", "--bucket", bucket, "--dir", str(tmp_path / "dst"), env=env)
    assert down.returncode == 0, down.stderr
    for key, text in SAMPLE_INPUTS.items():
        assert (tmp_path / "dst" / key).read_text(encoding="utf-8") == text

    got = client("get", bucket, "notes/beta.txt", env=env)
    assert got.returncode == 0 and got.stdout == SAMPLE_INPUTS["notes/beta.txt"]
    missing = client("get", bucket, "no/such/key", env=env)
    assert missing.returncode == 1 and "NoSuchKey" in missing.stderr


def test_publish_to_missing_exchange_fails_clearly(endpoints: Any, rabbitmq: str) -> None:
    env = {**os.environ, **endpoints.client_env()}
    completed = client("publish", "--body", "not json", "--exchange", "cw-test-absent", env=env)
    assert completed.returncode == 1
    assert "does not exist" in completed.stderr


def test_services_env_prints_the_contract_variables() -> None:
    completed = subprocess.run(["bash", str(SERVICES), "env"], stdout=subprocess.PIPE, text=True, check=True)
    names = {line.split("=", 1)[0].removeprefix("export ") for line in completed.stdout.splitlines()}
    assert names == {
        "AMQP_URL", "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_REGION", "KUBE_SERVER"
    }


def test_broker_restart(broker_control: Any, rabbitmq: str) -> None:
    """scripts/services.sh can stop and start the broker under the tests; durable queues and
    persistent messages survive."""
    queue = "cw-test-restart-probe"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.basic_publish("", queue, b"survives", pika.BasicProperties(delivery_mode=2))
    connection.close()

    broker_control.stop()
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(pika.URLParameters(rabbitmq + "?connection_attempts=1&socket_timeout=2"))
    broker_control.start()

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq))
    channel = connection.channel()
    method, _, body = channel.basic_get(queue, auto_ack=True)
    channel.queue_delete(queue)
    connection.close()
    assert method is not None and body == b"survives"

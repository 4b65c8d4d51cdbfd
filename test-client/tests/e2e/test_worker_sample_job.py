"""The whole system: request on RabbitMQ -> worker -> Job in the simulator -> the sample job
reading and writing SeaweedFS -> log archived -> reply (SPEC §3-§7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pika
import pytest
from e2e_support import (
    DNS_1123_LABEL,
    REPLY_TIMEOUT,
    REPO_ROOT,
    SAMPLE_INPUTS,
    TEST_CLIENT_DIR,
    describe,
    expected_counts,
    read_json_object,
    total_bytes,
    upload_inputs,
    write_inputs,
)

from cloud_worker_client.config import SAMPLE_JOB_IMAGE
from cloud_worker_client.messages import build_job_request
from cloud_worker_client.rpc import Reply

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running_worker(worker: Any) -> Any:
    return worker()


def submit(
    running_worker: Any, request: dict[str, Any], timeout: float = REPLY_TIMEOUT
) -> tuple[str, Reply, dict[str, Any]]:
    with running_worker.rpc() as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, timeout)
    body = reply.json
    return published.correlation_id, reply, body


def assert_log_archived(s3: Any, bucket: str, reply: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The reply's first log entry names an object that exists, is text/plain UTF-8 and
    has the size the reply states. Returns the entry and the log's text."""
    logs = reply.get("logs")
    assert isinstance(logs, list) and logs, f"no logs in the reply:\n{describe(reply)}"
    entry = logs[0]
    k8s_job = reply["k8sJob"]
    assert entry["key"] == f"logs/{k8s_job}/{entry['pod']}.log", describe(reply)
    assert entry["pod"].startswith(k8s_job), describe(reply)
    assert entry["complete"] is True, describe(reply)
    head = s3.head_object(Bucket=bucket, Key=entry["key"])
    assert head["ContentType"] == "text/plain; charset=utf-8"
    assert head["ContentLength"] == entry["bytes"], describe(reply)
    text = s3.get_object(Bucket=bucket, Key=entry["key"])["Body"].read().decode("utf-8")
    return entry, text


def test_sample_job_succeeds(
    running_worker: Any, s3: Any, bucket_factory: Any, endpoints: Any
) -> None:
    input_bucket = bucket_factory("in")
    output_bucket = bucket_factory("out")
    upload_inputs(s3, input_bucket)
    request = build_job_request(
        image=SAMPLE_JOB_IMAGE,
        job_name="e2e-sample",
        input_bucket=input_bucket,
        output_bucket=output_bucket,
        timeout_minutes=5,
    )

    request_id, reply, body = submit(running_worker, request)

    # The reply message itself (SPEC §7).
    assert reply.correlation_id == request_id
    assert reply.content_type == "application/json"
    assert reply.delivery_mode == 2
    # Its body.
    assert body["status"] == "succeeded", describe(body)
    assert body["exitCode"] == 0, describe(body)
    assert body["requestId"] == request_id, describe(body)
    assert body["jobName"] == "e2e-sample", describe(body)
    assert body["namespace"] == endpoints.namespace, describe(body)
    assert body["outputBucket"] == output_bucket, describe(body)
    k8s_job = body["k8sJob"]
    assert isinstance(k8s_job, str) and len(k8s_job) <= 63 and DNS_1123_LABEL.match(k8s_job), k8s_job
    assert k8s_job.startswith("e2e-sample"), k8s_job
    assert body["result"] == f"Job {k8s_job} complete.", describe(body)
    expected_message = f"processed {len(SAMPLE_INPUTS)} files, {total_bytes(SAMPLE_INPUTS)} bytes"
    assert (body.get("terminationMessage") or "").strip() == expected_message, describe(body)

    # The pod's log, archived into the output bucket.
    _, log_text = assert_log_archived(s3, output_bucket, body)
    for key, text in SAMPLE_INPUTS.items():
        counts = expected_counts(text)
        assert (
            f"file {key}: {counts['lines']} lines, {counts['words']} words, {counts['bytes']} bytes"
            in log_text
        ), log_text
    assert f"summary: {expected_message}" in log_text, log_text

    # What the job wrote.
    for key, text in SAMPLE_INPUTS.items():
        result = read_json_object(s3, output_bucket, f"results/{key}.wordcount.json")
        assert result == {"bucket": input_bucket, "key": key, **expected_counts(text)}


def test_sample_job_exit_code_fails_the_job(
    running_worker: Any, s3: Any, bucket_factory: Any
) -> None:
    bucket = bucket_factory("io")
    upload_inputs(s3, bucket)
    request = build_job_request(
        image=SAMPLE_JOB_IMAGE,
        job_name="e2e-exit-three",
        input_bucket=bucket,
        timeout_minutes=5,
        env={"SAMPLE_JOB_EXIT_CODE": "3", "SAMPLE_JOB_LOG_LINES": "5"},
    )

    _, _, body = submit(running_worker, request)

    assert body["status"] == "failed", describe(body)
    assert body["exitCode"] == 3, describe(body)
    assert body["reason"] == "BackoffLimitExceeded", describe(body)
    k8s_job = body["k8sJob"]
    assert body["result"].startswith(f"Job {k8s_job} "), describe(body)
    assert body["result"] != f"Job {k8s_job} complete.", describe(body)
    assert body["outputBucket"] == bucket, describe(body)
    expected_message = f"processed {len(SAMPLE_INPUTS)} files, {total_bytes(SAMPLE_INPUTS)} bytes"
    assert (body.get("terminationMessage") or "").strip() == expected_message, describe(body)

    # The log of a failed pod is archived all the same.
    _, log_text = assert_log_archived(s3, bucket, body)
    assert "extra log line 5 of 5" in log_text, log_text
    assert "exiting with code 3" in log_text, log_text


def test_cli_submit_end_to_end(
    running_worker: Any,
    s3: Any,
    bucket_factory: Any,
    endpoints: Any,
    tmp_path: Path,
) -> None:
    input_dir = write_inputs(tmp_path / "input")
    download_dir = tmp_path / "download"
    input_bucket = bucket_factory("cli-in")
    output_bucket = bucket_factory("cli-out")
    names = running_worker.names
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
    env.update(endpoints.client_env())
    env["PYTHONPATH"] = str(TEST_CLIENT_DIR) + os.pathsep + env.get("PYTHONPATH", "")

    completed = subprocess.run(
        [
            sys.executable, "-m", "cloud_worker_client", "submit",
            "--image", SAMPLE_JOB_IMAGE,
            "--job-name", "e2e-cli",
            "--input-dir", str(input_dir),
            "--input-bucket", input_bucket,
            "--output-bucket", output_bucket,
            "--timeout-minutes", "5",
            "--download-dir", str(download_dir),
            "--wait-seconds", str(int(REPLY_TIMEOUT)),
            "--exchange", names.exchange,
            "--routing-key", names.routing_key,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(REPO_ROOT),
        timeout=REPLY_TIMEOUT + 60,
    )
    output = f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    assert completed.returncode == 0, output
    body = json.loads(completed.stdout.strip().splitlines()[-1])
    assert body["status"] == "succeeded", output
    k8s_job = body["k8sJob"]

    # Inputs were uploaded by the client.
    for key in SAMPLE_INPUTS:
        s3.head_object(Bucket=input_bucket, Key=key)
    # The log and the results were downloaded, keeping their keys.
    log_entry = body["logs"][0]
    log_file = download_dir / log_entry["key"]
    assert log_entry["key"] == f"logs/{k8s_job}/{log_entry['pod']}.log"
    assert log_file.is_file(), output
    assert "summary: processed" in log_file.read_text(encoding="utf-8")
    for key, text in SAMPLE_INPUTS.items():
        result_file = download_dir / "results" / f"{key}.wordcount.json"
        assert result_file.is_file(), output
        result = json.loads(result_file.read_text(encoding="utf-8"))
        assert result == {"bucket": input_bucket, "key": key, **expected_counts(text)}


def test_reply_goes_to_reply_to_queue_with_correlation_id(
    running_worker: Any, s3: Any, bucket_factory: Any, amqp_connection: pika.BlockingConnection
) -> None:
    """A producer that sets only reply_to and correlation_id (as MSTC producers do) gets
    its reply on its own queue with its correlation id."""
    bucket = bucket_factory("mstc")
    upload_inputs(s3, bucket, {"only.txt": "just one file\n"})
    channel = amqp_connection.channel()
    reply_queue = channel.queue_declare(queue="", exclusive=True).method.queue
    correlation_id = "mstc-style-" + os.urandom(4).hex()
    names = running_worker.names
    channel.confirm_delivery()
    channel.basic_publish(
        exchange=names.exchange,
        routing_key=names.routing_key,
        body=json.dumps(
            {"image": SAMPLE_JOB_IMAGE, "jobName": "e2e-mstc", "inputBucket": bucket, "timeOut": 0}
        ).encode(),
        properties=pika.BasicProperties(reply_to=reply_queue, correlation_id=correlation_id),
        mandatory=True,
    )
    body = None
    for method, props, raw in channel.consume(reply_queue, inactivity_timeout=REPLY_TIMEOUT):
        assert method is not None, "no reply within the timeout"
        channel.basic_ack(method.delivery_tag)
        assert props.correlation_id == correlation_id
        body = json.loads(raw)
        break
    channel.cancel()
    assert body is not None
    assert body["status"] == "succeeded", describe(body)
    assert body["result"] == f"Job {body['k8sJob']} complete.", describe(body)
    assert body["result"].split()[1] == body["k8sJob"]

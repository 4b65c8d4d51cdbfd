"""A worker whose S3 secret is wrong: SeaweedFS refuses its signed requests. The reply keeps
the job's own status (SPEC §7) and shows the archive problem in its log entry, naming the S3
error, and in ``logsComplete``; the refusal is not retried (it cannot pass), the worker logs it
and keeps running (SPEC §3: a failing dependency is never fatal and never silent)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from e2e_support import REPLY_TIMEOUT, describe, upload_inputs

from cloud_worker_client.config import SAMPLE_JOB_IMAGE
from cloud_worker_client.messages import build_job_request

pytestmark = pytest.mark.e2e

WRONG_SECRET = "wrongSecretKey0000000000000000000000000"


def test_wrong_s3_secret_marks_the_log_incomplete_and_worker_survives(
    worker: Any, s3: Any, bucket_factory: Any
) -> None:
    # The Jobs still get the right credentials from the cluster's Secret, so the job runs;
    # only the worker's own S3 requests (archiving the log) are refused.
    bad_worker = worker(CLOUD_WORKER_S3_SECRET_ACCESS_KEY=WRONG_SECRET)
    bucket = bucket_factory("badsecret")
    upload_inputs(s3, bucket, {"input.txt": "some words to count\n"})
    request = build_job_request(
        image=SAMPLE_JOB_IMAGE, job_name="e2e-bad-secret", input_bucket=bucket, timeout_minutes=5
    )

    with bad_worker.rpc() as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT)
    body = reply.json

    assert body["status"] == "succeeded", describe(body)
    assert body["logsComplete"] is False, describe(body)
    [entry] = body["logs"]
    assert entry["complete"] is False, describe(body)
    assert "SignatureDoesNotMatch" in (entry.get("error") or ""), describe(body)
    assert body["requestId"] == published.correlation_id, describe(body)
    assert body.get("k8sJob"), describe(body)
    assert (body.get("result") or "").startswith(f"Job {body['k8sJob']} "), describe(body)
    # The secret itself never appears in a reply (SPEC §8).
    assert WRONG_SECRET not in reply.raw.decode("utf-8", errors="replace")

    bad_worker.wait_for_log("SignatureDoesNotMatch", timeout=10)
    # Still running a moment later: the failure was handled, not fatal.
    time.sleep(1.0)
    assert bad_worker.alive(), f"the worker exited:\n{bad_worker.log_text()}"
    assert WRONG_SECRET not in bad_worker.log_text(), "the worker logged its S3 secret"

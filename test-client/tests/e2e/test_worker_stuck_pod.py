"""A pod that cannot pull its image fails its job once the configured grace has passed (SPEC §5
step 3): the reply names the waiting reason, and the Job, which never finished, is deleted at once
to stop its pod (a finished Job stays for the finished-job retention instead)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from e2e_support import REPLY_TIMEOUT, describe

from cloud_worker_client.messages import build_job_request

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 2


def job_exists(endpoints: Any, name: str) -> bool:
    url = f"{endpoints.kube_server.rstrip('/')}/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{name}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(json.load(response))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise


def test_unknown_image_fails_the_job_after_the_grace(worker: Any, bucket_factory: Any, endpoints: Any) -> None:
    stuck_worker = worker(CLOUD_WORKER_STUCK_POD_GRACE_SECONDS=str(GRACE_SECONDS))
    bucket = bucket_factory("stuck")
    request = build_job_request(
        image="registry.example.com/no-such-image:1", job_name="e2e-stuck-image",
        input_bucket=bucket, output_bucket=bucket, timeout_minutes=5,
    )

    with stuck_worker.rpc() as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json

    assert reply["status"] == "failed", describe(reply)
    assert reply["reason"] in ("ErrImagePull", "ImagePullBackOff"), describe(reply)
    assert f"could not start its container for {GRACE_SECONDS} s" in reply["message"], describe(reply)
    assert reply["result"] == f"Job {reply['k8sJob']} failed: {reply['reason']}.", describe(reply)
    deadline = time.monotonic() + 30
    while job_exists(endpoints, reply["k8sJob"]):
        assert time.monotonic() < deadline, f"Job {reply['k8sJob']} was not deleted"
        time.sleep(0.2)

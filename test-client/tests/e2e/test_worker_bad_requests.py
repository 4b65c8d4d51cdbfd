"""Bad input is never fatal and never silent (SPEC §3): a `rejected` reply naming the field,
the message moved to the dead-letter queue with its body, properties and the reason in its
headers, and no Job created."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from e2e_support import REPLY_TIMEOUT, dead_letter, describe

pytestmark = pytest.mark.e2e

BAD_REQUESTS = [
    (b"this is not json", "body"),
    ({"jobName": "no-image", "inputBucket": "some-bucket"}, "image"),
    ({"image": "busybox:latest", "jobName": "bad-timeout", "inputBucket": "some-bucket", "timeOut": "ten"}, "timeOut"),
    ({"image": "busybox:latest", "jobName": "bad-bucket", "inputBucket": "Not_A_Bucket"}, "inputBucket"),
    ({"image": "busybox:latest", "jobName": "bad-env", "inputBucket": "some-bucket", "env": {"A": 1}}, "env.A"),
]


@pytest.fixture(scope="module")
def running_worker(worker: Any) -> Any:
    return worker()


@pytest.mark.parametrize(("body", "field"), BAD_REQUESTS, ids=[field for _, field in BAD_REQUESTS])
def test_bad_request_is_rejected_dead_lettered_and_creates_no_job(
    running_worker: Any, endpoints: Any, body: Any, field: str
) -> None:
    with running_worker.rpc() as rpc:
        published = rpc.publish(body, headers={"x-producer": "e2e"})
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json
    assert reply["status"] == "rejected", describe(reply)
    assert reply["reason"] == "InvalidRequest", describe(reply)
    assert reply["message"].startswith(f"{field}: "), describe(reply)
    assert reply["result"].startswith("Job ") and "rejected" in reply["result"], describe(reply)
    assert reply["requestId"] == published.correlation_id

    properties, dead_body = dead_letter(endpoints.amqp_url, running_worker.names.dead_letter_queue, published.correlation_id)
    sent = body if isinstance(body, bytes) else None
    if sent is not None:
        assert dead_body == sent
    assert properties.message_id == published.correlation_id
    assert properties.reply_to == rpc.reply_queue
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert properties.timestamp is not None
    headers = properties.headers or {}
    assert headers.get("x-producer") == "e2e"
    assert headers.get("x-rejected-field") == field
    assert headers.get("x-rejected-reason")
    assert headers.get("x-original-queue") == running_worker.names.request_queue

    url = f"{endpoints.kube_server.rstrip('/')}/apis/batch/v1/namespaces/{endpoints.namespace}/jobs"
    with urllib.request.urlopen(url, timeout=10) as response:
        jobs = json.load(response)
    ids = [job["metadata"].get("annotations", {}).get("cloud-worker.io/request-id") for job in jobs["items"]]
    assert published.correlation_id not in ids, "a Job was created for an invalid request"
    assert running_worker.alive()

"""Cancel requests (SPEC §3): `{"cancel": "<request id or job name>"}` or AMQP type `cancel`
stops the unfinished Job (it is not deleted: its pods are stopped through an active deadline);
the original request gets one `cancelled` reply, the cancel request one reply naming what it
cancelled, also with two replicas on the queue, and the Job, reported, stays for the
finished-job retention (short here) like any finished Job, then is deleted. A cancel that
names no unfinished job is rejected and dead-lettered like any bad request."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from e2e_support import REPLY_TIMEOUT, describe, jobs_of_request, no_reply_within

pytestmark = pytest.mark.e2e

BUSYBOX = "busybox:latest"
RETENTION_SECONDS = 2


@pytest.fixture(scope="module")
def running_worker(worker: Any) -> Any:
    return worker(CLOUD_WORKER_FINISHED_JOB_RETENTION_SECONDS=str(RETENTION_SECONDS))


def wait_for_job(endpoints: Any, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while not (jobs := jobs_of_request(endpoints.kube_server, endpoints.namespace, request_id)):
        assert time.monotonic() < deadline, f"no Job for request {request_id}"
        time.sleep(0.1)
    return jobs[0]


def assert_stopped_not_deleted(endpoints: Any, request_id: str, cancel_id: str) -> None:
    """Right after the cancel's reply: the Job is there, marked with who cancelled it and given
    an active deadline that stops its pods, and nobody deleted it."""
    (job,) = jobs_of_request(endpoints.kube_server, endpoints.namespace, request_id)
    assert job["metadata"]["annotations"].get("cloud-worker.io/cancelled-by") == cancel_id, job["metadata"]
    assert "activeDeadlineSeconds" in job["spec"], job["spec"]
    assert "deletionTimestamp" not in job["metadata"], job["metadata"]


def long_request(bucket: str, job_name: str) -> dict[str, Any]:
    return {"image": BUSYBOX, "jobName": job_name, "inputBucket": bucket, "timeOut": 5,
            "command": ["sh", "-c", "echo waiting; sleep 120"]}


@pytest.mark.parametrize("how", ["request id", "job name", "cancel type"])
def test_cancel_stops_the_job_and_both_requests_get_one_reply_each(
    running_worker: Any, bucket_factory: Any, endpoints: Any, how: str
) -> None:
    bucket = bucket_factory("cancel")
    job_name = f"e2e-cancel-{how.replace(' ', '-')}"
    with running_worker.rpc() as rpc:
        original = rpc.publish(long_request(bucket, job_name))
        job = wait_for_job(endpoints, original.correlation_id)
        if how == "request id":
            cancel = rpc.publish({"cancel": original.correlation_id})
        elif how == "job name":
            cancel = rpc.publish({"cancel": job_name})
        else:
            cancel = rpc.publish({"requestId": original.correlation_id}, message_type="cancel")
        cancel_reply = rpc.wait_for_reply(cancel.correlation_id, REPLY_TIMEOUT).json
        assert_stopped_not_deleted(endpoints, original.correlation_id, cancel.correlation_id)
        original_reply = rpc.wait_for_reply(original.correlation_id, REPLY_TIMEOUT).json
        assert no_reply_within(rpc, original.correlation_id) and no_reply_within(rpc, cancel.correlation_id), "a second reply"

    k8s_job = job["metadata"]["name"]
    assert cancel_reply["status"] == "succeeded", describe(cancel_reply)
    assert cancel_reply["reason"] == "Cancelled", describe(cancel_reply)
    assert cancel_reply["k8sJob"] == k8s_job, describe(cancel_reply)
    assert cancel_reply["result"] == f"Cancelled {k8s_job}.", describe(cancel_reply)
    assert original_reply["status"] == "cancelled", describe(original_reply)
    assert original_reply["reason"] == "Cancelled", describe(original_reply)
    assert original_reply["message"] == f"cancelled by request {cancel.correlation_id}", describe(original_reply)
    assert original_reply["k8sJob"] == k8s_job, describe(original_reply)
    # Released with the retention as its TTL, then deleted by the TTL controller.
    deadline = time.monotonic() + 30
    while (jobs := jobs_of_request(endpoints.kube_server, endpoints.namespace, original.correlation_id)) and \
            "cloud-worker.io/reported" not in jobs[0]["metadata"].get("annotations", {}):
        assert time.monotonic() < deadline, f"Job {k8s_job} was not released"
        time.sleep(0.1)
    if jobs:
        assert jobs[0]["spec"]["ttlSecondsAfterFinished"] == RETENTION_SECONDS, jobs[0]["spec"]
        assert not jobs[0]["metadata"].get("finalizers"), jobs[0]["metadata"]
    while jobs_of_request(endpoints.kube_server, endpoints.namespace, original.correlation_id):
        assert time.monotonic() < deadline, f"Job {k8s_job} was not deleted"
        time.sleep(0.2)


def test_cancel_naming_no_job_is_rejected_and_dead_lettered(running_worker: Any, amqp_connection: Any) -> None:
    with running_worker.rpc() as rpc:
        cancel = rpc.publish({"cancel": "no-such-request"})
        reply = rpc.wait_for_reply(cancel.correlation_id, REPLY_TIMEOUT).json
    assert reply["status"] == "rejected", describe(reply)
    assert reply["message"] == "cancel: no unfinished job has the request id or name 'no-such-request'", describe(reply)
    channel = amqp_connection.channel()
    dead_letter_queue = running_worker.names.dead_letter_queue
    deadline = time.monotonic() + 10
    while True:
        method, properties, body = channel.basic_get(dead_letter_queue, auto_ack=True)
        if method is not None and properties.correlation_id == cancel.correlation_id:
            break
        assert time.monotonic() < deadline, "the cancel request is not in the dead-letter queue"
        if method is None:
            time.sleep(0.1)
    assert json.loads(body) == {"cancel": "no-such-request"}
    assert properties.headers["x-rejected-field"] == "cancel"


def test_with_two_replicas_a_cancel_gives_one_reply_each(
    running_worker: Any, worker: Any, bucket_factory: Any, endpoints: Any
) -> None:
    # A second replica on the same queues (the module's worker is the first): either may take
    # the cancel, and both see the cancelled Job end.
    worker(CLOUD_WORKER_FINISHED_JOB_RETENTION_SECONDS=str(RETENTION_SECONDS), CLOUD_WORKER_ID="cancel-second-replica")
    bucket = bucket_factory("cancel-replicas")
    with running_worker.rpc() as rpc:
        original = rpc.publish(long_request(bucket, "e2e-cancel-replicas"))
        wait_for_job(endpoints, original.correlation_id)
        cancel = rpc.publish({"cancel": original.correlation_id})
        cancel_reply = rpc.wait_for_reply(cancel.correlation_id, REPLY_TIMEOUT).json
        assert_stopped_not_deleted(endpoints, original.correlation_id, cancel.correlation_id)
        original_reply = rpc.wait_for_reply(original.correlation_id, REPLY_TIMEOUT).json
        assert no_reply_within(rpc, original.correlation_id) and no_reply_within(rpc, cancel.correlation_id), "a second reply"
    assert cancel_reply["reason"] == "Cancelled", describe(cancel_reply)
    assert original_reply["status"] == "cancelled", describe(original_reply)
    assert original_reply["message"] == f"cancelled by request {cancel.correlation_id}", describe(original_reply)
    assert [log["complete"] for log in original_reply["logs"]] == [True], describe(original_reply)


def test_a_cancel_sent_again_is_answered_as_the_first_time(running_worker: Any, bucket_factory: Any, endpoints: Any) -> None:
    """The same cancel message again (as the broker redelivers it when a worker dies between the
    reply and the ack) finds its Job stopped, not unfinished: it gets the same answer, not a
    rejection, and the cancelled request no second reply."""
    bucket = bucket_factory("cancel-again")
    cancel_id = f"e2e-cancel-again-{time.time_ns()}"
    with running_worker.rpc() as rpc:
        original = rpc.publish(long_request(bucket, "e2e-cancel-again"))
        wait_for_job(endpoints, original.correlation_id)
        rpc.publish({"cancel": original.correlation_id}, correlation_id=cancel_id)
        first = rpc.wait_for_reply(cancel_id, REPLY_TIMEOUT).json
        assert rpc.wait_for_reply(original.correlation_id, REPLY_TIMEOUT).json["status"] == "cancelled"
        rpc.publish({"cancel": original.correlation_id}, correlation_id=cancel_id)
        again = rpc.wait_for_reply(cancel_id, REPLY_TIMEOUT).json
        assert no_reply_within(rpc, original.correlation_id), "a second reply to the cancelled request"
    assert first["reason"] == "Cancelled", describe(first)
    fields = ("status", "reason", "k8sJob", "result", "requestId")
    assert {k: again.get(k) for k in fields} == {k: first.get(k) for k in fields}, describe(again)


def test_a_cancel_by_job_name_reaches_only_the_same_producers_jobs(
    running_worker: Any, bucket_factory: Any, endpoints: Any
) -> None:
    """Job names are the producers' own: another producer (here: another reply queue) naming the
    same jobName cancels nothing and is rejected; the request's own producer can cancel it."""
    bucket = bucket_factory("cancel-scope")
    with running_worker.rpc() as owner, running_worker.rpc() as other:
        original = owner.publish(long_request(bucket, "e2e-cancel-scope"))
        wait_for_job(endpoints, original.correlation_id)
        foreign = other.publish({"cancel": "e2e-cancel-scope"})
        foreign_reply = other.wait_for_reply(foreign.correlation_id, REPLY_TIMEOUT).json
        assert foreign_reply["status"] == "rejected", describe(foreign_reply)
        assert foreign_reply["message"].startswith("cancel: no unfinished job"), describe(foreign_reply)
        (job,) = jobs_of_request(endpoints.kube_server, endpoints.namespace, original.correlation_id)
        assert "cloud-worker.io/cancelled-by" not in job["metadata"].get("annotations", {}), job["metadata"]
        own = owner.publish({"cancel": "e2e-cancel-scope"})
        assert owner.wait_for_reply(own.correlation_id, REPLY_TIMEOUT).json["reason"] == "Cancelled"
        original_reply = owner.wait_for_reply(original.correlation_id, REPLY_TIMEOUT).json
    assert original_reply["status"] == "cancelled", describe(original_reply)
    assert original_reply["message"] == f"cancelled by request {own.correlation_id}", describe(original_reply)

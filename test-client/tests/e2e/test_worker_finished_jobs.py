"""Finished Jobs on every replica: once a Job is reported it stays, with its pods, for the
finished-job retention (its `ttlSecondsAfterFinished`, set by the one release patch), so that
every replica's jobs API lists it with the same state and reply as the replica that replied;
then the TTL controller deletes it and it leaves every replica's list. Two workers (two
replicas: their own worker ids and status ports) share each queue, against a simulator of
this module's own."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cloud_worker_client.rpc import ReplyTimeout
from e2e_support import REPLY_TIMEOUT, RecordingSimulator, describe, simulator_with_secrets, wait_until

pytestmark = pytest.mark.e2e

# Long enough for both replicas to be looked at while the Job stays.
LONG_RETENTION_SECONDS = 120
SHORT_RETENTION_SECONDS = 2
# What a listed finished Job shows of its reply, and must show alike on every replica.
SHARED_FIELDS = ("requestId", "jobName", "k8sJob", "state", "reason", "exitCode", "startedAt", "completedAt",
                 "durationMs", "outputBucket", "reported", "reply")


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    with simulator_with_secrets(tmp_path_factory.mktemp("finished-jobs-sim"), endpoints,
                                [endpoints.s3_credentials_secret], extra_args=["--request-log", "5000"]) as sim:
        yield sim


def replicas(worker: Any, simulator: RecordingSimulator, retention: int, names: Any = None) -> list[Any]:
    """Two workers on the same queues, as two replicas of one deployment, each told the
    retention by its flag."""
    suffix = uuid.uuid4().hex[:6]
    return [worker(names=names, args=["--finished-job-retention-seconds", str(retention)],
                   CLOUD_WORKER_KUBE_SERVER=simulator.base, CLOUD_WORKER_ID=f"replica-{index}-{suffix}")
            for index in (1, 2)]


def get_json(process: Any, path: str) -> Any:
    url = f"http://127.0.0.1:{process.env['CLOUD_WORKER_HTTP_PORT']}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def listed(process: Any, job: str) -> dict[str, Any] | None:
    """The worker's /api/jobs entry of Kubernetes Job `job`, if it lists it."""
    entries = [entry for entry in get_json(process, "/api/jobs")["jobs"] if entry["k8sJob"] == job]
    assert len(entries) <= 1, entries
    return entries[0] if entries else None


def shell_job(job_name: str, bucket: str, script: str) -> dict[str, Any]:
    return {"image": "busybox:latest", "jobName": job_name, "timeOut": 5, "inputBucket": bucket,
            "command": ["sh", "-c", script]}


def release_patches(simulator: RecordingSimulator, job: str) -> list[dict[str, Any]]:
    """The patches that marked the Job reported (the release)."""
    return [e for e in simulator.requests(verb="patch", resource="jobs", name=job)
            if "cloud-worker.io/reported" in json.dumps(e.get("body"))]


def test_every_replica_lists_a_finished_job_with_the_reply_sent(
    simulator: RecordingSimulator, worker: Any, bucket_factory: Any, endpoints: Any
) -> None:
    workers = replicas(worker, simulator, LONG_RETENTION_SECONDS)
    bucket = bucket_factory("finished")
    job_name = f"e2e-finished-{uuid.uuid4().hex[:6]}"
    with workers[0].rpc() as rpc:
        cid = rpc.publish(shell_job(job_name, bucket, "echo finished; exit 3")).correlation_id
        reply = rpc.wait_for_reply(cid, REPLY_TIMEOUT).json
    assert reply["status"] == "failed" and reply["exitCode"] == 3, describe(reply)
    job = reply["k8sJob"]

    # Both replicas list it, finished and reported, from the cache they share.
    entries = [wait_until(lambda p=process: (e := listed(p, job)) and e["reported"] and e, f"{job} reported on a replica")
               for process in workers]
    first, second = entries
    assert {f: first.get(f) for f in SHARED_FIELDS} == {f: second.get(f) for f in SHARED_FIELDS}, (first, second)
    assert first["state"] == reply["status"] == "failed", first
    assert first["reason"] == reply["reason"] and first["exitCode"] == 3, first
    assert first["durationMs"] == reply["durationMs"] and first["completedAt"] == reply["completedAt"], first
    # The listing's reply is the reply sent, less its logs (the Job's own entry has them).
    assert first["reply"] == {k: v for k, v in reply.items() if k not in ("logs", "logsComplete")}, (first, reply)
    assert [pod["exitCode"] for pod in first["pods"]] == [3], first

    # Each replica's detail rebuilds the whole reply, logs included, as it was sent.
    for process in workers:
        everything, newest = get_json(process, "/api/jobs"), get_json(process, "/api/jobs?limit=1")
        assert newest["total"] == everything["total"] == len(everything["jobs"]) >= 1 and len(newest["jobs"]) == 1
        detail = get_json(process, f"/api/jobs/{job}")
        assert detail["reply"] == reply, (detail["reply"], reply)
        assert detail["job"]["state"] == "failed"
        html = urllib.request.urlopen(f"http://127.0.0.1:{process.env['CLOUD_WORKER_HTTP_PORT']}/?name={job_name}",
                                      timeout=10).read().decode()
        assert job in html and "Ended, as this replica replied" not in html and "Rejected by this replica" in html

    # Released by its holder with one patch that set the retention as its TTL.
    holder = first["claimedBy"]
    assert holder in {process.env["CLOUD_WORKER_ID"] for process in workers}, first
    [release] = release_patches(simulator, job)
    assert release["body"]["spec"] == {"ttlSecondsAfterFinished": LONG_RETENTION_SECONDS}, release
    assert release["body"]["metadata"]["finalizers"] is None, release
    _, stored = simulator.call("GET", f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{job}")
    assert stored["spec"]["ttlSecondsAfterFinished"] == LONG_RETENTION_SECONDS, stored["spec"]
    assert stored["metadata"]["annotations"]["cloud-worker.io/claimed-by"] == holder
    [replier] = [process for process in workers if process.env["CLOUD_WORKER_ID"] == holder]
    assert job in replier.log_text() and "job released" in replier.log_text()


def test_a_finished_job_leaves_every_replica_after_the_retention(
    simulator: RecordingSimulator, worker: Any, bucket_factory: Any, endpoints: Any, queue_names: Any
) -> None:
    # Queues (and so a pool of Jobs) of their own: the first pair neither takes its request nor
    # lists its Job.
    workers = replicas(worker, simulator, SHORT_RETENTION_SECONDS, names=type(queue_names).fresh())
    bucket = bucket_factory("retention")
    with workers[0].rpc() as rpc:
        cid = rpc.publish(shell_job(f"e2e-retention-{uuid.uuid4().hex[:6]}", bucket, "echo short")).correlation_id
        reply = rpc.wait_for_reply(cid, REPLY_TIMEOUT).json
    assert reply["status"] == "succeeded", describe(reply)
    job = reply["k8sJob"]

    [release] = wait_until(lambda: release_patches(simulator, job), f"{job} to be released")
    assert release["body"]["spec"] == {"ttlSecondsAfterFinished": SHORT_RETENTION_SECONDS}, release
    # The TTL controller deletes it the retention after its end; every replica's list follows.
    path = f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{job}"
    wait_until(lambda: simulator.call("GET", path)[0] == 404, f"{job} to be deleted", timeout=30)
    for process in workers:
        wait_until(lambda p=process: listed(p, job) is None and get_json(p, f"/api/jobs/{job}") is None,
                   f"{job} to leave a replica's list", timeout=30)


def creates(simulator: RecordingSimulator, job: str) -> int:
    """How many times a Job named `job` was created."""
    return sum(1 for e in simulator.requests(verb="create", resource="jobs")
               if e["body"]["metadata"]["name"] == job and e.get("code") == 201)


def job_uid(simulator: RecordingSimulator, endpoints: Any, job: str) -> str | None:
    status, stored = simulator.call("GET", f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{job}")
    return stored["metadata"]["uid"] if status == 200 else None


def answered(rpc: Any, simulator: RecordingSimulator, endpoints: Any, body: dict[str, Any],
             request_id: str) -> tuple[dict[str, Any], str, str | None]:
    """Publishes the request as `request_id` and waits for its reply and its release: (the reply,
    its Job, the Job's uid)."""
    reply = rpc.wait_for_reply(rpc.publish(body, message_id=request_id).correlation_id, REPLY_TIMEOUT).json
    assert reply["status"] == "succeeded", describe(reply)
    job = reply["k8sJob"]
    wait_until(lambda: release_patches(simulator, job), f"{job} to be released")
    return reply, job, job_uid(simulator, endpoints, job)


def asking_worker(worker: Any, simulator: RecordingSimulator, queue_names: Any) -> Any:
    """A worker with queues of its own: the replicas of the tests above still take the module's."""
    return worker(names=type(queue_names).fresh(), args=["--finished-job-retention-seconds", str(LONG_RETENTION_SECONDS)],
                  CLOUD_WORKER_KUBE_SERVER=simulator.base)


def test_a_request_asked_again_after_its_reply_runs_again(
    simulator: RecordingSimulator, worker: Any, bucket_factory: Any, endpoints: Any, queue_names: Any
) -> None:
    """The same request id published again once answered is a new ask: its retained Job is
    replaced and the request gets a second run and a second reply (as when Jobs went at once)."""
    process = asking_worker(worker, simulator, queue_names)
    request_id = f"again-{uuid.uuid4().hex[:8]}"
    body = shell_job(f"e2e-again-{uuid.uuid4().hex[:6]}", bucket_factory("again"), "echo run")
    with process.rpc() as rpc:
        first, job, first_uid = answered(rpc, simulator, endpoints, body, request_id)
        second, _, second_uid = answered(rpc, simulator, endpoints, body, request_id)
    assert first["requestId"] == second["requestId"] == request_id and second["k8sJob"] == job
    assert first_uid and second_uid and second_uid != first_uid
    assert creates(simulator, job) == 2
    assert "replacing its finished job" in process.log_text()


def test_the_same_message_come_back_after_its_reply_is_not_run_again(
    simulator: RecordingSimulator, worker: Any, bucket_factory: Any, endpoints: Any, queue_names: Any
) -> None:
    """A message that comes back (it carries the count of its earlier delivery) after its Job
    was reported was answered already: adopted, acked, neither a second run nor a second reply."""
    process = asking_worker(worker, simulator, queue_names)
    request_id = f"back-{uuid.uuid4().hex[:8]}"
    body = shell_job(f"e2e-back-{uuid.uuid4().hex[:6]}", bucket_factory("back"), "echo once")
    with process.rpc() as rpc:
        _, job, uid = answered(rpc, simulator, endpoints, body, request_id)
        again = rpc.publish(body, message_id=request_id, headers={"x-cloud-worker-deliveries": "2"}).correlation_id
        wait_until(lambda: process.log_text().count("job exists already; adopting it") == 1, "the message to be adopted",
                   timeout=15)
        with pytest.raises(ReplyTimeout):
            rpc.wait_for_reply(again, 3)
    assert job_uid(simulator, endpoints, job) == uid
    assert creates(simulator, job) == 1

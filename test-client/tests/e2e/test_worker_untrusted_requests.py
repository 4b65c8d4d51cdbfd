"""Producers are untrusted (issue 11, SPEC §3): every field validated, every resource capped,
tenants kept apart. A bad request gets one `rejected` reply naming the field, a dead-letter
copy with the reason, and no Job; the edge cases next to each rule still run. Also: a body far
over the size limit costs the worker no memory, a message that keeps coming back ends in the
dead-letter queue, the API server's permanent refusals and a foreign Job of the same name are
rejections, and the jobs API requires its bearer token.

The worker here talks to a simulator of this module's own, so that its Jobs, faults and request
log are this module's alone."""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from e2e_support import (
    REPLY_TIMEOUT,
    RecordingSimulator,
    dead_letter,
    describe,
    jobs_of_request,
    no_reply_within,
    simulator_with_secrets,
)

pytestmark = pytest.mark.e2e

BUSYBOX = "busybox:latest"
STATUS_TOKEN = "e2e-status-token-0123456789"
TENANT_SECRET = "cw-test-tenant-b-s3"
# Buckets the strict worker allows: bucket_factory names them cw-test-<label>-<hex>.
ALLOWED_BUCKETS = "cw-test-*"
TENANT_PATTERN = "cw-test-tenantb-*"
REJECTED_BUCKET = "cw-test-never-made"
MAX_DELIVERIES = 2


def base(**fields: Any) -> dict[str, Any]:
    """A valid request (up to its bucket existing), with `fields` replacing or adding fields;
    a field given as None is left out."""
    request: dict[str, Any] = {"image": BUSYBOX, "jobName": "e2e-untrusted", "inputBucket": REJECTED_BUCKET,
                               "command": ["sh", "-c", "echo ok"]}
    request.update(fields)
    return {key: value for key, value in request.items() if value is not None}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# (id, body, the field the rejection must name)
BAD_REQUESTS: list[tuple[str, bytes | dict[str, Any], str]] = [
    ("not-json", b"{not json", "body"),
    ("array-body", b"[1, 2]", "body"),
    # The object, the tasks array and 31 arrays: 33, one past the limit of 32.
    ("nested-one-past-the-limit", json.dumps(base(tasks=[nested(31)])).encode(), "body"),
    ("over-size-limit", json.dumps(base(args=["x" * (1536 * 1024)])).encode(), "body"),
    ("image-missing", base(image=None), "image"),
    ("image-with-spaces", base(image="bad image name"), "image"),
    ("image-10000-chars", base(image="a" * 10_000), "image"),
    ("image-lookalike-registry", base(image="registry.example.com.evil.io/x:1"), "image"),
    ("image-other-registry", base(image="evil.io/busybox:latest"), "image"),
    ("image-other-hub-user", base(image="someone/busybox:latest"), "image"),
    ("image-empty-tag", base(image="busybox:"), "image"),
    ("image-short-digest", base(image="busybox@sha256:abc"), "image"),
    ("image-upper-case-path", base(image="registry.example.com/Team/App"), "image"),
    ("jobname-missing", base(jobName=None), "jobName"),
    ("jobname-254-chars", base(jobName="j" * 254), "jobName"),
    ("jobname-control-char", base(jobName="bell\u0007job"), "jobName"),
    ("jobname-dot-dot-log-key", base(jobName="../../etc"), "jobName"),
    ("jobname-dot-log-key", base(jobName="."), "jobName"),
    ("timeout-string", base(timeOut="ten"), "timeOut"),
    ("timeout-negative", base(timeOut=-1), "timeOut"),
    ("timeout-over-cap", base(timeOut=100_000), "timeOut"),
    ("bucket-invalid-name", base(inputBucket="Not_A_Bucket"), "inputBucket"),
    ("bucket-not-allowed", base(inputBucket="other-tenant-data"), "inputBucket"),
    ("output-bucket-not-allowed", base(outputBucket="elsewhere-logs"), "outputBucket"),
    ("buckets-of-two-tenants", base(outputBucket="cw-test-tenantb-out"), "outputBucket"),
    ("env-value-number", base(env={"A": 1}), "env.A"),
    ("env-task-args-file", base(env={"TASK_ARGS_FILE": "/etc/passwd"}), "env.TASK_ARGS_FILE"),
    ("env-completion-index", base(env={"JOB_COMPLETION_INDEX": "0"}), "env.JOB_COMPLETION_INDEX"),
    ("env-aws-key", base(env={"AWS_ACCESS_KEY_ID": "x"}), "env.AWS_ACCESS_KEY_ID"),
    ("env-aws-profile", base(env={"AWS_PROFILE": "x"}), "env.AWS_PROFILE"),
    ("env-input-bucket", base(env={"INPUT_BUCKET": "x"}), "env.INPUT_BUCKET"),
    ("env-not-identifier", base(env={"BAD-NAME": "x"}), "env"),
    ("env-too-many", base(env={f"V{i}": "x" for i in range(101)}), "env"),
    ("env-not-object", base(env="A=1"), "env"),
    ("command-string", base(command="sh"), "command"),
    ("args-numbers", base(args=[1]), "args"),
    ("memory-64Pi", base(resources={"limits": {"memory": "64Pi"}}), "resources.limits.memory"),
    ("cpu-over-cap", base(resources={"limits": {"cpu": "1000"}}), "resources.limits.cpu"),
    ("gpu-64", base(resources={"limits": {"nvidia.com/gpu": "64"}}), "resources.limits.nvidia.com/gpu"),
    ("request-over-limit", base(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}), "resources.requests.cpu"),
    ("quantity-garbage", base(resources={"limits": {"memory": "lots"}}), "resources.limits.memory"),
    ("quantity-negative", base(resources={"requests": {"memory": "-1Gi"}}), "resources.requests.memory"),
    ("resource-not-allowed", base(resources={"limits": {"example.com/fpga": "1"}}), "resources.limits.example.com/fpga"),
    ("resource-section-unknown", base(resources={"gpus": {"count": 1}}), "resources.gpus"),
    ("backoff-over-cap", base(backoffLimit=99), "backoffLimit"),
    ("prefix-slash", base(prefix="a/b"), "prefix"),
    ("prefix-dot-dot", base(prefix="..x"), "prefix"),
    ("prefix-129-chars", base(prefix="p" * 129), "prefix"),
    ("prefix-newline", base(prefix="run\n1"), "prefix"),
    ("tasks-empty", base(tasks=[]), "tasks"),
    ("tasks-too-many", base(tasks=list(range(1001))), "tasks"),
    ("parallelism-zero", base(tasks=[1, 2], parallelism=0), "parallelism"),
    ("parallelism-without-tasks", base(parallelism=2), "parallelism"),
    ("cancel-empty", {"cancel": ""}, "cancel"),
]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    with simulator_with_secrets(
        tmp_path_factory.mktemp("untrusted-sim"), endpoints, (endpoints.s3_credentials_secret, TENANT_SECRET)
    ) as sim:
        yield sim


STRICT_SETTINGS = {
    "CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES": "registry.example.com,docker.io/library,cloud-worker",
    "CLOUD_WORKER_ALLOWED_BUCKETS": ALLOWED_BUCKETS,
    "CLOUD_WORKER_BUCKET_CREDENTIALS": f"{TENANT_PATTERN}={TENANT_SECRET}",
    "CLOUD_WORKER_LOG_KEY_TEMPLATE": "logs/{jobName}/{pod}.log",
    "CLOUD_WORKER_STATUS_TOKEN": STATUS_TOKEN,
    "CLOUD_WORKER_MAX_DELIVERIES": str(MAX_DELIVERIES),
}


@pytest.fixture(scope="module")
def strict_worker(simulator: RecordingSimulator, worker: Any) -> Any:
    return worker(CLOUD_WORKER_KUBE_SERVER=simulator.base, **STRICT_SETTINGS)


def submit(worker_process: Any, body: Any, **publish: Any) -> tuple[str, dict[str, Any]]:
    with worker_process.rpc() as rpc:
        published = rpc.publish(body, **publish)
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json
    return published.correlation_id, reply


def assert_rejected(
    worker_process: Any, simulator: RecordingSimulator, endpoints: Any, request_id: str, reply: dict[str, Any], field: str
) -> dict[str, Any]:
    """One `rejected` reply naming `field`, its dead-letter copy with the reason, no Job.
    Returns the dead-letter copy's headers."""
    assert reply["status"] == "rejected", describe(reply)
    assert reply["requestId"] == request_id, describe(reply)
    assert reply["message"].startswith(f"{field}: "), describe(reply)
    assert len(reply["message"]) < 600, "a rejection quotes the producer's text shortly"
    properties, _ = dead_letter(endpoints.amqp_url, worker_process.names.dead_letter_queue, request_id)
    headers = properties.headers or {}
    assert headers.get("x-rejected-field") == field, headers
    assert headers.get("x-rejected-reason") and headers["x-rejected-reason"] in reply["message"], headers
    assert not jobs_of_request(simulator.base, endpoints.namespace, request_id), "a Job was created for a rejected request"
    assert worker_process.alive()
    return headers


# ---------------------------------------------------------------- 40+ bad requests


@pytest.mark.parametrize(("body", "field"), [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS])
def test_bad_request_is_rejected_naming_the_field(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, body: Any, field: str
) -> None:
    request_id, reply = submit(strict_worker, body)
    assert_rejected(strict_worker, simulator, endpoints, request_id, reply, field)


def test_the_table_is_large_enough() -> None:
    assert len(BAD_REQUESTS) >= 40
    assert len({case[0] for case in BAD_REQUESTS}) == len(BAD_REQUESTS)


# ---------------------------------------------------------------- edge cases that must run


def valid_edge_cases() -> list[tuple[str, dict[str, Any]]]:
    run = ["sh", "-c", "echo ok"]
    return [
        ("jobname-253-chars-in-log-key", {"jobName": "n" * 253, "command": run}),
        ("env-100-entries-c-identifiers", {"jobName": "e2e-env-max", "command": ["sh", "-c", 'test "$_v98" = x && test "$lower_Case" = y'],
                                           "env": {**{f"_v{i}": "x" for i in range(99)}, "lower_Case": "y"}}),
        ("resources-at-the-caps-odd-spellings", {
            "jobName": "e2e-caps", "command": run,
            "resources": {"requests": {"cpu": "1e0", "memory": "0.5Gi", "nvidia.com/gpu": "1"},
                          "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1}}}),
        ("prefix-128-chars-unicode-dots", {"jobName": "e2e-prefix", "prefix": "run.1-café" + "p" * 117,
                                           "command": ["sh", "-c", 'test -n "$FILE_PREFIX"']}),
        # The object, the tasks array and 30 arrays: exactly the limit of 32.
        ("nesting-at-the-limit", {"jobName": "e2e-nesting", "command": ["sh", "-c", "test -s \"$TASK_ARGS_FILE\""],
                                  "tasks": [nested(30)]}),
        ("timeout-and-backoff-at-the-caps", {"jobName": "e2e-timeout-max", "command": run, "timeOut": 1440, "backoffLimit": 10}),
    ]


@pytest.mark.parametrize(("name", "fields"), valid_edge_cases(), ids=[name for name, _ in valid_edge_cases()])
def test_valid_edge_case_runs(
    strict_worker: Any, simulator: RecordingSimulator, bucket_factory: Any, name: str, fields: dict[str, Any]
) -> None:
    request = {"image": BUSYBOX, "inputBucket": bucket_factory("edge"), **fields}
    _, reply = submit(strict_worker, request)
    assert reply["status"] == "succeeded", describe(reply)
    assert created_job(simulator, reply["k8sJob"])["metadata"]["annotations"]["cloud-worker.io/job-name"] == fields["jobName"]
    assert reply["logs"] and all(entry["complete"] for entry in reply["logs"]), describe(reply)
    assert all(entry["key"].startswith(f"logs/{fields['jobName']}/") for entry in reply["logs"]), describe(reply)


# ---------------------------------------------------------------- tenants


def test_mapped_bucket_pods_get_the_mapped_secret(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, bucket_factory: Any
) -> None:
    bucket = bucket_factory("tenantb")
    assert re.fullmatch(TENANT_PATTERN.replace("*", ".*"), bucket)
    request_id, reply = submit(strict_worker, base(inputBucket=bucket, jobName="e2e-tenant-b"))
    assert reply["status"] == "succeeded", describe(reply)
    assert secrets_referenced(simulator, reply["k8sJob"]) == {TENANT_SECRET}


def test_other_allowed_bucket_pods_get_the_default_secret(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, bucket_factory: Any
) -> None:
    request_id, reply = submit(strict_worker, base(inputBucket=bucket_factory("tenanta"), jobName="e2e-tenant-a"))
    assert reply["status"] == "succeeded", describe(reply)
    assert secrets_referenced(simulator, reply["k8sJob"]) == {endpoints.s3_credentials_secret}


def created_job(simulator: RecordingSimulator, job_name: str) -> dict[str, Any]:
    """The body of the one successful create of this Job in the simulator's request log."""
    (entry,) = [e for e in simulator.requests(verb="create", resource="jobs")
                if e.get("code") == 201 and (e.get("body") or {}).get("metadata", {}).get("name") == job_name]
    body: dict[str, Any] = entry["body"]
    return body


def secrets_referenced(simulator: RecordingSimulator, job_name: str) -> set[str]:
    (container,) = created_job(simulator, job_name)["spec"]["template"]["spec"]["containers"]
    return {var["valueFrom"]["secretKeyRef"]["name"] for var in container["env"] if "valueFrom" in var}


# ---------------------------------------------------------------- what the API server refuses


def test_foreign_job_with_the_same_name_is_not_adopted(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any
) -> None:
    request_id = f"e2e-foreign-{time.time_ns()}"
    job_name = f"e2e-foreign-{hashlib.sha256(request_id.encode()).hexdigest()[:8]}"
    foreign = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": job_name, "annotations": {"cloud-worker.io/request-id": "someone-else"}},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "c", "image": BUSYBOX, "command": ["sleep", "30"]}]}}}}
    status, answer = simulator.call("POST", f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs", foreign)
    assert status == 201, answer
    _, reply = submit(strict_worker, base(jobName="e2e-foreign"), correlation_id=request_id)
    assert_rejected(strict_worker, simulator, endpoints, request_id, reply, "jobName")
    assert job_name in reply["message"] and "not made for this request" in reply["message"], describe(reply)
    status, job = simulator.call("GET", f"/apis/batch/v1/namespaces/{endpoints.namespace}/jobs/{job_name}")
    assert status == 200 and job["metadata"]["annotations"]["cloud-worker.io/request-id"] == "someone-else", job


@pytest.mark.parametrize("status", [401, 403, 404, 413])
def test_permanent_api_error_rejects_without_requeueing(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, bucket_factory: Any, status: int
) -> None:
    before = len(simulator.requests(verb="create", resource="jobs"))
    simulator.admin("/_sim/faults", {"errorStatus": status, "pathContains": "/jobs", "method": "POST", "count": 1})
    try:
        request_id, reply = submit(strict_worker, base(jobName=f"e2e-permanent-{status}"))
    finally:
        simulator.call("POST", "/_sim/faults/clear")
    headers = assert_rejected(strict_worker, simulator, endpoints, request_id, reply, "job")
    assert "injected fault" in headers["x-rejected-reason"], headers
    creates = simulator.requests(verb="create", resource="jobs")[before:]
    assert len(creates) == 1, f"the request was tried {len(creates)} times: {creates}"


def test_refused_task_configmap_leaves_no_job_and_no_reply_within(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, bucket_factory: Any
) -> None:
    """A fan-out's Job is made before its task ConfigMap (which names the Job as its owner): when
    the API server refuses the ConfigMap for good, the Job made for it goes too, unreported, so
    the rejection stays the request's one reply."""
    simulator.admin("/_sim/faults", {"errorStatus": 403, "pathContains": "/configmaps", "method": "POST", "count": 1})
    with strict_worker.rpc() as rpc:
        try:
            published = rpc.publish(base(jobName="e2e-configmap-refused", inputBucket=bucket_factory("cm"),
                                         tasks=[1, 2], command=["sh", "-c", "sleep 1"]))
            reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json
        finally:
            simulator.call("POST", "/_sim/faults/clear")
        assert_rejected(strict_worker, simulator, endpoints, published.correlation_id, reply, "job")
        assert no_reply_within(rpc, published.correlation_id, seconds=5), "a second reply"
    creates = [e for e in simulator.requests(verb="create", resource="jobs")
               if (e.get("body") or {}).get("metadata", {}).get("annotations", {}).get("cloud-worker.io/request-id")
               == published.correlation_id]
    assert len(creates) == 1, creates


def test_cancel_refused_by_the_api_server_is_rejected_with_its_message(
    strict_worker: Any, simulator: RecordingSimulator, endpoints: Any, bucket_factory: Any
) -> None:
    with strict_worker.rpc() as rpc:
        original = rpc.publish(base(jobName="e2e-cancel-refused", inputBucket=bucket_factory("cancel"),
                                    command=["sh", "-c", "echo started; sleep 60"]))
        deadline = time.monotonic() + 30
        while not (jobs := jobs_of_request(simulator.base, endpoints.namespace, original.correlation_id)):
            assert time.monotonic() < deadline, "no Job for the request"
            time.sleep(0.1)
        job_path = f"/jobs/{jobs[0]['metadata']['name']}"
        simulator.admin("/_sim/faults", {"errorStatus": 403, "pathContains": job_path, "method": "PATCH", "count": 1})
        try:
            refused = rpc.publish({"cancel": original.correlation_id})
            refused_reply = rpc.wait_for_reply(refused.correlation_id, REPLY_TIMEOUT).json
        finally:
            simulator.call("POST", "/_sim/faults/clear")
        assert refused_reply["status"] == "rejected", describe(refused_reply)
        assert refused_reply["message"].startswith("job: ") and "injected fault" in refused_reply["message"], \
            describe(refused_reply)
        patches = [e for e in simulator.requests(verb="patch", resource="jobs") if job_path in e.get("path", "")]
        assert len(patches) == 1, f"the refused cancel was tried {len(patches)} times: {patches}"
        # The Job runs on, and a cancel the API server takes still works.
        cancel = rpc.publish({"cancel": original.correlation_id})
        assert rpc.wait_for_reply(cancel.correlation_id, REPLY_TIMEOUT).json["reason"] == "Cancelled"
        original_reply = rpc.wait_for_reply(original.correlation_id, REPLY_TIMEOUT).json
    assert original_reply["status"] == "cancelled", describe(original_reply)
    assert original_reply["message"] == f"cancelled by request {cancel.correlation_id}", describe(original_reply)


# ---------------------------------------------------------------- size, poison messages


def rss_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/{pid}/status")


def test_20_mib_body_is_rejected_in_bounded_memory(
    worker: Any, simulator: RecordingSimulator, endpoints: Any, queue_names: Any
) -> None:
    # A worker of its own, so that its peak RSS is this message's doing.
    process = worker(names=type(queue_names).fresh(), CLOUD_WORKER_KUBE_SERVER=simulator.base)
    body = b'{"image":"busybox:latest","jobName":"huge","inputBucket":"bucket","args":["' + b"x" * (20 << 20) + b'"]}'
    request_id, reply = submit(process, body)
    assert reply["message"] == f"body: is {len(body)} bytes, more than the limit of 1048576", describe(reply)
    assert_rejected(process, simulator, endpoints, request_id, reply, "body")
    peak = rss_kib(process.pid, "VmHWM")
    assert peak < 64 * 1024, f"peak RSS {peak} KiB while rejecting a 20 MiB body"


def queue_depth(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return int(connection.channel().queue_declare(queue=queue, passive=True).method.message_count)
    finally:
        connection.close()


def test_message_redelivered_past_the_limit_is_dead_lettered(
    worker: Any, simulator: RecordingSimulator, endpoints: Any, queue_names: Any
) -> None:
    """A request whose handling kills the worker each time (here: the worker is killed while
    its Job create hangs) is handled MAX_DELIVERIES times, then dead-lettered."""
    names = type(queue_names).fresh()
    simulator.admin("/_sim/faults", {"latencyMs": 60_000, "pathContains": "/jobs", "method": "POST"})
    try:
        process = worker(names=names, CLOUD_WORKER_KUBE_SERVER=simulator.base, **STRICT_SETTINGS)
        with process.rpc() as rpc:
            published = rpc.publish(base(jobName="e2e-poison"))
            for handled in range(1, MAX_DELIVERIES + 1):
                wait_until(lambda: queue_depth(endpoints.amqp_url, names.request_queue) == 0, "the worker takes it")
                if handled > 1:
                    process.wait_for_log("put back with its count", 10)
                    wait_until(lambda: queue_depth(endpoints.amqp_url, names.request_queue) == 0, "the worker takes the copy")
                time.sleep(0.5)
                process.process.kill()
                process.process.wait(timeout=10)
                process = worker(names=names, CLOUD_WORKER_KUBE_SERVER=simulator.base, **STRICT_SETTINGS)
            reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json
    finally:
        simulator.call("POST", "/_sim/faults/clear")
    assert reply["status"] == "rejected", describe(reply)
    assert reply["message"].startswith(f"delivery: came {MAX_DELIVERIES + 1} times"), describe(reply)
    properties, _ = dead_letter(endpoints.amqp_url, names.dead_letter_queue, published.correlation_id)
    assert properties.headers["x-rejected-field"] == "delivery"
    assert properties.headers["x-cloud-worker-deliveries"] == str(MAX_DELIVERIES)
    assert queue_depth(endpoints.amqp_url, names.request_queue) == 0, "the message is not looping"


def wait_until(condition: Any, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


# ---------------------------------------------------------------- the status port


def http_get(port: str, path: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize(("path", "token", "status"), [
    ("/api/jobs", None, 401), ("/api/jobs", "wrong-token", 401), ("/api/jobs", STATUS_TOKEN, 200),
    ("/", None, 401), ("/", STATUS_TOKEN, 200),
    ("/healthz", None, 200), ("/readyz", None, 200), ("/metrics", None, 200),
])
def test_jobs_api_and_page_require_the_token_probes_and_metrics_do_not(
    strict_worker: Any, path: str, token: str | None, status: int
) -> None:
    assert http_get(strict_worker.env["CLOUD_WORKER_HTTP_PORT"], path, token) == status

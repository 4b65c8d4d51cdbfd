"""API requests per finished single-pod job, counted by the simulator: at most 6, and not
growing with the job's duration (SPEC §5: one shared watch per kind, no per-job polling;
§10: "API requests per single-pod job ≤ 6 and constant in time").

One worker, alone on a simulator of this module's own, runs a short sample job and then a long
one (the same job sleeping 8 s first), one at a time. The simulator's request log says which
requests named each job: its create (a POST whose body names it), anything on its path, its
pods' paths (`{job}-xxxxx`, their logs) and any request whose query names it or its uid (a
pods LIST by `controller-uid`, say). The worker's two watches, opened once at start and shared
by every job, are not the job's; watch re-opens and re-lists during a job are reported beside
the count. The simulator's `/_sim/stats` counters over each job's window must agree with the
log, so that nothing the counters saw is missed.

The worker's own S3 requests over each job's window are counted too (its
`cloud_worker_s3_requests_total` metric): a job whose log fits in one part costs one PUT, with
no lookup of an earlier archive, since the worker that created the Job knows there was none.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from e2e_support import REPLY_TIMEOUT, RecordingSimulator, describe, simulator_with_secrets, upload_inputs

from cloud_worker_client.config import SAMPLE_JOB_IMAGE

pytestmark = pytest.mark.e2e

MAX_REQUESTS_PER_JOB = 6
LONG_JOB_SLEEP_SECONDS = 8
WORKER_AGENT = "cloud-worker"
# After the Job's DELETE, how long to keep listening for late requests about it.
SETTLE_SECONDS = 1.0
WAIT_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    with simulator_with_secrets(tmp_path_factory.mktemp("requests-sim"), endpoints,
                                [endpoints.s3_credentials_secret]) as sim:
        yield sim


@pytest.fixture(scope="module")
def running_worker(simulator: RecordingSimulator, worker: Any) -> Any:
    process = worker(CLOUD_WORKER_KUBE_SERVER=simulator.base)
    # Its shared list-then-watch of Jobs and of Pods is up before any job is counted.
    wait_until(lambda: simulator.stats()["openWatches"] >= 2, "the worker's two watches to be open")
    return process


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def describe_entry(entry: dict[str, Any]) -> str:
    what = entry.get("resource") or entry["path"]
    if entry.get("subresource"):
        what += "/" + entry["subresource"]
    name = f" {entry['name']}" if entry.get("name") else ""
    query = {k: v for k, v in (entry.get("query") or {}).items() if k != "labelSelector"}
    selector = (entry.get("query") or {}).get("labelSelector")
    extra = (f" selector={selector}" if selector else "") + (f" {json.dumps(query)}" if query else "")
    return f"#{entry['seq']} {entry['method']} {entry.get('verb')} {what}{name}{extra} -> {entry.get('code')}"


@dataclass
class JobRun:
    """One job's window: its reply, the requests in the window and the counters' growth."""

    label: str
    reply: dict[str, Any]
    window: list[dict[str, Any]]
    counted: Counter[str]
    s3: dict[str, int]
    job: str = ""
    uid: str = ""
    own: list[dict[str, Any]] = field(default_factory=list)

    def names_it(self, entry: dict[str, Any]) -> bool:
        """Whether a request is about this job: its path, its pods', its create, or a query
        naming it or its uid."""
        name = entry.get("name") or ""
        if name == self.job or name.startswith(self.job + "-"):
            return True
        body = entry.get("body")
        if entry.get("verb") == "create" and isinstance(body, dict) and \
                (body.get("metadata") or {}).get("name") == self.job:
            return True
        query = json.dumps(entry.get("query") or {})
        return self.job in query or bool(self.uid and self.uid in query)

    def shared(self) -> list[dict[str, Any]]:
        """The worker's requests in the window that are about no job: watch re-opens, re-lists."""
        return [e for e in self.window if e.get("userAgent") == WORKER_AGENT and not self.names_it(e)]

    def report(self) -> str:
        by_kind = Counter(f"{e['method']} {e.get('verb')} {e.get('resource')}"
                          + (f"/{e['subresource']}" if e.get("subresource") else "")
                          + (f" -> {e.get('code')}" if e.get("code") != 200 and e.get("code") != 201 else "")
                          for e in self.own)
        shared = self.shared()
        reopens = [e for e in shared if e.get("verb") == "watch"]
        summary = f"{self.label} job {self.job}: {len(self.own)} requests (limit {MAX_REQUESTS_PER_JOB})"
        lines = [
            f"{summary}: {dict(sorted(by_kind.items()))}",
            *("    " + describe_entry(e) for e in self.own),
            f"  watch re-opens in its window: {len(reopens)}; other shared requests: {len(shared) - len(reopens)}",
            *("    " + describe_entry(e) for e in shared),
            f"  /_sim/stats growth over its window: {dict(sorted(self.counted.items()))}",
            f"  the worker's S3 requests over its window: {self.s3}",
        ]
        return "\n".join(lines)


def released(simulator: RecordingSimulator, job: str) -> bool:
    """Whether the worker has marked the Job reported and removed its finalizer (the TTL
    controller then deletes it)."""
    return any(
        e.get("userAgent") == WORKER_AGENT and "cloud-worker.io/reported" in json.dumps(e.get("body"))
        for e in simulator.requests(verb="patch", resource="jobs", name=job)
    )


def s3_requests(worker_process: Any) -> Counter[str]:
    """The worker's S3 requests so far, by method (its /metrics)."""
    port = worker_process.env["CLOUD_WORKER_HTTP_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return Counter({method: int(float(value)) for method, value in
                    re.findall(r'^cloud_worker_s3_requests_total\{method="([A-Z]+)"\} (\S+)$', text, re.MULTILINE)})


def run_job(simulator: RecordingSimulator, worker_process: Any, label: str, request: dict[str, Any]) -> JobRun:
    s3_before = s3_requests(worker_process)
    before = simulator.stats()["requests"]
    start = simulator.admin("/_sim/requests?limit=0")["seq"]
    with worker_process.rpc() as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT).json
    assert reply["status"] == "succeeded", describe(reply)
    job = reply["k8sJob"]
    wait_until(lambda: released(simulator, job), f"the worker to release {job}")
    time.sleep(SETTLE_SECONDS)
    after = simulator.stats()["requests"]
    window = simulator.requests(since=start)
    counted = Counter({key: n - before.get(key, 0) for key, n in after.items() if n != before.get(key, 0)})
    # The counters and the log saw the same requests (nobody but the worker calls the API
    # server meanwhile: the test waits on AMQP and on the admin API, which is not counted).
    assert sum(counted.values()) == len(window), (
        f"/_sim/stats counted {dict(counted)} but the request log has:\n"
        + "\n".join(describe_entry(e) for e in window)
    )
    s3 = {method: n for method, n in (s3_requests(worker_process) - s3_before).items() if n}
    run = JobRun(label=label, reply=reply, window=window, counted=counted, s3=s3, job=job)
    creates = [e for e in window if e.get("verb") == "create" and run.names_it(e) and e.get("resource") == "jobs"]
    assert len(creates) == 1 and creates[0].get("uid"), "\n".join(describe_entry(e) for e in window)
    run.uid = creates[0]["uid"]
    return run


def test_requests_per_single_pod_job_are_few_and_constant_in_time(
    simulator: RecordingSimulator, running_worker: Any, s3: Any, bucket_factory: Any,
) -> None:
    bucket = bucket_factory("requests")
    upload_inputs(s3, bucket)

    def request(job_name: str, env: dict[str, str]) -> dict[str, Any]:
        return {"image": SAMPLE_JOB_IMAGE, "jobName": job_name, "timeOut": 5, "inputBucket": bucket, "env": env}

    short = run_job(simulator, running_worker, "short", request("e2e-requests-short", {}))
    long = run_job(simulator, running_worker, "long",
                   request("e2e-requests-long", {"SAMPLE_JOB_SLEEP_SECONDS": str(LONG_JOB_SLEEP_SECONDS)}))

    # Every request about each job, whenever it came (a late one would count too).
    everything = simulator.requests()
    for run in (short, long):
        run.own = [e for e in everything if e.get("userAgent") == WORKER_AGENT and run.names_it(e)]
    report = short.report() + "\n" + long.report()
    print(report)

    short_count, long_count = len(short.own), len(long.own)
    assert short_count <= MAX_REQUESTS_PER_JOB and long_count <= MAX_REQUESTS_PER_JOB, report
    assert long_count <= short_count, "the long job made more requests than the short one:\n" + report
    # Each job was created once (claimed by its creator), its log read, and released once the
    # reply went out: one patch marks it reported, drops the finalizer and sets its TTL to the
    # finished-job retention (600 s by default), for every replica's jobs page to list it.
    for run in (short, long):
        verbs = Counter((e.get("verb"), e.get("resource"), e.get("subresource")) for e in run.own)
        assert verbs[("create", "jobs", None)] == 1, report
        assert verbs[("patch", "jobs", None)] == 1, report
        [release] = [e for e in run.own if e.get("verb") == "patch" and e.get("resource") == "jobs"]
        assert release["body"]["spec"] == {"ttlSecondsAfterFinished": 600}, report
        assert verbs[("delete", "jobs", None)] == 0, report
        assert verbs[("get", "pods", "log")] >= 1, report
        assert run.s3 == {"PUT": 1}, report

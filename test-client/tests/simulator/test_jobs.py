"""The Job controller and the kubelet: completion, retries, deadline, image pulls, env from
Secrets, Indexed jobs, termination messages, deletion propagation, TTL, suspend."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from simkit import Client, job_manifest

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"


def cond(job: dict, ctype: str) -> dict | None:
    return next((c for c in job["status"].get("conditions", []) if c["type"] == ctype), None)


def parse_time(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()


def test_job_completes_and_logs_are_readable(client: Client, ns: str) -> None:
    script = "for i in 1 2 3; do echo line-$i; done; echo oops >&2; exit 0"
    r = client.post(JOBS.format(ns=ns), job_manifest("ok", ["sh", "-c", script]))
    assert r.status == 201, r.text
    job = client.job_condition(ns, "ok", "Complete")
    complete = cond(job, "Complete")
    assert complete is not None
    assert complete["reason"] == "CompletionsReached"
    assert complete["message"] == "Reached expected number of completions"
    assert cond(job, "SuccessCriteriaMet") is not None
    status = job["status"]
    assert status["succeeded"] == 1 and "active" not in status and status["ready"] == 0
    assert status["startTime"] and status["completionTime"]
    pods = client.pods_of(ns, "ok")
    assert len(pods) == 1
    pod = pods[0]
    assert pod["metadata"]["name"].startswith("ok-") and len(pod["metadata"]["name"]) == len("ok-") + 5
    ref = pod["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "Job" and ref["controller"] is True and ref["uid"] == job["metadata"]["uid"]
    assert pod["spec"]["nodeName"] == "sim-node-1"
    assert pod["status"]["phase"] == "Succeeded" and pod["status"]["podIP"] == "127.0.0.1"
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    assert term["containerID"].startswith("sim://")
    assert {c["type"] for c in pod["status"]["conditions"]} >= {"PodScheduled", "Initialized", "Ready", "ContainersReady"}
    log_path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log"
    text = client.get(log_path).text
    assert text.splitlines() == ["line-1", "line-2", "line-3", "oops"]
    stamped = client.get(log_path + "?timestamps=true").text.splitlines()
    assert len(stamped) == 4
    ts, rest = stamped[1].split(" ", 1)
    assert rest == "line-2" and ts.endswith("Z") and len(ts) == len("2026-11-22T02:35:58.123456789Z")
    since = client.get(log_path + f"?sinceTime={ts}").text.splitlines()
    assert since == ["line-2", "line-3", "oops"]
    assert client.get(log_path + "?tailLines=2").text.splitlines() == ["line-3", "oops"]
    assert client.get(log_path + "?limitBytes=8").text == "line-1\nl"
    assert client.get(log_path + "?previous=true").status == 400
    assert client.get(log_path + "?container=nope").status == 400


def test_failures_back_off_until_limit(client: Client, ns: str) -> None:
    r = client.post(JOBS.format(ns=ns), job_manifest("fail", ["sh", "-c", "echo failing; exit 3"], backoffLimit=2))
    assert r.status == 201
    job = client.job_condition(ns, "fail", "Failed", timeout=30)
    failed = cond(job, "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert cond(job, "FailureTarget") is not None
    assert job["status"]["failed"] == 3
    pods = client.pods_of(ns, "fail")
    assert len(pods) == 3
    starts = sorted(p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] for p in pods)
    assert starts == [3, 3, 3]
    assert all(p["status"]["phase"] == "Failed" for p in pods)
    assert all(p["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "Error" for p in pods)
    assert all("finalizers" not in p["metadata"] for p in pods)


def test_active_deadline(client: Client, ns: str) -> None:
    start = time.monotonic()
    r = client.post(JOBS.format(ns=ns), job_manifest("slow", ["sh", "-c", "echo start; sleep 30"],
                                                     activeDeadlineSeconds=2))
    assert r.status == 201
    job = client.job_condition(ns, "slow", "Failed", timeout=15)
    # startTime has second precision, as on a real server: the deadline falls 1-2 s after start.
    assert 1.0 <= time.monotonic() - start < 6
    failed = cond(job, "Failed")
    assert failed is not None and failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    assert cond(job, "FailureTarget") is not None
    assert job["status"].get("active", 0) == 0 and job["status"]["failed"] == 1
    # The controller deleted the running pod: it is gone (or on its way out).
    for pod in client.pods_of(ns, "slow"):
        assert pod["metadata"].get("deletionTimestamp") or pod["status"]["phase"] == "Failed"


def test_unknown_image_never_runs(client: Client, ns: str) -> None:
    r = client.post(JOBS.format(ns=ns), job_manifest("nope", ["true"], image="registry.example/none:1"))
    assert r.status == 201

    def waiting_reason(pods: list) -> str | None:
        if not pods:
            return None
        statuses = pods[0]["status"].get("containerStatuses") or []
        return (statuses[0]["state"].get("waiting") or {}).get("reason") if statuses else None

    deadline = time.monotonic() + 10
    seen: set[str] = set()
    while time.monotonic() < deadline and not {"ErrImagePull", "ImagePullBackOff"} <= seen:
        reason = waiting_reason(client.pods_of(ns, "nope"))
        if reason:
            seen.add(reason)
        time.sleep(0.1)
    assert {"ErrImagePull", "ImagePullBackOff"} <= seen
    pod = client.pods_of(ns, "nope")[0]
    assert pod["status"]["phase"] == "Pending"
    r = client.get(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log")
    assert r.status == 400 and "is waiting to start" in r.json()["message"]
    job = client.get(f"{JOBS.format(ns=ns)}/nope").json()
    assert job["status"]["active"] == 1


def test_secret_key_ref_and_missing_secret(client: Client, ns: str) -> None:
    script = 'echo "user=$APP_USER token=$APP_TOKEN name=$MY_POD ns=$MY_NS home=$HOME"'
    env = [
        {"name": "APP_USER", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
        {"name": "APP_TOKEN", "value": "t-$(APP_USER)"},
        {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    r = client.post(JOBS.format(ns=ns), job_manifest("env", ["sh", "-c", script], container={"env": env}))
    assert r.status == 201
    pod = client.wait_for(
        f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Denv",
        lambda lst: bool(lst["items"]) and ((lst["items"][0]["status"].get("containerStatuses") or [{}])[0]
                                            .get("state", {}).get("waiting", {}).get("reason")
                                            == "CreateContainerConfigError"),
        what="CreateContainerConfigError",
    )["items"][0]
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == 'secret "creds" not found'
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
              "data": {"user": base64.b64encode(b"alice").decode()}}
    assert client.post(f"/api/v1/namespaces/{ns}/secrets", secret).status == 201
    client.job_condition(ns, "env", "Complete")
    name = client.pods_of(ns, "env")[0]["metadata"]["name"]
    line = client.get(f"/api/v1/namespaces/{ns}/pods/{name}/log").text.strip()
    assert line.startswith(f"user=alice token=t-alice name={name} ns={ns} home=/")


def test_indexed_job_sets_completion_index(client: Client, ns: str) -> None:
    manifest = job_manifest("idx", ["sh", "-c", 'echo "index=$JOB_COMPLETION_INDEX"'],
                            completionMode="Indexed", completions=5, parallelism=3)
    assert client.post(JOBS.format(ns=ns), manifest).status == 201
    job = client.job_condition(ns, "idx", "Complete", timeout=30)
    assert job["status"]["succeeded"] == 5 and job["status"]["completedIndexes"] == "0-4"
    pods = client.pods_of(ns, "idx")
    assert len(pods) == 5
    seen = set()
    for pod in pods:
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        text = client.get(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log").text.strip()
        assert text == f"index={index}"
        seen.add(int(index))
    assert seen == {0, 1, 2, 3, 4}


def test_termination_message_and_fallback(client: Client, ns: str) -> None:
    ok = job_manifest("msg", ["sh", "-c", 'printf "all good" > "$TERMINATION_MESSAGE_PATH"'])
    assert client.post(JOBS.format(ns=ns), ok).status == 201
    fallback = job_manifest("fb", ["sh", "-c", "echo first; echo last words; exit 4"], backoffLimit=0,
                            container={"terminationMessagePolicy": "FallbackToLogsOnError"})
    assert client.post(JOBS.format(ns=ns), fallback).status == 201
    client.job_condition(ns, "msg", "Complete")
    term = client.pods_of(ns, "msg")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["message"] == "all good"
    client.job_condition(ns, "fb", "Failed")
    term = client.pods_of(ns, "fb")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 4 and term["message"] == "first\nlast words\n"


def test_volumes_are_mapped_into_the_sandbox(client: Client, ns: str) -> None:
    cmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tasks"},
            "data": {"task-0.json": '{"n": 0}', "task-1.json": '{"n": 1}'}}
    assert client.post(f"/api/v1/namespaces/{ns}/configmaps", cmap).status == 201
    manifest = job_manifest(
        "vol", ["sh", "-c", 'cat "$TASK_ARGS_FILE"; echo; echo "$LATE"'],
        completionMode="Indexed", completions=2,
        # $(VAR) sees only variables defined earlier in the list; JOB_COMPLETION_INDEX is
        # appended by the Job controller, so it is read here through the annotation.
        container={"env": [
            {"name": "IDX", "valueFrom": {"fieldRef": {
                "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
            {"name": "TASK_ARGS_FILE", "value": "/etc/tasks/task-$(IDX).json"},
            {"name": "LATE", "value": "$(JOB_COMPLETION_INDEX)"},
        ], "volumeMounts": [{"name": "tasks", "mountPath": "/etc/tasks"}]},
        pod={"volumes": [{"name": "tasks", "configMap": {"name": "tasks"}}]},
    )
    assert client.post(JOBS.format(ns=ns), manifest).status == 201
    client.job_condition(ns, "vol", "Complete")
    for pod in client.pods_of(ns, "vol"):
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        text = client.get(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log").text
        assert text.splitlines() == [f'{{"n": {index}}}', "$(JOB_COMPLETION_INDEX)"]


def test_delete_background_removes_pods(client: Client, ns: str) -> None:
    assert client.post(JOBS.format(ns=ns), job_manifest("bg", ["sh", "-c", "sleep 30"])).status == 201
    client.wait_for(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Dbg",
                    lambda lst: bool(lst["items"]) and lst["items"][0]["status"]["phase"] == "Running",
                    what="a running pod")
    r = client.delete(f"{JOBS.format(ns=ns)}/bg?propagationPolicy=Background")
    assert r.status == 200 and "Warning" not in r.headers
    client.wait_gone(f"{JOBS.format(ns=ns)}/bg")
    deadline = time.monotonic() + 10
    while client.pods_of(ns, "bg") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.pods_of(ns, "bg") == []


def test_delete_without_policy_orphans_pods_with_warning(client: Client, ns: str) -> None:
    assert client.post(JOBS.format(ns=ns), job_manifest("orph", ["sh", "-c", "sleep 2"])).status == 201
    client.wait_for(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Dorph",
                    lambda lst: bool(lst["items"]), what="a pod")
    r = client.delete(f"{JOBS.format(ns=ns)}/orph")
    assert r.status == 200
    assert "child pods are preserved by default when jobs are deleted" in r.headers["Warning"]
    assert r.headers["Warning"].startswith("299 - ")
    client.wait_gone(f"{JOBS.format(ns=ns)}/orph")
    pods = client.wait_for(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Dorph",
                           lambda lst: bool(lst["items"]) and "ownerReferences" not in lst["items"][0]["metadata"],
                           what="orphaned pod")["items"]
    assert len(pods) == 1
    pod_path = f"/api/v1/namespaces/{ns}/pods/{pods[0]['metadata']['name']}"
    client.wait_for(pod_path, lambda p: p["status"]["phase"] == "Succeeded", what="orphan finished")
    assert client.delete(pod_path).status == 200
    client.wait_gone(pod_path)
    assert client.get(pod_path + "/log").status == 404


def test_foreground_delete_and_owned_configmaps(client: Client, ns: str) -> None:
    job = client.post(JOBS.format(ns=ns), job_manifest("fg", ["sh", "-c", "sleep 30"])).json()
    owned = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fg-tasks", "ownerReferences": [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "fg", "uid": job["metadata"]["uid"]}]}, "data": {}}
    assert client.post(f"/api/v1/namespaces/{ns}/configmaps", owned).status == 201
    client.wait_for(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Dfg",
                    lambda lst: bool(lst["items"]) and lst["items"][0]["status"]["phase"] == "Running",
                    what="a running pod")
    r = client.delete(f"{JOBS.format(ns=ns)}/fg", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                  "propagationPolicy": "Foreground"})
    assert r.status == 200
    body = r.json()
    assert body["metadata"]["deletionTimestamp"] and "foregroundDeletion" in body["metadata"]["finalizers"]
    client.wait_gone(f"{JOBS.format(ns=ns)}/fg")
    assert client.pods_of(ns, "fg") == []
    client.wait_gone(f"/api/v1/namespaces/{ns}/configmaps/fg-tasks")


@pytest.mark.parametrize("ttl", [0, 1])
def test_ttl_after_finished(client: Client, ns: str, ttl: int) -> None:
    # The Job is Complete only until its TTL runs out, counted from the condition's
    # second-precision lastTransitionTime: anything from 0 to `ttl` seconds. A poll can miss
    # that window entirely (it once did, and reported the Job as never started), so the test
    # watches: a watch delivers every state the Job passes through.
    manifest = job_manifest("ttl", ["true"], ttlSecondsAfterFinished=ttl)
    created = client.post(JOBS.format(ns=ns), manifest)
    assert created.status == 201
    rv = created.json()["metadata"]["resourceVersion"]
    events = client.watch_until(f"{JOBS.format(ns=ns)}?resourceVersion={rv}", lambda ev: ev["type"] == "DELETED")
    deleted_at = time.time()
    complete = [ev["object"] for ev in events if cond(ev["object"], "Complete")]
    assert complete, [ev["type"] for ev in events]
    finished = parse_time(cond(complete[0], "Complete")["lastTransitionTime"])
    assert deleted_at >= finished + ttl
    # The TTL controller deletes in the foreground: the Job waits for its pods.
    deleting = [ev["object"] for ev in events if ev["object"]["metadata"].get("deletionTimestamp")]
    assert deleting and "foregroundDeletion" in deleting[0]["metadata"]["finalizers"]
    assert client.pods_of(ns, "ttl") == []


def test_suspend_and_resume(client: Client, ns: str) -> None:
    assert client.post(JOBS.format(ns=ns), job_manifest("sus", ["true"], suspend=True)).status == 201
    job = client.job_condition(ns, "sus", "Suspended")
    assert cond(job, "Suspended")["reason"] == "JobSuspended"
    time.sleep(0.3)
    assert client.pods_of(ns, "sus") == []
    r = client.patch(f"{JOBS.format(ns=ns)}/sus", {"spec": {"suspend": False}})
    assert r.status == 200, r.text
    job = client.job_condition(ns, "sus", "Complete")
    assert cond(job, "Suspended")["status"] == "False"


def test_parallel_non_indexed(client: Client, ns: str) -> None:
    manifest = job_manifest("par", ["sh", "-c", "sleep 0.3"], completions=4, parallelism=2)
    assert client.post(JOBS.format(ns=ns), manifest).status == 201
    rv = client.get(f"{JOBS.format(ns=ns)}/par").json()["metadata"]["resourceVersion"]
    w = client.stream(f"{JOBS.format(ns=ns)}?watch=1&resourceVersion={rv}&timeoutSeconds=15")
    max_active = 0
    try:
        for ev in w.events():
            status = ev["object"].get("status", {})
            max_active = max(max_active, status.get("active", 0))
            if any(c["type"] == "Complete" for c in status.get("conditions", [])):
                break
    finally:
        w.close()
    assert max_active == 2
    job = client.get(f"{JOBS.format(ns=ns)}/par").json()
    assert job["status"]["succeeded"] == 4 and len(client.pods_of(ns, "par")) == 4


def test_oom_killed_when_memory_limit_exceeded(client: Client, ns: str) -> None:
    script = "import time; b = bytearray(200 * 1024 * 1024); time.sleep(5)"
    manifest = job_manifest("oom", ["python3", "-c", script], image="python:3.11", backoffLimit=0,
                            container={"resources": {"limits": {"memory": "64Mi"}}})
    assert client.post(JOBS.format(ns=ns), manifest).status == 201
    client.job_condition(ns, "oom", "Failed", timeout=20)
    term = client.pods_of(ns, "oom")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137

"""Finalizers and deletion, as the worker's lifecycle uses them: a Job created with the finalizer
`cloud-worker.io/report` is deleted (by a client, or by its TTL) and stays Terminating until the
worker removes the finalizer with a patch carrying a resourceVersion precondition."""

from __future__ import annotations

import time
from typing import Any

import pytest
from simkit import Client, job_manifest

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
REPORT = "cloud-worker.io/report"


def held_job(client: Client, ns: str, name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    manifest = job_manifest(name, command, **spec)
    manifest["metadata"]["finalizers"] = [REPORT]
    r = client.post(JOBS.format(ns=ns), manifest)
    assert r.status == 201, r.text
    return r.json()


def running_pod(client: Client, ns: str, job: str) -> dict[str, Any]:
    return client.wait_for(
        f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3D{job}",
        lambda lst: bool(lst["items"]) and lst["items"][0]["status"].get("phase") == "Running",
        what="a running pod")["items"][0]


def release(client: Client, path: str) -> dict[str, Any]:
    """What the worker does once it has reported: drop its finalizer, if nothing changed since."""
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    r = client.patch(path, {"metadata": {"finalizers": None, "resourceVersion": rv}})
    assert r.status == 200, r.text
    return r.json()


def wait_no_pods(client: Client, ns: str, job: str) -> None:
    client.wait_for(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3D{job}",
                    lambda lst: lst["items"] == [], what=f"no pods of {job}")


def test_background_delete_of_a_held_job_keeps_it_and_its_running_pod(client: Client, ns: str) -> None:
    path = f"{JOBS.format(ns=ns)}/held"
    held_job(client, ns, "held", ["sh", "-c", "sleep 60"])
    pod = running_pod(client, ns, "held")
    pod_path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}"
    before = client.get(path).json()["metadata"]["resourceVersion"]

    r = client.delete(path + "?propagationPolicy=Background")
    assert r.status == 200, r.text
    deleting = r.json()
    md = deleting["metadata"]
    assert md["deletionTimestamp"] and md["deletionGracePeriodSeconds"] == 0 and md["finalizers"] == [REPORT]
    assert md["generation"] == 2  # as the registry's markAsDeleting bumps it

    # Still readable and listable; a second DELETE changes nothing, not even the resourceVersion.
    assert client.get(path).json()["metadata"]["deletionTimestamp"] == md["deletionTimestamp"]
    assert "held" in [j["metadata"]["name"] for j in client.get(JOBS.format(ns=ns)).json()["items"]]
    again = client.delete(path, {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
    assert again.status == 200 and again.json()["metadata"] == md

    # No new finalizer once deletion started (the API server's message, word for word).
    r = client.patch(path, {"metadata": {"finalizers": [REPORT, "example.com/other"]}})
    assert r.status == 422
    assert r.json()["message"] == (
        'Job.batch "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the '
        'object is being deleted, found new finalizers []string{"example.com/other"}')

    # The Job controller lets go of the pod (its tracking finalizer goes), the garbage collector
    # leaves it alone while its owner exists: it keeps running.
    client.wait_for(pod_path, lambda p: "finalizers" not in p["metadata"], what="tracking finalizer removed")
    time.sleep(1.0)  # a window for a wrong deletion to show (several controller resyncs fit in it)
    pod = client.get(pod_path).json()
    assert pod["status"]["phase"] == "Running" and "deletionTimestamp" not in pod["metadata"]

    # A stale precondition conflicts; the current one releases the Job, which goes at once.
    r = client.patch(path, {"metadata": {"finalizers": None, "resourceVersion": before}})
    assert r.status == 409
    released = release(client, path)
    assert "finalizers" not in released["metadata"]
    assert client.get(path).status == 404
    events = client.watch_until(f"{JOBS.format(ns=ns)}?resourceVersion={before}", lambda ev: ev["type"] == "DELETED")
    assert [ev["type"] for ev in events][0] == "MODIFIED" and events[0]["object"]["metadata"]["deletionTimestamp"]
    # As etcd reports a deletion: the last stored state, at the deletion's resourceVersion.
    last = events[-1]["object"]["metadata"]
    assert last["finalizers"] == [REPORT] and int(last["resourceVersion"]) > int(released["metadata"]["resourceVersion"])

    # Only now does the garbage collector delete the pod.
    client.wait_gone(pod_path)


def test_foreground_delete_removes_pods_while_the_finalizer_holds_the_job(client: Client, ns: str) -> None:
    path = f"{JOBS.format(ns=ns)}/fg"
    held_job(client, ns, "fg", ["sh", "-c", "sleep 60"])
    running_pod(client, ns, "fg")
    r = client.delete(path, {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})
    assert r.status == 200
    assert r.json()["metadata"]["finalizers"] == [REPORT, "foregroundDeletion"]
    wait_no_pods(client, ns, "fg")
    job = client.wait_for(path, lambda j: j["metadata"]["finalizers"] == [REPORT], what="foregroundDeletion gone")
    assert job["metadata"]["deletionTimestamp"]
    # A JSON patch guarded by a test of the resourceVersion, the other way to release.
    rv = job["metadata"]["resourceVersion"]
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
           {"op": "remove", "path": "/metadata/finalizers"}]
    r = client.patch(path, ops, content_type="application/json-patch+json")
    assert r.status == 200, r.text
    assert client.get(path).status == 404


def test_orphan_delete_of_a_held_job_leaves_its_pod_running(client: Client, ns: str) -> None:
    path = f"{JOBS.format(ns=ns)}/orph"
    held_job(client, ns, "orph", ["sh", "-c", "sleep 60"])
    pod = running_pod(client, ns, "orph")
    pod_path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}"
    r = client.delete(path + "?propagationPolicy=Orphan")
    assert r.json()["metadata"]["finalizers"] == [REPORT, "orphan"]
    orphan = client.wait_for(pod_path, lambda p: "ownerReferences" not in p["metadata"], what="orphaned pod")
    assert orphan["status"]["phase"] == "Running"
    client.wait_for(path, lambda j: j["metadata"]["finalizers"] == [REPORT], what="orphan finalizer gone")
    release(client, path)
    assert client.get(path).status == 404
    time.sleep(0.5)  # a window for a wrong deletion to show
    assert client.get(pod_path).json()["status"]["phase"] == "Running"
    assert client.delete(pod_path).status == 200
    client.wait_gone(pod_path)


def test_ttl_deletes_a_held_job_in_the_foreground(client: Client, ns: str) -> None:
    path = f"{JOBS.format(ns=ns)}/ttl"
    held_job(client, ns, "ttl", ["true"], ttlSecondsAfterFinished=0)
    job = client.wait_for(path, lambda j: bool(j["metadata"].get("deletionTimestamp")), what="TTL deletion")
    assert any(c["type"] == "Complete" for c in job["status"]["conditions"])
    wait_no_pods(client, ns, "ttl")
    client.wait_for(path, lambda j: j["metadata"]["finalizers"] == [REPORT], what="foregroundDeletion gone")
    release(client, path)
    assert client.get(path).status == 404


def test_a_deleting_job_stops_counting_its_pods(client: Client, ns: str) -> None:
    # As upstream: once the Job has a deletionTimestamp its pods lose the tracking finalizer at
    # the next sync, and a pod that finishes after that is not counted; no Complete condition.
    path = f"{JOBS.format(ns=ns)}/late"
    held_job(client, ns, "late", ["sh", "-c", "sleep 2"])
    pod = running_pod(client, ns, "late")
    assert client.delete(path + "?propagationPolicy=Background").status == 200
    pod_path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}"
    client.wait_for(pod_path, lambda p: p["status"]["phase"] == "Succeeded", what="the pod finishing")
    job = client.wait_for(path, lambda j: j["status"].get("active", 0) == 0, what="no active pod")
    assert "succeeded" not in job["status"]
    assert not any(c["type"] in ("Complete", "SuccessCriteriaMet") for c in job["status"].get("conditions", []))
    release(client, path)
    client.wait_gone(pod_path)


@pytest.mark.parametrize("deleting", [False, True], ids=["running", "held-and-deleting"])
def test_shortened_active_deadline_fails_the_job_and_kills_its_pod(client: Client, ns: str, deleting: bool) -> None:
    # The worker's cancel: set activeDeadlineSeconds low and let the Job controller stop it.
    path = f"{JOBS.format(ns=ns)}/cancel"
    held_job(client, ns, "cancel", ["sh", "-c", "sleep 60"], activeDeadlineSeconds=3600)
    pod = running_pod(client, ns, "cancel")
    if deleting:
        assert client.delete(path + "?propagationPolicy=Background").status == 200
    r = client.patch(path, {"spec": {"activeDeadlineSeconds": 1}})
    assert r.status == 200, r.text
    job = client.job_condition(ns, "cancel", "Failed", timeout=15)
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert job["status"].get("active", 0) == 0 and job["status"]["terminating"] == 0
    pod_path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}"
    client.wait_gone(pod_path)  # killed, and no finalizer keeps it
    release(client, path)
    if deleting:
        assert client.get(path).status == 404


def test_a_pod_with_a_finalizer_stays_after_its_container_stopped(client: Client, ns: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "held-pod", "finalizers": ["example.com/hold"]},
           "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "sleep 60"]}]}}
    path = f"/api/v1/namespaces/{ns}/pods/held-pod"
    assert client.post(f"/api/v1/namespaces/{ns}/pods", pod).status == 201
    client.wait_for(path, lambda p: p["status"].get("phase") == "Running", what="running")
    r = client.delete(path)
    assert r.status == 200 and r.json()["metadata"]["deletionGracePeriodSeconds"] == 1
    stopped = client.wait_for(path, lambda p: p["metadata"]["deletionGracePeriodSeconds"] == 0,
                              what="the kubelet's final delete")
    assert stopped["status"]["phase"] == "Failed" and stopped["metadata"]["finalizers"] == ["example.com/hold"]
    release(client, path)
    assert client.get(path).status == 404

"""`GET /_sim/requests`: what a client sent, exactly, and which requests it made for an object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simkit import Client, SimProcess, job_manifest

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
CMS = "/api/v1/namespaces/{ns}/configmaps"


def log(client: Client, **filters: Any) -> list[dict[str, Any]]:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    entries: list[dict[str, Any]] = client.admin("/_sim/requests" + (f"?{query}" if query else ""))["requests"]
    return entries


def test_create_bodies_are_kept_as_received(client: Client, ns: str) -> None:
    """The body is what the client POSTed: the unknown field the API server drops (with a
    Warning) and the defaults it adds do not show."""
    job = job_manifest("recorded", ["true"])
    job["spec"]["template"]["spec"]["containers"][0]["notAField"] = 7
    r = client.post(JOBS.format(ns=ns), job)
    assert r.status == 201, r.text
    assert "notAField" in r.headers.get("Warning", "")
    stored = r.json()
    assert "notAField" not in stored["spec"]["template"]["spec"]["containers"][0]
    assert stored["spec"]["backoffLimit"] == 6

    entries = log(client, verb="create", resource="jobs", namespace=ns)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert entry["body"] == job
    assert (entry["method"], entry["path"], entry["code"]) == ("POST", JOBS.format(ns=ns), 201)
    assert (entry["resource"], entry["namespace"], entry["name"], entry["subresource"]) == ("jobs", ns, None, None)
    assert entry["time"].endswith("Z") and isinstance(entry["seq"], int)
    assert entry["uid"] == stored["metadata"]["uid"]

    # A second create of the same name is logged too, with the API server's answer.
    assert client.post(JOBS.format(ns=ns), job).status == 409
    again = log(client, verb="create", resource="jobs", namespace=ns)
    assert [e["code"] for e in again] == [201, 409]
    assert "uid" not in again[1]
    client.delete(f"{JOBS.format(ns=ns)}/recorded?propagationPolicy=Background")


def test_every_counted_request_is_logged_with_its_verb(client: Client, ns: str) -> None:
    start = client.admin("/_sim/requests?limit=0")["seq"]
    path = CMS.format(ns=ns)
    client.post(path, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    client.get(path)
    client.get(f"{path}/c")
    client.get(f"{path}/missing")
    client.patch(f"{path}/c", {"data": {"k": "w"}})
    client.put(f"{path}/c", {"metadata": {"name": "c"}, "data": {"k": "x"}})
    watch = client.stream(f"{path}?watch=1&timeoutSeconds=1")
    list(watch.events())
    watch.close()
    client.delete(f"{path}/c")
    client.get("/version")
    client.get("/_sim/stats")  # the admin API is never logged

    entries = log(client, since=start)
    mine = [(e["method"], e["verb"], e["name"], e["code"]) for e in entries if e["namespace"] == ns]
    assert mine == [
        ("POST", "create", None, 201),
        ("GET", "list", None, 200),
        ("GET", "get", "c", 200),
        ("GET", "get", "missing", 404),
        ("PATCH", "patch", "c", 200),
        ("PUT", "update", "c", 200),
        ("GET", "watch", None, 200),
        ("DELETE", "delete", "c", 200),
    ]
    assert [e["body"] for e in entries if e["namespace"] == ns and e["method"] == "PATCH"] == [{"data": {"k": "w"}}]
    assert all("body" not in e for e in entries if e["method"] == "GET")
    assert any(e["path"] == "/version" and e["verb"] is None for e in entries)
    assert not any(e["path"].startswith("/_sim") for e in entries)
    # Filters combine; `name` picks one object's requests.
    assert [e["verb"] for e in log(client, since=start, namespace=ns, name="c")] == ["get", "patch", "update", "delete"]
    assert [e["verb"] for e in log(client, since=start, namespace=ns, limit=2)] == ["watch", "delete"]


def test_pod_log_reads_are_gets_of_the_log_subresource(client: Client, ns: str) -> None:
    job = job_manifest("logged", ["sh", "-c", "echo hello"], image="busybox")
    assert client.post(JOBS.format(ns=ns), job).status == 201
    client.job_condition(ns, "logged", "Complete")
    pod = client.pods_of(ns, "logged")[0]["metadata"]["name"]
    assert client.get(f"/api/v1/namespaces/{ns}/pods/{pod}/log").text.strip() == "hello"
    entries = log(client, namespace=ns, subresource="log")
    assert [(e["verb"], e["resource"], e["name"]) for e in entries] == [("get", "pods", pod)]
    client.delete(f"{JOBS.format(ns=ns)}/logged?propagationPolicy=Background")


def test_reset_and_clear_empty_the_log(client: Client, ns: str) -> None:
    client.get(CMS.format(ns=ns))
    assert log(client, namespace=ns)
    client.admin("/_sim/stats/reset", {})
    assert log(client) == []
    client.get(CMS.format(ns=ns))
    assert len(log(client, namespace=ns)) == 1
    before = client.admin("/_sim/requests")["seq"]
    client.admin("/_sim/requests/clear", {})
    after = client.admin("/_sim/requests")
    assert after["requests"] == [] and after["seq"] == before  # sequence numbers go on


def test_the_log_is_bounded(sim_factory: Callable[..., SimProcess]) -> None:
    sim = sim_factory("--request-log", "3")
    for i in range(5):
        sim.client.get(f"/api/v1/namespaces/n{i}/configmaps")
    entries = log(sim.client)
    assert [e["namespace"] for e in entries] == ["n2", "n3", "n4"]
    assert [e["seq"] for e in entries] == [3, 4, 5]
    r = sim.client.get("/_sim/requests?since=x")
    assert r.status == 400

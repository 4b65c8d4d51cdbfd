"""REST semantics: create/get/list, Status errors, resourceVersion preconditions, patches,
selectors, validation, deletion, discovery."""

from __future__ import annotations

import base64

from simkit import Client, job_manifest

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"


def cm(name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict:
    body: dict = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {"k": "v"}}
    if labels:
        body["metadata"]["labels"] = labels
    return body


def test_create_get_list_job_shapes(client: Client, ns: str) -> None:
    r = client.post(JOBS.format(ns=ns), job_manifest("shape", ["sh", "-c", "exit 0"], suspend=True))
    assert r.status == 201, r.text
    job = r.json()
    md = job["metadata"]
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    assert md["namespace"] == ns and md["generation"] == 1
    assert md["creationTimestamp"].endswith("Z") and len(md["creationTimestamp"]) == 20
    assert int(md["resourceVersion"]) > 0 and len(md["uid"]) == 36
    spec = job["spec"]
    assert spec["parallelism"] == 1 and spec["completions"] == 1 and spec["backoffLimit"] == 6
    assert spec["completionMode"] == "NonIndexed" and spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": md["uid"]}}
    labels = spec["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "shape" and labels["controller-uid"] == md["uid"]
    c = spec["template"]["spec"]["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log" and c["imagePullPolicy"] == "Always"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 30

    got = client.get(f"{JOBS.format(ns=ns)}/shape").json()
    assert got["metadata"]["uid"] == md["uid"]
    lst = client.get(JOBS.format(ns=ns)).json()
    assert lst["kind"] == "JobList" and lst["apiVersion"] == "batch/v1"
    assert int(lst["metadata"]["resourceVersion"]) >= int(md["resourceVersion"])
    assert [i["metadata"]["name"] for i in lst["items"]] == ["shape"]
    all_ns = client.get("/apis/batch/v1/jobs").json()
    assert any(i["metadata"]["namespace"] == ns for i in all_ns["items"])
    status = client.get(f"{JOBS.format(ns=ns)}/shape/status").json()
    assert status["metadata"]["name"] == "shape"


def test_status_errors(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert client.post(path, cm("dup")).status == 201
    r = client.post(path, cm("dup"))
    assert r.status == 409
    assert r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "dup" already exists', "reason": "AlreadyExists",
        "details": {"name": "dup", "kind": "configmaps"}, "code": 409,
    }
    r = client.get(f"{JOBS.format(ns=ns)}/missing")
    assert r.status == 404
    assert r.json()["reason"] == "NotFound"
    assert r.json()["message"] == 'jobs.batch "missing" not found'
    assert r.json()["details"] == {"name": "missing", "group": "batch", "kind": "jobs"}
    assert client.get("/api/v1/nonsense").status == 404


def test_validation_422(client: Client, ns: str) -> None:
    bad = job_manifest("Bad_Name", ["true"])
    r = client.post(JOBS.format(ns=ns), bad)
    assert r.status == 422
    body = r.json()
    assert body["reason"] == "Invalid" and body["details"]["kind"] == "Job" and body["details"]["group"] == "batch"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"

    long = job_manifest("a" * 64, ["true"])
    r = client.post(JOBS.format(ns=ns), long)
    assert r.status == 422 and "must be no more than 63 characters" in r.text

    no_containers = job_manifest("empty", ["true"])
    no_containers["spec"]["template"]["spec"]["containers"] = []
    r = client.post(JOBS.format(ns=ns), no_containers)
    causes = r.json()["details"]["causes"]
    assert r.status == 422
    assert {"reason": "FieldValueRequired", "message": "Required value",
            "field": "spec.template.spec.containers"} in causes

    always = job_manifest("always", ["true"], pod={"restartPolicy": "Always"})
    r = client.post(JOBS.format(ns=ns), always)
    assert r.status == 422
    assert r.json()["details"]["causes"][0]["field"] == "spec.template.spec.restartPolicy"

    indexed = job_manifest("idx", ["true"], completionMode="Indexed", parallelism=2)
    r = client.post(JOBS.format(ns=ns), indexed)
    assert r.status == 422
    assert r.json()["message"] == 'Job.batch "idx" is invalid: spec.completions: Required value: when completion mode is Indexed'

    nameless = job_manifest("", ["true"])
    r = client.post(JOBS.format(ns=ns), nameless)
    assert r.status == 422
    assert r.json()["details"]["causes"][0]["message"] == "Required value: name or generateName is required"


def test_generate_name(client: Client, ns: str) -> None:
    body = cm("")
    body["metadata"] = {"generateName": "gen-"}
    r = client.post(f"/api/v1/namespaces/{ns}/configmaps", body)
    assert r.status == 201
    name = r.json()["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9


def test_unknown_fields_warn_and_strict(client: Client, ns: str) -> None:
    body = job_manifest("fields", ["true"], suspend=True)
    body["spec"]["bogus"] = 1
    r = client.post(JOBS.format(ns=ns), body)
    assert r.status == 201
    assert r.headers["Warning"] == '299 - "unknown field \\"spec.bogus\\""'
    assert "bogus" not in r.json()["spec"]
    body["metadata"]["name"] = "fields2"
    r = client.post(JOBS.format(ns=ns) + "?fieldValidation=Strict", body)
    assert r.status == 400 and r.json()["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.bogus"' in r.json()["message"]
    body["spec"].pop("bogus")
    body["spec"]["backoffLimit"] = "three"
    r = client.post(JOBS.format(ns=ns), body)
    assert r.status == 400 and "cannot unmarshal string" in r.json()["message"]


def test_put_conflict_and_generation(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = client.post(path, cm("c1")).json()
    stale = dict(created)
    first = dict(created, data={"k": "v2"})
    r = client.put(f"{path}/c1", first)
    assert r.status == 200 and r.json()["data"] == {"k": "v2"}
    assert int(r.json()["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    r = client.put(f"{path}/c1", dict(stale, data={"k": "v3"}))
    assert r.status == 409
    body = r.json()
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "c1": the object has been modified; '
                               'please apply your changes to the latest version and try again')
    # Jobs: a spec change bumps generation; a status-only write through PUT is ignored.
    client.post(JOBS.format(ns=ns), job_manifest("gen", ["true"], suspend=True))
    client.job_condition(ns, "gen", "Suspended")
    job = client.get(f"{JOBS.format(ns=ns)}/gen").json()
    job["spec"]["suspend"] = True
    job["metadata"]["labels"] = {"x": "y"}
    job["status"] = {"active": 99}
    r = client.put(f"{JOBS.format(ns=ns)}/gen", job)
    assert r.status == 200, r.text
    assert r.json()["metadata"]["generation"] == 1 and r.json()["status"].get("active") is None
    job = r.json()
    job["spec"]["activeDeadlineSeconds"] = 100
    r = client.put(f"{JOBS.format(ns=ns)}/gen", job)
    assert r.json()["metadata"]["generation"] == 2
    job = r.json()
    job["spec"]["completionMode"] = "Indexed"
    r = client.put(f"{JOBS.format(ns=ns)}/gen", job)
    assert r.status == 422 and "field is immutable" in r.text


def test_patches(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = client.post(path, cm("p", {"a": "1", "b": "2"})).json()
    rv = created["metadata"]["resourceVersion"]
    r = client.patch(f"{path}/p", {"data": {"a": None, "c": "3"}, "metadata": {"labels": {"l": "v"}}})
    assert r.status == 200, r.text
    assert r.json()["data"] == {"b": "2", "c": "3"} and r.json()["metadata"]["labels"] == {"l": "v"}
    # A stale resourceVersion in the patch is a conflict.
    r = client.patch(f"{path}/p", {"metadata": {"resourceVersion": rv}, "data": {"x": "y"}})
    assert r.status == 409 and r.json()["reason"] == "Conflict"
    # JSON patch with test/replace/add/remove.
    ops = [{"op": "test", "path": "/data/b", "value": "2"}, {"op": "replace", "path": "/data/b", "value": "22"},
           {"op": "add", "path": "/data/d", "value": "4"}, {"op": "remove", "path": "/data/c"}]
    r = client.patch(f"{path}/p", ops, content_type="application/json-patch+json")
    assert r.status == 200, r.text
    assert r.json()["data"] == {"b": "22", "d": "4"}
    r = client.patch(f"{path}/p", [{"op": "test", "path": "/data/b", "value": "nope"}],
                     content_type="application/json-patch+json")
    assert r.status == 422
    r = client.patch(f"{path}/p", {"data": {}}, content_type="text/plain")
    assert r.status == 415
    assert client.patch(f"{path}/missing", {"data": {}}).status == 404


def test_strategic_merge_patch_merges_lists_by_key(client: Client, ns: str) -> None:
    manifest = job_manifest("smp", ["true"], suspend=True,
                            container={"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]})
    assert client.post(JOBS.format(ns=ns), manifest).status == 201
    patch = {"metadata": {"annotations": {"note": "x"}}, "spec": {"suspend": True}}
    r = client.patch(f"{JOBS.format(ns=ns)}/smp", patch, content_type="application/strategic-merge-patch+json")
    assert r.status == 200, r.text
    assert r.json()["metadata"]["annotations"] == {"note": "x"}
    # Pods: env merged by name.
    job = r.json()
    assert job["spec"]["template"]["spec"]["containers"][0]["env"][1] == {"name": "B", "value": "2"}


def test_secrets_string_data(client: Client, ns: str) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"user": "alice"}, "data": {"pw": base64.b64encode(b"pw").decode()}}
    r = client.post(f"/api/v1/namespaces/{ns}/secrets", body)
    assert r.status == 201
    got = r.json()
    assert "stringData" not in got and got["type"] == "Opaque"
    assert base64.b64decode(got["data"]["user"]) == b"alice"
    assert base64.b64decode(got["data"]["pw"]) == b"pw"


def test_label_and_field_selectors(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    client.post(path, cm("a", labels={"app": "x", "tier": "web"}))
    client.post(path, cm("b", labels={"app": "y"}))
    client.post(path, cm("c"))

    def names(query: str) -> list[str]:
        r = client.get(f"{path}?{query}")
        assert r.status == 200, r.text
        return [i["metadata"]["name"] for i in r.json()["items"]]

    assert names("labelSelector=app%3Dx") == ["a"]
    assert names("labelSelector=app%3D%3Dy") == ["b"]
    assert names("labelSelector=app!%3Dx") == ["b", "c"]
    assert names("labelSelector=app") == ["a", "b"]
    assert names("labelSelector=!app") == ["c"]
    assert names("labelSelector=app%20in%20(x,y)") == ["a", "b"]
    assert names("labelSelector=app%20notin%20(x)") == ["b", "c"]
    assert names("labelSelector=app%3Dx,tier%3Dweb") == ["a"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert names("fieldSelector=metadata.name!%3Db") == ["a", "c"]
    assert client.get(f"{path}?fieldSelector=spec.bogus%3D1").status == 400
    r = client.get(f"{path}?limit=2")
    assert len(r.json()["items"]) == 2 and r.json()["metadata"]["continue"]
    r2 = client.get(f"{path}?limit=2&continue={r.json()['metadata']['continue']}")
    assert [i["metadata"]["name"] for i in r2.json()["items"]] == ["c"]


def test_delete_returns_status_and_namespaces(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    created = client.post(path, cm("d")).json()
    r = client.delete(f"{path}/d")
    assert r.status == 200
    assert r.json()["status"] == "Success" and r.json()["details"]["uid"] == created["metadata"]["uid"]
    assert client.delete(f"{path}/d").status == 404
    nss = client.get("/api/v1/namespaces").json()
    names = [n["metadata"]["name"] for n in nss["items"]]
    assert "default" in names and ns in names
    one = client.get(f"/api/v1/namespaces/{ns}").json()
    assert one["status"]["phase"] == "Active"
    events = client.get(f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name%3Dx")
    assert events.status == 200 and events.json()["items"] == []


def test_discovery(client: Client) -> None:
    version = client.get("/version").json()
    assert version["gitVersion"] == "v1.31.0" and version["platform"] == "linux/amd64"
    assert client.get("/api").json()["versions"] == ["v1"]
    groups = client.get("/apis").json()
    assert groups["groups"][0]["name"] == "batch"
    batch = client.get("/apis/batch/v1").json()
    names = {r["name"] for r in batch["resources"]}
    assert {"jobs", "jobs/status"} <= names
    core = {r["name"]: r for r in client.get("/api/v1").json()["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and "pods/log" in core
    index = client.get("/openapi/v3").json()
    url = index["paths"]["apis/batch/v1"]["serverRelativeURL"]
    doc = client.get(url).json()
    assert "io.k8s.api.batch.v1.Job" in doc["components"]["schemas"]
    r = client.get("/apis/batch/v1/namespaces/default/jobs", headers={"Accept": "application/vnd.kubernetes.protobuf, application/json"})
    assert r.headers["Content-Type"] == "application/json"
    table = client.get("/apis/batch/v1/namespaces/default/jobs",
                       headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Status", "Completions", "Duration", "Age"]

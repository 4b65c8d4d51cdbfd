"""The chart's hooks: the post-delete Job that removes the worker's finalizer from the Jobs an
uninstalled worker leaves behind, and the `helm test` pod. Their shape (least privilege,
restricted pods, what they are given), and what they do: the hook's script with the real
`kubectl` against the Kubernetes API simulator, the test's script against the local RabbitMQ
and a real worker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import CHART, RENDER_CASES, Render, Tools, kube_call, render_chart

FINALIZER = "cloud-worker.io/report"
HOOK_DELETE_POLICY = "before-hook-creation,hook-succeeded"
CASES = list(RENDER_CASES)


def render_with(tools: Tools, values: dict[str, Any], namespace: str = "x") -> Render:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        rendered = render_chart(tools, Path(f.name), namespace, "cloud-worker")
    return Render(name="adhoc", namespace=namespace, release="cloud-worker", manifest=rendered["manifest"],
                  notes=rendered["notes"], created=rendered["created"], hook_manifests=rendered["hooks"])


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def cleanup_hooks(render: Render) -> list[dict[str, Any]]:
    return [h for h in render.hooks if h["metadata"]["annotations"]["helm.sh/hook"] == "post-delete"]


# MARK: - the finalizer hook, as rendered


@pytest.mark.parametrize("case", CASES)
def test_finalizer_hook_is_least_privilege(renders: dict[str, Render], case: str) -> None:
    render = renders[case]
    jobs_namespace = render.one("ConfigMap")["data"]["CLOUD_WORKER_NAMESPACE"]
    hooks = {h["kind"]: h for h in cleanup_hooks(render)}
    assert sorted(hooks) == ["Job", "Role", "RoleBinding", "ServiceAccount"]
    for hook in hooks.values():
        assert hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == HOOK_DELETE_POLICY
    weight = {kind: int(h["metadata"]["annotations"]["helm.sh/hook-weight"]) for kind, h in hooks.items()}
    assert weight["ServiceAccount"] < weight["RoleBinding"] < weight["Job"] and weight["Role"] < weight["RoleBinding"]

    account, role, binding, job = hooks["ServiceAccount"], hooks["Role"], hooks["RoleBinding"], hooks["Job"]
    assert account["metadata"]["namespace"] == job["metadata"]["namespace"] == render.namespace
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == jobs_namespace
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "patch"]}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": render.namespace}]
    assert account["automountServiceAccountToken"] is False
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is True and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["command"] == ["/bin/bash", "-c"]
    assert env_of(container)["JOB_NAMESPACE"] == jobs_namespace
    assert env_of(container)["FINALIZER"] == FINALIZER


def test_finalizer_hook_image_and_selector(renders: dict[str, Render]) -> None:
    default = renders["default"].hook("Job", "post-delete")["spec"]["template"]["spec"]["containers"][0]
    assert default["image"] == "registry.k8s.io/kubectl:v1.34.1"
    assert env_of(default)["JOB_SELECTOR"] == \
        "app.kubernetes.io/managed-by=cloud-worker,cloud-worker.io/pool=cloud-worker.requests"
    custom = renders["custom"].hook("Job", "post-delete")["spec"]["template"]["spec"]["containers"][0]
    assert custom["image"] == ("registry.example.com/mirror/kubectl@sha256:"
                               "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
    assert env_of(custom)["JOB_SELECTOR"].endswith(",cloud-worker.io/pool=batch.requests")


@pytest.mark.parametrize(
    ("queue", "label"),
    [
        ("Batch Requests!", "batch-requests"),  # not a label value: sanitised as the worker does
        ("_private.queue_", "private-queue"),
        ("q" * 70, "q" * 63),
        ("Team_A.requests-1", "Team_A.requests-1"),  # a valid label value stays as it is
    ],
)
def test_finalizer_hook_selects_the_pool_label_the_worker_sets(tools: Tools, queue: str, label: str) -> None:
    """JobSpecBuilder's pool label: the queue name, or JobNaming.sanitised(queue, 63)."""
    job = render_with(tools, {"amqp": {"requestQueue": queue}}).hook("Job", "post-delete")
    selector = env_of(job["spec"]["template"]["spec"]["containers"][0])["JOB_SELECTOR"]
    assert selector == f"app.kubernetes.io/managed-by=cloud-worker,cloud-worker.io/pool={label}"


def test_finalizer_hook_can_be_turned_off(tools: Tools) -> None:
    render = render_with(tools, {"finalizerCleanup": {"enabled": False}})
    assert not cleanup_hooks(render)


# MARK: - the finalizer hook, run


@pytest.fixture()
def sim_namespace(kube_service: str) -> Iterator[str]:
    namespace = f"hook-{uuid.uuid4().hex[:8]}"
    status, body = kube_call(kube_service, "POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    assert status == 201, body
    yield namespace
    kube_call(kube_service, "DELETE", f"/api/v1/namespaces/{namespace}")


def make_job(server: str, namespace: str, name: str, pool: str, finalizers: list[str]) -> None:
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "finalizers": finalizers,
                     "labels": {"app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/pool": pool}},
        # Suspended: the simulator's kubelet runs no pod for it.
        "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "busybox:latest", "command": ["true"]}]}}},
    }
    status, body = kube_call(server, "POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    assert status == 201, body


def job_finalizers(server: str, namespace: str, name: str) -> list[str] | None:
    """The Job's finalizers, or None once it is gone."""
    status, body = kube_call(server, "GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    if status == 404:
        return None
    assert status == 200, body
    finalizers: list[str] = body["metadata"].get("finalizers") or []
    return finalizers


def test_finalizer_hook_frees_exactly_this_pools_jobs(renders: dict[str, Render], kube_service: str,
                                                      sim_namespace: str, tmp_path: Path) -> None:
    """The hook's script, run by bash with the real kubectl against the simulator: our finalizer
    goes from this pool's Jobs (a Terminating one then disappears), other finalizers and other
    pools' Jobs are left alone, and kubectl calls exactly what the hook's Role grants."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on PATH (scripts/install-deps.sh installs it)"
    job = renders["default"].hook("Job", "post-delete")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    pool = env["JOB_SELECTOR"].rsplit("=", 1)[1]
    make_job(kube_service, sim_namespace, "ours", pool, [FINALIZER, "example.com/keep"])
    make_job(kube_service, sim_namespace, "ours-done", pool, [])
    make_job(kube_service, sim_namespace, "ours-terminating", pool, [FINALIZER])
    make_job(kube_service, sim_namespace, "other-pool", "other.requests", [FINALIZER])
    status, body = kube_call(kube_service, "DELETE", f"/apis/batch/v1/namespaces/{sim_namespace}/jobs/ours-terminating")
    assert status in (200, 202), body
    assert job_finalizers(kube_service, sim_namespace, "ours-terminating") == [FINALIZER]  # Terminating

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sim",
        "clusters": [{"name": "sim", "cluster": {"server": kube_service}}],
        "users": [{"name": "sim", "user": {}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}],
    }))
    _, log = kube_call(kube_service, "GET", "/_sim/requests?limit=1")
    since = log["seq"]
    result = subprocess.run(
        ["bash", "-c", container["args"][0]],
        env={**env, "PATH": f"{Path(kubectl).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path),
             "KUBECONFIG": str(kubeconfig), "JOB_NAMESPACE": sim_namespace},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed {FINALIZER} from 2 Job(s) in namespace {sim_namespace}" in result.stdout

    query = urllib.parse.urlencode({"since": since, "namespace": sim_namespace, "resource": "jobs"})
    _, log = kube_call(kube_service, "GET", f"/_sim/requests?{query}")
    granted = set(renders["default"].hook("Role", "post-delete")["rules"][0]["verbs"])
    assert {entry["verb"] for entry in log["requests"]} == granted, log["requests"]

    assert job_finalizers(kube_service, sim_namespace, "ours") == ["example.com/keep"]
    assert job_finalizers(kube_service, sim_namespace, "ours-done") == []
    assert job_finalizers(kube_service, sim_namespace, "ours-terminating") is None
    assert job_finalizers(kube_service, sim_namespace, "other-pool") == [FINALIZER]


# MARK: - helm test


@pytest.mark.parametrize("case", CASES)
def test_helm_test_pod(renders: dict[str, Render], case: str) -> None:
    render = renders[case]
    script, pod = render.hook("ConfigMap", "test"), render.hook("Pod", "test")
    for hook in (script, pod):
        assert hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == HOOK_DELETE_POLICY
    assert script["data"]["helm-test.py"] == (CHART / "files" / "helm-test.py").read_text(encoding="utf-8")
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    assert spec["securityContext"]["runAsNonRoot"] is True
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "script", "configMap": {"name": script["metadata"]["name"]}} in spec["volumes"]
    env = env_of(container)
    worker_env = {e["name"]: e.get("valueFrom") for e in render.one("Deployment", render.one("ConfigMap")["metadata"]["name"])
                  ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AMQP_URL"] == worker_env["CLOUD_WORKER_AMQP_URL"]  # the same Secret
    data = render.one("ConfigMap")["data"]
    assert env["REQUEST_EXCHANGE"] == data["CLOUD_WORKER_REQUEST_EXCHANGE"]
    assert env["REQUEST_QUEUE"] == data["CLOUD_WORKER_REQUEST_QUEUE"]
    assert env["ROUTING_KEY"] == (data["CLOUD_WORKER_REQUEST_ROUTING_KEY"] or data["CLOUD_WORKER_REQUEST_QUEUE"])
    if case == "default":
        assert container["image"] == "python:3.13-alpine"
        assert env["JOB_IMAGE"] == "busybox:1.36" and env["BUCKET"] == "cloud-worker-helm-test"
        assert json.loads(env["JOB_COMMAND"]) == ["sh", "-c", "echo cloud-worker helm test"]


def test_helm_test_can_be_turned_off(tools: Tools) -> None:
    render = render_with(tools, {"tests": {"enabled": False}})
    assert not [h for h in render.hooks if h["metadata"]["annotations"]["helm.sh/hook"] == "test"]


def run_helm_test(render: Render, **env: str) -> subprocess.CompletedProcess[str]:
    """The test pod's script as the pod would run it, with the pod's environment and ENV."""
    container = render.hook("Pod", "test")["spec"]["containers"][0]
    pod_env = {k: v for k, v in env_of(container).items() if isinstance(v, str)}
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "helm-test.py"
        script.write_text(render.hook("ConfigMap", "test")["data"]["helm-test.py"])
        return subprocess.run([sys.executable, str(script)], env={**os.environ, **pod_env, **env},
                              capture_output=True, text=True, timeout=240)


def test_helm_test_passes_against_a_running_worker(renders: dict[str, Render], worker: Any,
                                                   bucket_factory: Any, rabbitmq: str) -> None:
    """Publishes like a producer, the worker runs the tiny job (busybox in the simulator), and
    the reply says succeeded."""
    running = worker()
    bucket = bucket_factory("helm-test")
    result = run_helm_test(
        renders["default"], AMQP_URL=rabbitmq, REQUEST_EXCHANGE=running.names.exchange,
        REQUEST_QUEUE=running.names.request_queue, ROUTING_KEY=running.names.routing_key,
        BUCKET=bucket, JOB_IMAGE="busybox:latest",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: reply status 'succeeded'" in result.stdout
    reply = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert reply["jobName"] == "helm-test" and reply["outputBucket"] == bucket


def test_helm_test_fails_clearly_without_a_worker(renders: dict[str, Render], rabbitmq: str,
                                                  amqp_connection: Any) -> None:
    queue = f"cw-test-helm-{uuid.uuid4().hex[:8]}"
    amqp_connection.channel().queue_declare(queue, durable=False, auto_delete=False)
    try:
        result = run_helm_test(renders["default"], AMQP_URL=rabbitmq, REQUEST_EXCHANGE="",
                               REQUEST_QUEUE=queue, ROUTING_KEY=queue)
    finally:
        amqp_connection.channel().queue_delete(queue)
    assert result.returncode == 1
    assert f"FAIL: no worker consumes queue {queue!r}" in result.stderr


def test_helm_test_fails_clearly_on_a_missing_queue(renders: dict[str, Render], rabbitmq: str) -> None:
    result = run_helm_test(renders["default"], AMQP_URL=rabbitmq, REQUEST_QUEUE="cw-test-no-such-queue")
    assert result.returncode == 1
    assert "FAIL: the broker closed the channel: 404 NOT_FOUND" in result.stderr

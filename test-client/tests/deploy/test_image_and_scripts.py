"""The worker image (Dockerfile, .dockerignore) and the scripts: linted with hadolint and
shellcheck, and checked for what the deployment relies on. No Docker engine and no cluster
are needed: the e2e script's --dry-run prints the commands it would run."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from deploy_support import REPO_ROOT, RUN_DIR, Tools

DOCKERFILE = REPO_ROOT / "Dockerfile"
SAMPLE_JOB_DOCKERFILE = REPO_ROOT / "test-client" / "sample-job" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
E2E_SCRIPT = REPO_ROOT / "scripts" / "e2e-cluster.sh"


def stages(dockerfile: Path) -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped) grouped by FROM."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in dockerfile.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
    ))
    out: list[list[str]] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


# MARK: - linters


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, SAMPLE_JOB_DOCKERFILE], ids=["worker", "sample-job"])
def test_hadolint(tools: Tools, dockerfile: Path) -> None:
    hadolint = tools.tool("hadolint")
    assert os.access(hadolint, os.X_OK), f"hadolint is not installed at {hadolint}"
    result = subprocess.run([hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"hadolint {dockerfile}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("script", ["e2e-cluster.sh", "common.sh", "install-deps.sh", "services.sh", "demo.sh"])
def test_shellcheck(tools: Tools, script: str) -> None:
    shellcheck = tools.tool("shellcheck")
    assert os.access(shellcheck, os.X_OK), f"shellcheck is not installed at {shellcheck}"
    result = subprocess.run([shellcheck, "-x", script], capture_output=True, text=True, timeout=60,
                            cwd=E2E_SCRIPT.parent)
    assert result.returncode == 0, f"shellcheck {script}:\n{result.stdout}{result.stderr}"


# MARK: - the worker image


def test_dockerfile_builds_in_swift_and_runs_on_slim_debian() -> None:
    build, runtime = stages(DOCKERFILE)
    args = {m.group(1): m.group(2) for line in DOCKERFILE.read_text().splitlines()
            if (m := re.match(r"ARG (\w+)=(\S+)", line))}
    assert re.fullmatch(r"swift:6\.\d+-bookworm", args["SWIFT_IMAGE"]), args
    assert args["RUNTIME_IMAGE"] == "debian:bookworm-slim"
    assert build[0] == "FROM ${SWIFT_IMAGE} AS build"
    assert runtime[0] == "FROM ${RUNTIME_IMAGE}"
    build_text = " ".join(build)
    for package in ("librabbitmq-dev", "libcurl4-openssl-dev", "libssl-dev"):
        assert package in build_text
    assert "swift build -c release --static-swift-stdlib" in build_text


def test_runtime_stage_has_only_the_runtime_libraries() -> None:
    runtime = stages(DOCKERFILE)[-1]
    installs = [line for line in runtime if "apt-get install" in line]
    assert len(installs) == 1
    packages = set(re.split(r"\s+", installs[0].split("--no-install-recommends", 1)[1].split("&&", 1)[0].strip()))
    assert packages == {"librabbitmq4", "libcurl4", "libssl3", "ca-certificates"}
    assert "rm -rf /var/lib/apt/lists/*" in installs[0]


def test_runtime_stage_runs_the_worker_as_a_numeric_non_root_user() -> None:
    runtime = stages(DOCKERFILE)[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users == ["65532:65532"]
    assert 'ENTRYPOINT ["/usr/local/bin/cloud-worker"]' in runtime
    assert "EXPOSE 8080" in runtime
    assert not [line for stage in stages(DOCKERFILE) for line in stage if line.upper().startswith("HEALTHCHECK")]


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for pattern in (".build", ".build-*", ".run", ".git", "**/__pycache__", "**/.pytest_cache", "test-client"):
        assert pattern in ignored, pattern
    copied = {line.split()[1] for stage in stages(DOCKERFILE) for line in stage
              if line.startswith("COPY ") and "--from" not in line}
    for source in copied:
        assert source not in ignored, f"the Dockerfile copies {source}, which .dockerignore leaves out"
        assert (REPO_ROOT / source.replace("[d]", "d")).exists() or "[" in source, source
    # Package.swift names the test targets: SwiftPM wants their folders.
    assert "Tests" not in ignored and "Sources" not in ignored


# MARK: - scripts/e2e-cluster.sh


def run_e2e(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(E2E_SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": "python3", **(env or {})})


def test_e2e_script_help() -> None:
    result = run_e2e("--help")
    assert result.returncode == 0
    assert "Usage: scripts/e2e-cluster.sh" in result.stdout and "--dry-run" in result.stdout


def test_e2e_script_on_kind() -> None:
    result = run_e2e("--dry-run", "--context", "kind-ci", "--namespace", "e2e")
    assert result.returncode == 0, result.stderr
    commands = [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]
    expected_order = [
        f"docker build -t cloud-worker:e2e {REPO_ROOT}",
        f"docker build -t cloud-worker/sample-job:latest {REPO_ROOT}/test-client/sample-job",
        "kind load docker-image cloud-worker:e2e cloud-worker/sample-job:latest --name ci",
        "kubectl --context kind-ci create namespace e2e",
        "kubectl --context kind-ci -n e2e create secret generic cloud-worker-s3 --from-env-file",
        f"helm --kube-context kind-ci upgrade --install cloud-worker {REPO_ROOT}/charts/cloud-worker -n e2e "
        "--create-namespace --wait",
        "kubectl --context kind-ci -n e2e port-forward service/cloud-worker-rabbitmq 35672:5672",
        "kubectl --context kind-ci -n e2e port-forward service/cloud-worker-minio 39000:9000",
        # The project's Python environment (scripts/common.sh).
        f"{RUN_DIR}/venv/bin/python -m cloud_worker_client submit --image cloud-worker/sample-job:latest "
        "--job-name e2e-sample",
    ]
    assert len(commands) == len(expected_order), result.stdout
    for command, expected in zip(commands, expected_order, strict=True):
        assert command.startswith(expected), f"{command!r} does not start with {expected!r}"


def test_e2e_script_on_minikube_and_on_a_registry_cluster() -> None:
    minikube = run_e2e("--dry-run", "--context", "minikube")
    assert minikube.returncode == 0, minikube.stderr
    assert "+ minikube image load cloud-worker:e2e" in minikube.stdout
    assert "+ minikube image load cloud-worker/sample-job:latest" in minikube.stdout

    gke = run_e2e("--dry-run", "--context", "gke_project_zone_cluster", "--release", "demo",
                  env={"REGISTRY": "europe-docker.pkg.dev/project/repo"})
    assert gke.returncode == 0, gke.stderr
    assert "+ docker push europe-docker.pkg.dev/project/repo/cloud-worker:e2e" in gke.stdout
    assert "+ docker push europe-docker.pkg.dev/project/repo/cloud-worker/sample-job:latest" in gke.stdout
    assert "service/demo-cloud-worker-rabbitmq" in gke.stdout

    no_registry = run_e2e("--dry-run", "--context", "gke_project_zone_cluster", env={"REGISTRY": ""})
    assert no_registry.returncode != 0
    assert "set REGISTRY" in no_registry.stderr


def test_e2e_script_keeps_secrets_off_command_lines() -> None:
    text = E2E_SCRIPT.read_text(encoding="utf-8")
    assert "--from-literal" not in text
    assert "--s3-secret-access-key" not in text and "--amqp-url" not in text
    # The verdict is the reply's status, not the client's exit status alone.
    assert 'if [[ "$verdict" != succeeded ]]; then' in text

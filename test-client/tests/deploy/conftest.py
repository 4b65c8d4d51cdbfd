"""Fixtures of the deployment tests: the tools (installed once into .run/helm-venv), the chart
rendered with the default and the custom values, the schema check, and the worker binary's
own account of its settings and RBAC rules."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from deploy_support import (
    DEPLOY_TESTS,
    RBAC_CONFIG,
    RENDER_CASES,
    Render,
    Tools,
    install_tools,
    render_chart,
    worker_binary,
)


@pytest.fixture(scope="session")
def tools() -> Tools:
    return install_tools()


@pytest.fixture(scope="session")
def renders(tools: Tools) -> dict[str, Render]:
    out = {}
    for name, (values, namespace, release) in RENDER_CASES.items():
        rendered = render_chart(tools, values, namespace, release)
        out[name] = Render(name=name, namespace=namespace, release=release, manifest=rendered["manifest"],
                           notes=rendered["notes"], created=rendered["created"], hook_manifests=rendered["hooks"])
    return out


@pytest.fixture(scope="session")
def rbac_config_objects() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(RBAC_CONFIG.read_text(encoding="utf-8")) if doc]


@pytest.fixture(scope="session")
def validate(tools: Tools) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """validate(objects) -> one report per object (k8s_validate.py)."""

    def run(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = tools.run(str(DEPLOY_TESTS / "k8s_validate.py"), stdin=json.dumps(objects))
        assert result.returncode == 0, f"k8s_validate.py failed: {result.stderr}"
        reports: list[dict[str, Any]] = json.loads(result.stdout)
        return reports

    return run


def worker_output(*args: str) -> str:
    """What the worker binary prints for `args` (a --print-* option), failing the test when it cannot."""
    binary = worker_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: build it with `swift build` (or set CLOUD_WORKER_BIN)", pytrace=False)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.fail(f"{binary} {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}", pytrace=False)
    return result.stdout


@pytest.fixture(scope="session")
def worker_rbac_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = json.loads(worker_output("--print-rbac-rules"))
    return rules


@pytest.fixture(scope="session")
def worker_settings() -> list[dict[str, Any]]:
    """The worker's settings table: flag, variable, default, kind of every setting."""
    settings: list[dict[str, Any]] = json.loads(worker_output("--print-settings", "json"))
    return settings

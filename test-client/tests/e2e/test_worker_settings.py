"""Settings at start (SPEC §8): `--version`, and enumerated settings that refuse a value they do
not know, with the names they take, instead of running with the default."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from e2e_support import REPO_ROOT

pytestmark = pytest.mark.e2e


def run(binary: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")} | env
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30, env=environment)


def test_version_is_the_charts_app_version(worker_bin: Path) -> None:
    result = run(worker_bin, "--version")
    assert result.returncode == 0, result.stderr
    chart = (Path(REPO_ROOT) / "charts" / "cloud-worker" / "Chart.yaml").read_text()
    app_version = re.search(r'^appVersion: "([^"]+)"', chart, re.MULTILINE)
    assert app_version and result.stdout.strip() == app_version.group(1)


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--log-level", "warn"], {}, "CLOUD_WORKER_LOG_LEVEL (--log-level) must be one of trace, debug, info, notice, warning, "
                                  "error, critical, not 'warn'"),
    ([], {"CLOUD_WORKER_LOG_FORMAT": "JSON"}, "CLOUD_WORKER_LOG_FORMAT (--log-format) must be one of text, json, not 'JSON'"),
])
def test_a_bad_enumerated_value_stops_the_worker_at_start(
    worker_bin: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run(worker_bin, *args, **env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr

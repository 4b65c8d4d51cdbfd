"""scripts/install-deps.sh and scripts/services.sh as a new user meets them: the Python part
installs into a virtual environment made with Debian's own python3 (which refuses a system-wide
`pip install`), and the services script starts, reports and stops only what it started, on
ports of its own when the default ones are taken. Everything runs in throwaway folders and on
other ports, beside the services the other tests use."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from deploy_support import REPO_ROOT, worker_binary

INSTALL_DEPS = REPO_ROOT / "scripts" / "install-deps.sh"
SERVICES = REPO_ROOT / "scripts" / "services.sh"
DEMO = REPO_ROOT / "scripts" / "demo.sh"
DEBIAN_PYTHON = Path("/usr/bin/python3")


def run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


# MARK: - install-deps.sh on Debian's Python


def test_install_deps_python_part_works_with_debian_python(tmp_path: Path) -> None:
    assert DEBIAN_PYTHON.exists(), "this check needs Debian's /usr/bin/python3"
    stdlib = subprocess.run([str(DEBIAN_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    # PEP 668: this interpreter refuses `pip install` outside a virtual environment.
    assert (Path(stdlib) / "EXTERNALLY-MANAGED").exists()

    env = {"CLOUD_WORKER_RUN_DIR": str(tmp_path), "CLOUD_WORKER_BASE_PYTHON": str(DEBIAN_PYTHON)}
    first = run(["bash", str(INSTALL_DEPS), "--python-only"], env, timeout=900)
    assert first.returncode == 0, first.stdout[-4000:]
    assert "externally-managed-environment" not in first.stdout

    venv = tmp_path / "venv"
    config = (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in config
    assert f"home = {DEBIAN_PYTHON.parent}" in config
    for tool in ("python", "pip", "pytest", "weed", "kubectl", "cloud-worker-client"):
        assert os.access(venv / "bin" / tool, os.X_OK), tool
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import boto3, pika, cloud_worker_client; print(pika.__file__); print(cloud_worker_client.__file__)"],
        capture_output=True, text=True, timeout=60,
    )
    assert where.returncode == 0, where.stderr
    pika_file, client_file = where.stdout.split()
    assert pika_file.startswith(str(venv) + "/")  # nothing from the system's site packages
    assert client_file.startswith(str(REPO_ROOT / "test-client") + "/")  # editable, this checkout
    assert run([str(venv / "bin" / "cloud-worker-client"), "--help"], {}, timeout=60).returncode == 0

    again = run(["bash", str(INSTALL_DEPS), "--python-only"], env, timeout=300)
    assert again.returncode == 0 and "installed" in again.stdout and "installing into" not in again.stdout


def test_scripts_use_the_virtual_environment() -> None:
    """common.sh: PYTHON is the environment's interpreter and its bin folder leads PATH."""
    shown = subprocess.run(
        ["bash", "-c", f'source "{REPO_ROOT}/scripts/common.sh"; echo "$PYTHON"; echo "${{PATH%%:*}}"'],
        env={**os.environ, "CLOUD_WORKER_RUN_DIR": "/tmp/cw-run"}, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert shown == ["/tmp/cw-run/venv/bin/python", "/tmp/cw-run/venv/bin"]


# MARK: - services.sh on ports of its own


def free_ports(count: int) -> list[int]:
    """COUNT free ports p whose p + 10000 and p + 20000 are free too (gRPC and Erlang ports)."""
    found: list[int] = []
    for port in range(21000, 29000, 7):
        if all(port_free(p) for p in (port, port + 10000, port + 20000)):
            found.append(port)
            if len(found) == count:
                return found
    raise AssertionError("no free ports")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def service_states(env: dict[str, str]) -> list[list[str]]:
    """[name, running|stopped] of each service `services.sh status` lists."""
    return [line.split()[:2] for line in run(["bash", str(SERVICES), "status"], env, timeout=60).stdout.splitlines()]


@pytest.fixture(scope="module")
def alt_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    amqp, s3, master, volume, filer, kube = free_ports(6)
    env = {
        "CLOUD_WORKER_RUN_DIR": str(tmp_path_factory.mktemp("services")),
        "CLOUD_WORKER_AMQP_PORT": str(amqp), "CLOUD_WORKER_S3_PORT": str(s3),
        "CLOUD_WORKER_SEAWEED_MASTER_PORT": str(master), "CLOUD_WORKER_SEAWEED_VOLUME_PORT": str(volume),
        "CLOUD_WORKER_SEAWEED_FILER_PORT": str(filer), "CLOUD_WORKER_KUBE_PORT": str(kube),
    }
    # The throwaway run folder's services use the project's Python environment.
    (Path(env["CLOUD_WORKER_RUN_DIR"]) / "venv").symlink_to(REPO_ROOT / ".run" / "venv")
    yield env
    run(["bash", str(SERVICES), "stop"], env, timeout=300)


def test_services_start_status_env_stop_on_other_ports(alt_env: dict[str, str]) -> None:
    started = run(["bash", str(SERVICES), "start"], alt_env, timeout=600)
    assert started.returncode == 0, started.stdout
    status = run(["bash", str(SERVICES), "status"], alt_env, timeout=60)
    assert status.returncode == 0, status.stdout
    amqp = alt_env["CLOUD_WORKER_AMQP_PORT"]
    printed = run(["bash", str(SERVICES), "env"], alt_env, timeout=60).stdout
    assert f"export AMQP_URL='amqp://guest:guest@127.0.0.1:{amqp}/%2F'" in printed
    assert f"export S3_ENDPOINT='http://127.0.0.1:{alt_env['CLOUD_WORKER_S3_PORT']}'" in printed
    assert f"export KUBE_SERVER='http://127.0.0.1:{alt_env['CLOUD_WORKER_KUBE_PORT']}'" in printed
    pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{amqp}/%2F")).close()
    # The default services, which this run did not start, are as they were afterwards.
    default_before = service_states({})

    stopped = run(["bash", str(SERVICES), "stop"], alt_env, timeout=300)
    assert stopped.returncode == 0, stopped.stdout
    assert all(port_free(int(alt_env[name])) for name in
               ("CLOUD_WORKER_AMQP_PORT", "CLOUD_WORKER_S3_PORT", "CLOUD_WORKER_KUBE_PORT"))
    assert service_states({}) == default_before


def test_a_taken_port_is_reported_and_left_alone(alt_env: dict[str, str]) -> None:
    """Something else listens on the simulator's port: start says which port and what holds
    it, starts nothing there, and neither start nor stop touches that process."""
    port = int(alt_env["CLOUD_WORKER_KUBE_PORT"])
    holder = subprocess.Popen([sys.executable, "-c", f"""
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port})); s.listen(); time.sleep(300)
"""])
    try:
        while port_free(port):
            assert holder.poll() is None, "the stand-in listener did not start"
            time.sleep(0.1)
        started = run(["bash", str(SERVICES), "start", "k8s"], alt_env, timeout=120)
        assert started.returncode != 0
        assert f"port {port} (Kubernetes API simulator) is in use by " in started.stdout
        assert f"(pid {holder.pid}), which this script did not start" in started.stdout
        assert f"CLOUD_WORKER_KUBE_PORT={port + 1} scripts/services.sh start" in started.stdout
        status = run(["bash", str(SERVICES), "status"], alt_env, timeout=60)
        assert f"(pid {holder.pid}), not started by this script" in status.stdout
        run(["bash", str(SERVICES), "stop", "k8s"], alt_env, timeout=60)
        assert holder.poll() is None, "the script stopped a process it did not start"
    finally:
        holder.kill()
        holder.wait()



def test_the_demo_runs_on_ports_of_its_own(alt_env: dict[str, str]) -> None:
    """The README's first command, with every port moved: the worker and the test client both
    reach the services on the ports they were started on, and the sample job's reply is printed."""
    binary = worker_binary()
    assert os.access(binary, os.X_OK), f"{binary} is missing: build it with `swift build`"
    with socket.socket() as sock:  # the status port: one the services' ports cannot take
        sock.bind(("127.0.0.1", 0))
        http_port = sock.getsockname()[1]
    env = {**alt_env, "CLOUD_WORKER_BIN": str(binary), "CLOUD_WORKER_HTTP_PORT": str(http_port)}
    try:
        demo = run(["bash", str(DEMO)], env, timeout=900)
        assert demo.returncode == 0, demo.stdout[-6000:]
        assert "DEMO OK: Job demo-wordcount-" in demo.stdout
        assert f"amqp://guest:***@127.0.0.1:{alt_env['CLOUD_WORKER_AMQP_PORT']}/" in demo.stdout  # the worker's log
        reply = json.loads((Path(alt_env["CLOUD_WORKER_RUN_DIR"]) / "demo-reply.json").read_text())
        assert reply["status"] == "succeeded" and reply["logsComplete"] is True
        assert f"http://127.0.0.1:{env['CLOUD_WORKER_HTTP_PORT']}/" in demo.stdout
    finally:
        run(["bash", str(SERVICES), "stop"], alt_env, timeout=300)


def test_pid_files_naming_another_checkouts_services_are_left_alone(alt_env: dict[str, str], tmp_path: Path) -> None:
    """Pids are reused, so a pid file left from an earlier run may name the same kind of service
    started from another checkout. Stand-ins with those services' command lines, in folders of
    their own, are neither reported as this checkout's services nor stopped by it."""
    run_dir = Path(alt_env["CLOUD_WORKER_RUN_DIR"])
    elsewhere = tmp_path / "other-checkout"
    elsewhere.mkdir()
    stand_ins = {
        run_dir / "rabbitmq" / "rabbitmq.pid": "/usr/lib/erlang/erts/bin/beam.smp -- -root /usr/lib/erlang",
        run_dir / "seaweedfs.pid": f"weed server -dir={elsewhere}/seaweedfs/data",
        run_dir / "k8s-simulator.pid": f"python -m k8s_simulator --state-dir {elsewhere}/k8s",
    }
    processes = []
    try:
        for pid_file, command_line in stand_ins.items():
            # `exec -a` gives the sleeping stand-in the other service's command line.
            process = subprocess.Popen(["bash", "-c", f'exec -a "{command_line}" sleep 300'], cwd=elsewhere)
            processes.append(process)
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid_file.write_text(f"{process.pid}\n")
        assert service_states(alt_env) == [["rabbitmq", "stopped"], ["seaweedfs", "stopped"], ["k8s", "stopped"]]
        stopped = run(["bash", str(SERVICES), "stop"], alt_env, timeout=120)
        assert stopped.returncode == 0, stopped.stdout
        assert "stopping" not in stopped.stdout, stopped.stdout
        assert [process.poll() for process in processes] == [None, None, None], "stop ended another checkout's service"
    finally:
        for process in processes:
            process.kill()
            process.wait()

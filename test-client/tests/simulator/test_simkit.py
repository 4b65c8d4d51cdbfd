"""The test helpers themselves: a wait reports what happened, not a stale snapshot, and a
simulator never outlives the harness that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from simkit import IMAGES, TEST_CLIENT, Client, free_port


def test_wait_for_fails_at_once_when_the_object_is_deleted(client: Client, ns: str) -> None:
    # A Job with a short TTL once vanished while a poll waited for its Complete condition; the
    # wait went on for its whole timeout and then showed the first snapshot it had seen (an empty
    # status), which read as "the controller never picked the Job up".
    path = f"/api/v1/namespaces/{ns}/configmaps/brief"
    assert client.post(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "brief"}, "data": {}}).status == 201

    def deleted_once_seen(cm: dict[str, Any]) -> bool:
        # Deleted right after the wait has seen it, whatever the timing of a loaded machine.
        assert client.delete(path).status == 200
        return False

    start = time.monotonic()
    with pytest.raises(AssertionError, match="was deleted while waiting for a state never reached"):
        client.wait_for(path, deleted_once_seen, timeout=60, what="a state never reached")
    assert time.monotonic() - start < 30  # well short of the timeout, however loaded the machine


def test_the_simulator_exits_once_its_parent_is_gone(tmp_path: Path) -> None:
    """`--parent-pid`: a harness killed without stopping its simulator leaves none behind. Here
    the parent is a shell that starts the simulator in the background, lives 4 s and exits."""
    command = (f"{sys.executable} -m k8s_simulator --host 127.0.0.1 --port {free_port()} --images {IMAGES} "
               f"--state-dir {tmp_path / 'state'} --parent-pid $$ >/dev/null 2>&1 & echo $!; sleep 4")
    env = {**os.environ, "PYTHONPATH": str(TEST_CLIENT)}
    parent = subprocess.Popen(["sh", "-c", command], cwd=TEST_CLIENT, stdout=subprocess.PIPE, text=True, env=env)
    assert parent.stdout is not None
    simulator = int(parent.stdout.readline())
    try:
        time.sleep(2)
        assert alive(simulator), "the simulator ended while its parent was still running"
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while alive(simulator) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(simulator), "the simulator outlived its parent"
    finally:
        if alive(simulator):
            os.kill(simulator, 9)


def alive(pid: int) -> bool:
    """Running, neither gone nor a zombie waiting for its new parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

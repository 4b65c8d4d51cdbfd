"""Shutdown (SPEC §8): SIGTERM and SIGINT stop the worker within its shutdown grace in every
phase: while it waits for a broker it cannot reach, and while it consumes."""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 4


def closed_port() -> int:
    """A port on which nothing listens: the broker is away."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def stop_with(process: Any, number: signal.Signals) -> tuple[int, float]:
    """Sends the signal; returns the exit code and the seconds until the process exited."""
    sent = time.monotonic()
    process.send_signal(number)
    try:
        code = process.wait(timeout=GRACE_SECONDS + 10)
    except Exception:
        process.kill()
        process.wait(timeout=10)
        pytest.fail(f"the worker did not exit within {GRACE_SECONDS + 10}s of {number.name}", pytrace=False)
    return code, time.monotonic() - sent


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_broker_outage_stops_the_worker_within_the_grace(worker: Any, number: signal.Signals) -> None:
    process = worker(
        wait_pattern="AMQP connection failed, retrying",
        CLOUD_WORKER_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F",
        CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
    )
    # Still retrying: a worker that waits for the broker, not one that gave up.
    time.sleep(1.0)
    assert process.alive(), process.log_text()
    assert "consuming" not in process.log_text()
    code, seconds = stop_with(process.process, number)
    log = process.log_text()
    assert code == 0, f"exit code {code} after {number.name}; log:\n{log}"
    assert seconds < GRACE_SECONDS, f"{number.name} took {seconds:.1f}s, more than the {GRACE_SECONDS}s grace; log:\n{log}"
    assert log.rstrip().endswith("stopped"), log


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_consuming_stops_the_worker_in_order(worker: Any, number: signal.Signals) -> None:
    process = worker(CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS))
    code, seconds = stop_with(process.process, number)
    log = process.log_text()
    assert code == 0, f"exit code {code} after {number.name}; log:\n{log}"
    assert seconds < GRACE_SECONDS, f"{number.name} took {seconds:.1f}s; log:\n{log}"
    draining = log.index("shutting down: no new requests")
    assert draining < log.rindex("stopped"), log

"""The status server (SPEC §8): concurrent connections, so that slow clients never delay the
liveness probe, and IPv6 as well as IPv4 when it binds ``::``."""

from __future__ import annotations

import datetime
import email.utils
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SLOW_CLIENTS = 50
PROBE_LIMIT_SECONDS = 0.1


def get(host: str, port: int, path: str) -> tuple[int, str, float]:
    """A whole GET over a new connection: status, body and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(), time.monotonic() - started


@pytest.fixture(scope="module")
def dual_stack_worker(worker: Any) -> Any:
    return worker(CLOUD_WORKER_HTTP_HOST="::")


@pytest.fixture
def slow_clients(dual_stack_worker: Any) -> Iterator[list[socket.socket]]:
    """Clients that connect and send their request head one byte at a time, half a second apart,
    and never finish it; half over IPv6, half over IPv4."""
    port = int(dual_stack_worker.env["CLOUD_WORKER_HTTP_PORT"])
    sockets = [
        socket.create_connection(("::1" if index % 2 else "127.0.0.1", port), timeout=5) for index in range(SLOW_CLIENTS)
    ]
    stop = threading.Event()

    def trickle() -> None:
        head = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 1000
        for byte in head:
            for sock in sockets:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    pass
            if stop.wait(0.5):
                return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(1.0)
    yield sockets
    stop.set()
    thread.join(timeout=5)
    for sock in sockets:
        sock.close()


def test_fifty_slow_clients_do_not_delay_the_liveness_probe(dual_stack_worker: Any, slow_clients: list[socket.socket]) -> None:
    port = int(dual_stack_worker.env["CLOUD_WORKER_HTTP_PORT"])
    timings = []
    for host in ["127.0.0.1", "::1"] * 5:
        status, body, seconds = get(host, port, "/healthz")
        assert (status, body) == (200, "ok\n")
        timings.append(seconds)
    assert max(timings) < PROBE_LIMIT_SECONDS, f"/healthz took up to {max(timings) * 1000:.0f} ms: {timings}"
    # The slow clients are still connected: the probes were answered beside them, not after them.
    for sock in slow_clients:
        sock.setblocking(False)
        try:
            assert sock.recv(1) != b"", "the server closed a slow client before the probes"
        except BlockingIOError:
            pass


def test_the_status_server_answers_over_ipv6_and_ipv4(dual_stack_worker: Any) -> None:
    port = int(dual_stack_worker.env["CLOUD_WORKER_HTTP_PORT"])
    assert get("::1", port, "/healthz")[:2] == (200, "ok\n")
    assert get("127.0.0.1", port, "/healthz")[:2] == (200, "ok\n")
    status, body, _ = get("::1", port, "/readyz")
    assert (status, body) == (200, "ready\n")


def test_an_idle_connection_is_closed(dual_stack_worker: Any) -> None:
    port = int(dual_stack_worker.env["CLOUD_WORKER_HTTP_PORT"])
    with socket.create_connection(("::1", port), timeout=20) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert 5 < time.monotonic() - started < 15


def test_a_response_carries_its_date_length_and_type(dual_stack_worker: Any) -> None:
    """The headers an HTTP/1.1 client relies on (RFC 9110): the Date of the response, its
    length and its type; and a method other than GET or HEAD is refused by name."""
    port = int(dual_stack_worker.env["CLOUD_WORKER_HTTP_PORT"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        body = response.read()
        date = email.utils.parsedate_to_datetime(response.headers["Date"])
        assert abs((date - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 5, response.headers["Date"]
        assert response.headers["Date"].endswith(" GMT")
        assert int(response.headers["Content-Length"]) == len(body) == 3
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-store"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    assert refused.value.read() == b"only GET is served here\n"

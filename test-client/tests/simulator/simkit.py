"""Helpers for the simulator tests: start a simulator process, a small HTTP client."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

TEST_CLIENT = Path(__file__).resolve().parents[2]
IMAGES = TEST_CLIENT / "images.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Stream:
    """An open chunked response (watch or follow), read line by line."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self.conn = conn
        self.resp = resp
        self.status = resp.status
        self.headers = resp.headers

    def readline(self) -> bytes:
        return self.resp.readline()

    def events(self) -> Iterator[dict[str, Any]]:
        while True:
            line = self.resp.readline()
            if not line:
                return
            yield json.loads(line)

    def next_event(self) -> dict[str, Any]:
        line = self.resp.readline()
        if not line:
            raise EOFError("watch stream ended")
        return json.loads(line)

    def close(self) -> None:
        self.conn.close()


class Client:
    """Just enough HTTP to talk to the simulator (a new connection per request)."""

    def __init__(self, base: str, token: str | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.host, port = base.split("://", 1)[1].split(":")
        self.port = int(port)
        self.https = base.startswith("https")
        self.token = token
        self.ssl_context = ssl_context

    def _conn(self, timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self, headers: dict[str, str] | None, body: Any, content_type: str) -> dict[str, str]:
        out = {"Accept": "application/json"}
        if body is not None:
            out["Content-Type"] = content_type
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(headers or {})
        return out

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                content_type: str = "application/json", timeout: float = 30) -> Response:
        conn = self._conn(timeout)
        try:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            conn.request(method, path, body=data, headers=self._headers(headers, body, content_type))
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def stream(self, path: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Stream:
        conn = self._conn(timeout)
        conn.request("GET", path, headers=self._headers(headers, None, ""))
        return Stream(conn, conn.getresponse())

    def raw_stream(self, path: str, timeout: float = 30) -> socket.socket:
        """A plain socket with the GET sent (to see exactly how a stream ends)."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{auth}\r\n".encode())
        return sock

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json", **kw: Any) -> Response:
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("DELETE", path, body, **kw)

    # --- conveniences ---------------------------------------------------------------------------

    def wait_for(self, path: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20,
                 what: str = "condition") -> dict[str, Any]:
        """Poll until `predicate` holds. An object that disappears while waiting fails at once:
        a poll sees only some states, and one deleted soon after reaching the awaited state
        (a Job with a short TTL) may never be seen in it. Watch for such states instead."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            r = self.get(path)
            if r.status == 200:
                last = r.json()
                if predicate(last):
                    return last
            elif r.status == 404 and last is not None:
                raise AssertionError(f"{path} was deleted while waiting for {what}; "
                                     f"last seen: {json.dumps(last)[:2000]}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what} on {path}; last: {json.dumps(last)[:2000]}")

    def wait_gone(self, path: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get(path).status == 404:
                return
            time.sleep(0.1)
        raise AssertionError(f"{path} still exists")

    def job_condition(self, ns: str, name: str, ctype: str, timeout: float = 20) -> dict[str, Any]:
        job = self.wait_for(
            f"/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            lambda j: any(c["type"] == ctype and c["status"] == "True" for c in j.get("status", {}).get("conditions", [])),
            timeout, f"condition {ctype}",
        )
        return job

    def watch_until(self, path: str, stop: Callable[[dict[str, Any]], bool], timeout: float = 30) -> list[dict[str, Any]]:
        """The events of a watch on `path` (a collection; add `resourceVersion=` to start after a
        known write, e.g. the create's) up to the first that makes `stop` true. A watch sees every
        state an object passes through, however briefly; a poll does not."""
        events: list[dict[str, Any]] = []
        sep = "&" if "?" in path else "?"
        stream = self.stream(f"{path}{sep}watch=1&timeoutSeconds={int(timeout)}", timeout=timeout + 5)
        try:
            for ev in stream.events():
                events.append(ev)
                if stop(ev):
                    return events
        finally:
            stream.close()
        raise AssertionError(f"watch on {path} ended before the awaited event; events: "
                             f"{[(e['type'], e['object'].get('metadata', {}).get('name')) for e in events]}")

    def pods_of(self, ns: str, job: str) -> list[dict[str, Any]]:
        r = self.get(f"/api/v1/namespaces/{ns}/pods?labelSelector=batch.kubernetes.io/job-name%3D{job}")
        assert r.status == 200, r.text
        return r.json()["items"]

    def admin(self, path: str, body: Any = None) -> Any:
        r = self.request("POST" if body is not None else "GET", path, body)
        assert r.status == 200, r.text
        return r.json()


class SimProcess:
    def __init__(self, proc: subprocess.Popen[str], base: str, state_dir: Path, token: str | None) -> None:
        self.proc = proc
        self.base = base
        self.state_dir = state_dir
        self.client = Client(base, token)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_simulator(state_dir: Path, *extra: str, token: str | None = None, scheme: str = "http") -> SimProcess:
    port = free_port()
    args = [sys.executable, "-m", "k8s_simulator", "--host", "127.0.0.1", "--port", str(port),
            "--images", str(IMAGES), "--state-dir", str(state_dir), "--backoff-base-seconds", "0.2",
            "--bookmark-interval", "1", "--parent-pid", str(os.getpid()), *extra]
    if token:
        args += ["--token", token]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(TEST_CLIENT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(args, cwd=str(TEST_CLIENT), stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    expected = f"k8s-simulator listening on {scheme}://127.0.0.1:{port}"
    if line.strip() != expected:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return SimProcess(proc, f"{scheme}://127.0.0.1:{port}", state_dir, token)



def job_manifest(name: str, command: list[str], image: str = "busybox", **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image, "command": command}
    container.update(spec.pop("container", {}))
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    pod_spec.update(spec.pop("pod", {}))
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": pod_spec}, **spec},
    }
    return job

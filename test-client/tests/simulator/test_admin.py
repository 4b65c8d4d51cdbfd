"""The `/_sim/` admin API (faults, stats), bearer-token auth and TLS with client certificates."""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest
from simkit import Client, SimProcess

CMS = "/api/v1/namespaces/{ns}/configmaps"


def test_stats_count_by_path_template(client: Client, ns: str) -> None:
    client.admin("/_sim/stats/reset", {})
    client.get(f"/apis/batch/v1/namespaces/{ns}/jobs")
    client.get(f"/apis/batch/v1/namespaces/{ns}/jobs")
    client.get(f"/apis/batch/v1/namespaces/{ns}/jobs/x")
    client.post(CMS.format(ns=ns), {"metadata": {"name": "s"}, "data": {}})
    w = client.stream(f"{CMS.format(ns=ns)}?watch=1&timeoutSeconds=1")
    list(w.events())
    w.close()
    stats = client.admin("/_sim/stats")
    req = stats["requests"]
    assert req["GET /apis/batch/v1/namespaces/{ns}/jobs"] == 2
    assert req["GET /apis/batch/v1/namespaces/{ns}/jobs/{name}"] == 1
    assert req["POST /api/v1/namespaces/{ns}/configmaps"] == 1
    assert stats["watches"]["/api/v1/namespaces/{ns}/configmaps"] == 1
    assert not any(k.startswith("GET /_sim") for k in req)
    client.admin("/_sim/stats/reset", {})
    assert client.admin("/_sim/stats")["requests"] == {}


def test_faults_errors_throttling_latency_and_count(client: Client, ns: str) -> None:
    path = CMS.format(ns=ns)
    try:
        client.admin("/_sim/faults", {"errorStatus": 503, "pathContains": f"/namespaces/{ns}/", "count": 2})
        r1, r2, r3 = client.get(path), client.get(path), client.get(path)
        assert (r1.status, r2.status, r3.status) == (503, 503, 200)
        assert r1.json()["reason"] == "ServiceUnavailable" and r1.json()["kind"] == "Status"

        client.admin("/_sim/faults", {"errorStatus": 500, "errorRate": 1.0, "pathContains": ns, "count": 1})
        r = client.get(path)
        assert r.status == 500 and r.json()["reason"] == "InternalError"

        client.admin("/_sim/faults", {"throttleRate": 1.0, "retryAfterSeconds": 2, "pathContains": ns, "count": 1})
        r = client.get(path)
        assert r.status == 429 and r.headers["Retry-After"] == "2"
        assert r.json()["reason"] == "TooManyRequests" and r.json()["details"]["retryAfterSeconds"] == 2

        client.admin("/_sim/faults", {"latencyMs": 300, "pathContains": ns, "count": 1})
        start = time.monotonic()
        assert client.get(path).status == 200
        assert time.monotonic() - start >= 0.3
        start = time.monotonic()
        client.get(path)
        assert time.monotonic() - start < 0.3

        client.admin("/_sim/faults", {"errorStatus": 500, "pathContains": ns})
        assert client.get(path).status == 500
        assert client.get("/api/v1/namespaces/elsewhere/configmaps").status == 200
        assert client.get("/_sim/healthz").status == 200  # the admin API is never faulted
    finally:
        client.admin("/_sim/faults/clear", {})
    assert client.get(path).status == 200


def poll_until_ok(client: Client, path: str, timeout: float = 15) -> float:
    """Seconds until `path` answers 200 again."""
    start = time.monotonic()
    while client.get(path).status != 200:
        assert time.monotonic() - start < timeout, "the fault rule did not expire"
        time.sleep(0.05)
    return time.monotonic() - start


def test_timed_fault_rules_expire_by_themselves(client: Client, ns: str) -> None:
    path = CMS.format(ns=ns)
    try:
        # "seconds" from now: 503 for every matching request, then nothing.
        start = time.monotonic()
        rule = client.admin("/_sim/faults", {"errorStatus": 503, "errorRate": 1.0, "pathContains": ns, "seconds": 1.5})
        assert rule["fault"]["expiresAt"].endswith("Z")
        assert client.get(path).status == 503
        assert any(f["pathContains"] == ns for f in client.admin("/_sim/faults")["faults"])
        poll_until_ok(client, path)
        assert time.monotonic() - start >= 1.5
        assert not any(f["pathContains"] == ns for f in client.admin("/_sim/faults")["faults"])

        # "until" a moment (RFC 3339 or epoch seconds): throttling with Retry-After, then nothing.
        until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
        client.admin("/_sim/faults", {"throttleRate": 1.0, "retryAfterSeconds": 1, "pathContains": ns,
                                      "until": until.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        assert client.get(path).status == 429
        poll_until_ok(client, path)
        assert time.time() >= until.timestamp()
        client.admin("/_sim/faults", {"errorStatus": 500, "pathContains": ns, "until": time.time() + 1})
        assert client.get(path).status == 500
        poll_until_ok(client, path)

        r = client.post("/_sim/faults", {"errorStatus": 500, "seconds": "soon"})
        assert r.status == 400 and "bad fault rule" in r.json()["error"]
    finally:
        client.admin("/_sim/faults/clear", {})


def test_bearer_token(sim_factory: Callable[..., SimProcess]) -> None:
    sim = sim_factory(token="s3cret")
    assert sim.client.get("/api/v1/namespaces/default/pods").status == 200
    anonymous = Client(sim.base)
    r = anonymous.get("/api/v1/namespaces/default/pods")
    assert r.status == 401
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert Client(sim.base, token="wrong").get("/version").status == 401
    assert anonymous.get("/_sim/healthz").status == 200


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make certificates")
def test_tls_and_client_certificates(sim_factory: Callable[..., SimProcess], tmp_path: Path) -> None:
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=sim-ca",
             "-keyout", str(ca_key), "-out", str(ca_crt))
    srv_key, srv_csr, srv_crt = tmp_path / "srv.key", tmp_path / "srv.csr", tmp_path / "srv.crt"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(srv_key),
             "-out", str(srv_csr))
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(srv_csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "1", "-extfile", str(ext), "-out", str(srv_crt))
    cli_key, cli_csr, cli_crt = tmp_path / "cli.key", tmp_path / "cli.csr", tmp_path / "cli.crt"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=worker/O=system:masters",
             "-keyout", str(cli_key), "-out", str(cli_csr))
    _openssl("x509", "-req", "-in", str(cli_csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "1", "-out", str(cli_crt))

    sim = sim_factory("--tls-cert", str(srv_crt), "--tls-key", str(srv_key), "--client-ca", str(ca_crt),
                      token="tok", scheme="https")
    verify = ssl.create_default_context(cafile=str(ca_crt))
    assert Client(sim.base, token="tok", ssl_context=verify).get("/api/v1/namespaces/default/pods").status == 200
    assert Client(sim.base, ssl_context=verify).get("/api/v1/namespaces/default/pods").status == 401
    with_cert = ssl.create_default_context(cafile=str(ca_crt))
    with_cert.load_cert_chain(str(cli_crt), str(cli_key))
    assert Client(sim.base, ssl_context=with_cert).get("/api/v1/namespaces/default/pods").status == 200

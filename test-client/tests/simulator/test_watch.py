"""Watches: list-then-watch, initial events, label filtering, bookmarks, timeouts, 410 Expired,
and the admin endpoints that cut or expire them."""

from __future__ import annotations

import threading
import time
from typing import Callable

import pytest
from simkit import Client, SimProcess


def cm(name: str, labels: dict[str, str] | None = None, value: str = "v") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": {"k": value}}


def test_list_then_watch_sees_later_events_in_order(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    client.post(path, cm("before"))
    listed = client.get(path).json()
    rv = listed["metadata"]["resourceVersion"]
    client.post(path, cm("one"))
    client.patch(f"{path}/one", {"data": {"k": "changed"}})
    client.delete(f"{path}/one")
    w = client.stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=5")
    try:
        assert w.status == 200 and w.headers["Transfer-Encoding"] == "chunked"
        events = [w.next_event() for _ in range(3)]
    finally:
        w.close()
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(e["object"]["metadata"]["name"] == "one" for e in events)
    assert events[0]["object"]["kind"] == "ConfigMap"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    assert events[1]["object"]["data"] == {"k": "changed"}


def test_watch_without_rv_starts_with_added_and_filters_labels(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    client.post(path, cm("a", {"app": "x"}))
    client.post(path, cm("b", {"app": "y"}))
    w = client.stream(f"{path}?watch=true&labelSelector=app%3Dx&timeoutSeconds=5")
    try:
        first = w.next_event()
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
        client.patch(f"{path}/b", {"data": {"k": "ignored"}})
        client.patch(f"{path}/a", {"metadata": {"labels": {"app": "z"}}})  # leaves the selection
        gone = w.next_event()
        assert gone["type"] == "DELETED" and gone["object"]["metadata"]["name"] == "a"
        client.patch(f"{path}/b", {"metadata": {"labels": {"app": "x"}}})  # enters it
        came = w.next_event()
        assert came["type"] == "ADDED" and came["object"]["metadata"]["name"] == "b"
    finally:
        w.close()


def test_watch_single_object_by_field_selector_and_timeout(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = client.post(path, cm("me")).json()["metadata"]["resourceVersion"]
    client.post(path, cm("other"))
    start = time.monotonic()
    w = client.stream(f"{path}?watch=1&fieldSelector=metadata.name%3Dme&resourceVersion={rv}&timeoutSeconds=1")
    try:
        client.patch(f"{path}/other", {"data": {"k": "2"}})
        client.patch(f"{path}/me", {"data": {"k": "2"}})
        events = list(w.events())  # the server ends the stream after timeoutSeconds
    finally:
        w.close()
    assert [e["object"]["metadata"]["name"] for e in events] == ["me"]
    assert 0.9 <= time.monotonic() - start < 5


def test_bookmarks(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    w = client.stream(f"{path}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=3")
    try:
        events = list(w.events())
    finally:
        w.close()
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2  # idle bookmarks (interval 1 s here) and one before the close
    obj = bookmarks[-1]["object"]
    assert obj["kind"] == "ConfigMap" and obj["apiVersion"] == "v1"
    assert int(obj["metadata"]["resourceVersion"]) >= int(rv)
    # Without allowWatchBookmarks, none.
    w = client.stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=2")
    try:
        assert [e for e in w.events() if e["type"] == "BOOKMARK"] == []
    finally:
        w.close()


def test_expired_resource_version_gives_410(sim_factory: Callable[..., SimProcess]) -> None:
    sim = sim_factory("--watch-history", "5")
    client = sim.client
    path = "/api/v1/namespaces/default/configmaps"
    old_rv = client.get(path).json()["metadata"]["resourceVersion"]
    for i in range(10):
        client.post(path, cm(f"c{i}"))
    r = client.get(f"{path}?watch=1&resourceVersion={old_rv}")
    assert r.status == 410
    body = r.json()
    assert body["reason"] == "Expired" and body["code"] == 410
    assert body["message"].startswith("too old resource version")
    # A fresh list gives a resourceVersion that can be watched again.
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    w = client.stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=2")
    try:
        client.post(path, cm("after"))
        assert w.next_event()["object"]["metadata"]["name"] == "after"
    finally:
        w.close()


def test_admin_expire_ends_open_watches_with_error_event(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    client.post(path, cm("x"))
    w = client.stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=10")
    try:
        assert w.next_event()["type"] == "ADDED"
        client.admin("/_sim/watches/expire", {})
        err = w.next_event()
        assert err["type"] == "ERROR"
        assert err["object"]["code"] == 410 and err["object"]["reason"] == "Expired"
        assert list(w.events()) == []  # then the stream ends cleanly
    finally:
        w.close()
    r = client.get(f"{path}?watch=1&resourceVersion={rv}")
    assert r.status == 410


def test_expired_as_event_mode(sim_factory: Callable[..., SimProcess]) -> None:
    sim = sim_factory("--expired-watch-as-event")
    client = sim.client
    path = "/api/v1/namespaces/default/configmaps"
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    client.post(path, cm("x"))
    client.admin("/_sim/watches/expire", {})
    r = client.get(f"{path}?watch=1&resourceVersion={rv}")
    assert r.status == 200
    event = r.json()
    assert event["type"] == "ERROR" and event["object"]["code"] == 410


def test_admin_cut_closes_watches_abruptly(client: Client, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    sock = client.raw_stream(f"{path}?watch=1&timeoutSeconds=10")
    received = bytearray()

    def read_all() -> None:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            received.extend(data)

    t = threading.Thread(target=read_all)
    t.start()
    time.sleep(0.3)
    assert client.admin("/_sim/stats")["openWatches"] >= 1
    assert client.admin("/_sim/watches/cut", {})["cut"] >= 1
    t.join(5)
    sock.close()
    assert not t.is_alive()
    assert received.startswith(b"HTTP/1.1 200")
    assert not received.endswith(b"0\r\n\r\n")  # no terminating chunk: the stream was cut


@pytest.mark.parametrize("accept", ["application/json;as=Table;v=v1;g=meta.k8s.io"])
def test_table_watch(client: Client, ns: str, accept: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    client.post(path, cm("t"))
    w = client.stream(f"{path}?watch=1&timeoutSeconds=2", headers={"Accept": accept})
    try:
        ev = w.next_event()
    finally:
        w.close()
    assert ev["object"]["kind"] == "Table" and ev["object"]["rows"][0]["cells"][0] == "t"

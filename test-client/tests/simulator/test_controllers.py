"""The controllers' shared machinery (in process) and what it guarantees: a key is never lost,
whether its event is merged with others, lands while the key is being synced, or never arrives."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

import pytest
from simkit import Client, job_manifest

from k8s_simulator.controller import Controller, Key, WorkQueue
from k8s_simulator.jobs import JobController
from k8s_simulator.objects import prepare_create
from k8s_simulator.resources import CONFIGMAPS, JOBS
from k8s_simulator.store import Event, Store

A: Key = ("configmaps", "ns", "a")
B: Key = ("configmaps", "ns", "b")


def test_queue_holds_a_key_once_and_resyncs_a_key_added_while_it_is_synced() -> None:
    q = WorkQueue()
    q.add(A)
    q.add(B)
    q.add(A)
    assert q.get() == A
    q.add(A)  # changed while being synced: not handed out twice at once ...
    assert q.get() == B
    q.done(B)
    q.done(A)
    assert q.get() == A  # ... but synced once more afterwards
    q.done(A)
    q.close()
    assert q.get() is None


def timed_retry(q: WorkQueue, key: Key) -> float:
    start = time.monotonic()
    q.retry(key)
    assert q.get() == key
    q.done(key)
    return time.monotonic() - start


def test_queue_delays_keep_the_earliest() -> None:
    q = WorkQueue()
    start = time.monotonic()
    q.add_after(A, 5.0)
    q.add_after(A, 0.1)
    q.add_after(A, 3.0)
    assert q.get() == A
    assert 0.1 <= time.monotonic() - start < 3.0
    q.close()


def test_queue_retries_back_off_exponentially_until_forgotten() -> None:
    # Lower bounds are exact (a key is never handed out early); upper bounds are loose, for
    # loaded machines.
    q = WorkQueue(retry_base=0.1, retry_cap=5.0)
    waits = [timed_retry(q, A) for _ in range(4)]
    assert [w >= bound for w, bound in zip(waits, (0.1, 0.2, 0.4, 0.8))] == [True] * 4
    q.forget(A)
    assert timed_retry(q, A) < 1.6  # from the start again (0.1 s), not the next step (1.6 s)
    capped = WorkQueue(retry_base=0.1, retry_cap=0.1)
    start = time.monotonic()
    for _ in range(5):
        assert timed_retry(capped, B) >= 0.1
    assert time.monotonic() - start < 3.1  # uncapped, five retries would take 3.1 s
    q.close()
    capped.close()


class Recorder(Controller):
    """Syncs config maps; fails each key's first sync; may ignore events altogether."""

    name = "recorder"

    def __init__(self, store: Store, deaf: bool = False) -> None:
        super().__init__(store, resync_seconds=0.2)
        self.deaf = deaf
        self.synced: list[Key] = []
        self.failed: set[Key] = set()

    def keys_for(self, ev: Event) -> Iterable[Key]:
        if not self.deaf and ev.resource == CONFIGMAPS.key:
            yield ev.resource, ev.obj["metadata"]["namespace"], ev.obj["metadata"]["name"]

    def all_keys(self) -> Iterable[Key]:
        for obj in self.store.objects_of(CONFIGMAPS.key):
            yield CONFIGMAPS.key, obj["metadata"]["namespace"], obj["metadata"]["name"]

    def sync(self, key: Key) -> float | None:
        if key not in self.failed:
            self.failed.add(key)
            raise RuntimeError("first sync of each key fails")
        self.synced.append(key)
        return None


def add_configmap(store: Store, name: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}
    store.create(CONFIGMAPS, prepare_create(store, CONFIGMAPS, cm, "ns"))


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("deaf", [False, True], ids=["events", "no-events"])
def test_failed_syncs_are_retried_and_lost_events_are_made_up_by_the_resync(deaf: bool) -> None:
    store = Store()
    add_configmap(store, "before")  # exists before the controller: only a resync can find it
    controller = Recorder(store, deaf=deaf)
    controller.start()
    try:
        add_configmap(store, "after")
        wait_until(lambda: {("configmaps", "ns", "before"), ("configmaps", "ns", "after")} <= set(controller.synced))
    finally:
        controller.stop()


class SlowJobController(JobController):
    """A Job controller that never hears of a Job by its event and takes its time per sync."""

    def keys_for(self, ev: Event) -> Iterable[Key]:
        return ()

    def sync(self, key: Key) -> float | None:
        time.sleep(0.002)
        return super().sync(key)


def test_job_controller_finds_every_job_without_events() -> None:
    store = Store()
    jobs = SlowJobController(store, backoff_base=0.2)
    jobs.resync_seconds = 0.3
    jobs.start()
    try:
        def create(i: int) -> None:
            job = job_manifest(f"j{i}", ["true"], suspend=True)
            store.create(JOBS, prepare_create(store, JOBS, job, "ns"))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(200)))

        def all_suspended() -> bool:
            return all(any(c["type"] == "Suspended" for c in (j.get("status") or {}).get("conditions", []))
                       for j in store.objects_of(JOBS.key))

        wait_until(all_suspended)
    finally:
        jobs.stop()


def test_many_jobs_created_at_once_all_run(client: Client, ns: str) -> None:
    # Many creates at once, from many connections, while the controllers and the kubelet are
    # busy with each other's work: every Job is picked up and runs to completion.
    names = [f"many-{i}" for i in range(40)]
    with ThreadPoolExecutor(12) as pool:
        codes = pool.map(lambda n: client.post(f"/apis/batch/v1/namespaces/{ns}/jobs",
                                               job_manifest(n, ["true"])).status, names)
        assert set(codes) == {201}
    for name in names:
        client.job_condition(ns, name, "Complete", timeout=60)

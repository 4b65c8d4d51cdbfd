"""What every simulated controller shares, as client-go gives it to kube-controller-manager: a
de-duplicating work queue of keys, a periodic resync that enqueues every object again, and
retries with capped exponential back-off for keys whose sync failed.

The controllers are level-triggered: an event only names the keys to look at, and `sync` decides
from the store's current state alone. An event that is merged with another, arrives late or never
comes costs at most one resync period; it can never leave an object unattended.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Iterable

from .store import Event, Store

Key = tuple[str, str, str]  # (Resource.key, namespace, name)

RESYNC_SECONDS = 3.0
RETRY_BASE_SECONDS = 0.05
RETRY_CAP_SECONDS = 5.0

log = logging.getLogger("k8s_simulator.controller")


class WorkQueue:
    """client-go's rate-limited delaying queue, for one worker thread.

    A key waits in the queue at most once however often it is added. A key being synced is not
    handed out again until `done`; added meanwhile, it is synced once more afterwards, so a change
    that lands during a sync is never lost. `add_after` keeps only the earliest wake-up per key.
    """

    def __init__(self, retry_base: float = RETRY_BASE_SECONDS, retry_cap: float = RETRY_CAP_SECONDS) -> None:
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._cond = threading.Condition()
        self._ready: deque[Key] = deque()
        self._queued: set[Key] = set()  # in _ready, or to be put back there once done
        self._active: set[Key] = set()  # handed out and not done yet
        self._due: dict[Key, float] = {}  # earliest pending wake-up per key (monotonic)
        self._timers: list[tuple[float, int, Key]] = []  # heap; entries not matching _due are stale
        self._order = itertools.count()
        self._failures: dict[Key, int] = {}
        self._closed = False

    def add(self, key: Key) -> None:
        with self._cond:
            self._add(key)

    def _add(self, key: Key) -> None:
        if self._closed or key in self._queued:
            return
        self._queued.add(key)
        if key not in self._active:
            self._ready.append(key)
            self._cond.notify()

    def add_after(self, key: Key, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        when = time.monotonic() + delay
        with self._cond:
            if self._closed or self._due.get(key, float("inf")) <= when:
                return
            self._due[key] = when
            heapq.heappush(self._timers, (when, next(self._order), key))
            self._cond.notify()

    def retry(self, key: Key) -> None:
        """Requeue a key whose sync failed: base, 2 x base, 4 x base ... up to the cap."""
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        self.add_after(key, min(self.retry_base * 2**failures, self.retry_cap))

    def forget(self, key: Key) -> None:
        """The key synced fine: its next failure starts the back-off from the beginning."""
        with self._cond:
            self._failures.pop(key, None)

    def get(self) -> Key | None:
        """The next key to sync, waiting as long as needed; None once closed."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    when, _, key = heapq.heappop(self._timers)
                    if self._due.get(key) == when:
                        del self._due[key]
                        self._add(key)
                if self._ready:
                    key = self._ready.popleft()
                    self._queued.discard(key)
                    self._active.add(key)
                    return key
                self._cond.wait(self._timers[0][0] - now if self._timers else None)
            return None

    def done(self, key: Key) -> None:
        with self._cond:
            self._active.discard(key)
            if key in self._queued:
                self._ready.append(key)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Controller(ABC):
    """A level-triggered controller: one worker thread syncing keys from a `WorkQueue`, fed by
    store events (`keys_for`) and by a resync of every object (`all_keys`) every few seconds."""

    name = "controller"

    def __init__(self, store: Store, resync_seconds: float = RESYNC_SECONDS) -> None:
        self.store = store
        self.resync_seconds = resync_seconds
        self.queue = WorkQueue()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=self.name, daemon=True),
            threading.Thread(target=self._resync, name=f"{self.name}-resync", daemon=True),
        ]
        store.subscribe(self._on_event)

    @abstractmethod
    def keys_for(self, ev: Event) -> Iterable[Key]:
        """The keys an event concerns. Called under the store lock: only look, never write."""

    @abstractmethod
    def all_keys(self) -> Iterable[Key]:
        """Every key this controller looks after (the resync)."""

    @abstractmethod
    def sync(self, key: Key) -> float | None:
        """Bring one key's world in line with the store's current state. Returns in how many
        seconds to look again (a deadline, a back-off, a TTL), or None. Raising requeues the key
        with back-off."""

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.queue.close()

    def _on_event(self, ev: Event) -> None:
        for key in self.keys_for(ev):
            self.queue.add(key)

    def _work(self) -> None:
        while (key := self.queue.get()) is not None:
            try:
                again = self.sync(key)
            except Exception:  # one broken object must not stop the controller
                log.exception("%s: syncing %s failed; retrying", self.name, "/".join(key))
                self.queue.retry(key)
            else:
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            finally:
                self.queue.done(key)

    def _resync(self) -> None:
        # Objects that existed before this controller subscribed are found here first.
        while True:
            for key in self.all_keys():
                self.queue.add(key)
            if self._stopped.wait(self.resync_seconds):
                return

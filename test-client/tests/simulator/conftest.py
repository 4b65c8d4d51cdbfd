"""Fixtures: a simulator process on a free port, and a client for its API."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from simkit import Client, SimProcess, start_simulator


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    process = start_simulator(tmp_path_factory.mktemp("sim-state"))
    yield process
    process.stop()


@pytest.fixture
def client(sim: SimProcess) -> Client:
    return sim.client


@pytest.fixture
def ns() -> str:
    """A fresh namespace per test (any namespace name is accepted)."""
    return "t-" + uuid.uuid4().hex[:10]


@pytest.fixture
def sim_factory(tmp_path: Path) -> Iterator[Callable[..., SimProcess]]:
    started: list[SimProcess] = []

    def make(*extra: str, token: str | None = None, scheme: str = "http") -> SimProcess:
        p = start_simulator(tmp_path / f"state-{len(started)}", *extra, token=token, scheme=scheme)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()

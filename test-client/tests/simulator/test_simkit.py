"""The test helpers themselves: a wait reports what happened, not a stale snapshot."""

from __future__ import annotations

import time
from typing import Any

import pytest
from simkit import Client


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

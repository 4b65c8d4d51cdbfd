"""The test helpers themselves: a wait reports what happened, not a stale snapshot."""

from __future__ import annotations

import threading
import time

import pytest
from simkit import Client


def test_wait_for_fails_at_once_when_the_object_is_deleted(client: Client, ns: str) -> None:
    # A Job with a short TTL once vanished while a poll waited for its Complete condition; the
    # wait went on for its whole timeout and then showed the first snapshot it had seen (an empty
    # status), which read as "the controller never picked the Job up".
    path = f"/api/v1/namespaces/{ns}/configmaps/brief"
    assert client.post(f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "brief"}, "data": {}}).status == 201
    deleter = threading.Timer(0.3, client.delete, args=(path,))
    deleter.start()
    start = time.monotonic()
    with pytest.raises(AssertionError, match="was deleted while waiting for a state never reached"):
        client.wait_for(path, lambda cm: False, timeout=20, what="a state never reached")
    assert time.monotonic() - start < 10
    deleter.join()

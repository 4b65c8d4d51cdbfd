"""A finished Job's status is written once: the Complete / Failed condition goes out with the
final counts (no pod still `active` or `ready`), and nothing writes the Job after it. A client
that claims a finished Job with a resourceVersion precondition (as Cloud Worker does) must not
run into a Conflict that only the simulator causes."""

from __future__ import annotations

from typing import Any

import pytest
from simkit import Client, job_manifest

JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"


def conditions(job: dict[str, Any]) -> set[str]:
    return {c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}


@pytest.mark.parametrize(
    ("command", "spec", "final"),
    [
        ("echo done", {}, "Complete"),
        ("exit 3", {"backoffLimit": 0}, "Failed"),
        ("echo $JOB_COMPLETION_INDEX", {"completionMode": "Indexed", "completions": 3, "parallelism": 2}, "Complete"),
    ],
)
def test_the_final_condition_comes_with_the_final_counts_and_is_the_last_write(
    client: Client, ns: str, command: str, spec: dict[str, Any], final: str
) -> None:
    path = JOBS.format(ns=ns)
    rv = client.get(path).json()["metadata"]["resourceVersion"]
    assert client.post(path, job_manifest("final", ["sh", "-c", command], **spec)).status == 201
    # Every change of the Job from its creation on, until the watch times out well after the end.
    watch = client.stream(f"{path}?watch=1&resourceVersion={rv}&timeoutSeconds=4")
    events = [e for e in watch.events() if e["type"] in ("ADDED", "MODIFIED")]
    watch.close()
    finished = [i for i, e in enumerate(events) if {"Complete", "Failed"} & conditions(e["object"])]
    assert finished, [e["object"].get("status") for e in events]
    first = events[finished[0]]["object"]
    assert final in conditions(first), first["status"]
    status = first["status"]
    assert "active" not in status and status.get("ready") == 0 and status.get("terminating") == 0, status
    assert finished == [len(events) - 1], [e["object"].get("status") for e in events[finished[0]:]]
    client.delete(f"{path}/final?propagationPolicy=Background")

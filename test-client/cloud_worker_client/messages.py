"""Request bodies the worker accepts (SPEC §3) and helpers to read its replies (SPEC §7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

REPLY_STATUSES = ("succeeded", "failed", "timedOut", "cancelled", "rejected", "error")

REPLY_FIELDS = (
    "requestId",
    "jobName",
    "k8sJob",
    "namespace",
    "status",
    "reason",
    "message",
    "exitCode",
    "terminationMessage",
    "startedAt",
    "completedAt",
    "durationMs",
    "result",
    "outputBucket",
    "logs",
)


def build_job_request(
    *,
    image: str,
    job_name: str,
    input_bucket: str,
    output_bucket: str | None = None,
    timeout_minutes: int | None = None,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
    args: Sequence[str] | None = None,
    prefix: str | None = None,
    backoff_limit: int | None = None,
    tasks: Sequence[Any] | None = None,
    parallelism: int | None = None,
    resources: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A job request with the MSTC field names; unset optional fields are left out."""
    request: dict[str, Any] = {"image": image, "jobName": job_name, "inputBucket": input_bucket}
    optional: dict[str, Any] = {
        "outputBucket": output_bucket,
        "timeOut": timeout_minutes,
        "env": dict(env) if env else None,
        "command": list(command) if command else None,
        "args": list(args) if args else None,
        "prefix": prefix,
        "backoffLimit": backoff_limit,
        "tasks": list(tasks) if tasks is not None else None,
        "parallelism": parallelism,
        "resources": dict(resources) if resources else None,
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    return request


def build_cancel_request(target: str) -> dict[str, str]:
    """A cancel request for a request id or a job name."""
    return {"cancel": target}


def parse_key_values(items: Iterable[str], what: str = "value") -> dict[str, str]:
    """``["A=1", "B=x=y"]`` -> ``{"A": "1", "B": "x=y"}``."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} {item!r} is not NAME=VALUE")
        result[name] = value
    return result


def log_keys(reply: Mapping[str, Any]) -> list[str]:
    """The object keys of the archived logs listed in a reply."""
    logs = reply.get("logs") or []
    return [entry["key"] for entry in logs if isinstance(entry, Mapping) and "key" in entry]


def summarize(reply: Mapping[str, Any]) -> str:
    """One human line for a reply."""
    parts = [f"status={reply.get('status')}"]
    for name in ("k8sJob", "reason", "exitCode", "durationMs"):
        if reply.get(name) is not None:
            parts.append(f"{name}={reply.get(name)}")
    line = " ".join(parts)
    if reply.get("result"):
        line += f" — {reply['result']}"
    return line

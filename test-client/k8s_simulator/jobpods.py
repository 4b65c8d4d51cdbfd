"""What the Job controller reads off pods and writes into Job status: ownership, phases,
completion indexes, conditions. Pure functions, no store."""

from __future__ import annotations

from .defaults import COMPLETION_INDEX
from .util import JSON, get_path, rfc3339

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"


def controller_ref(obj: JSON | None) -> JSON | None:
    for ref in get_path(obj, "metadata", "ownerReferences", default=[]) or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def tracked(pod: JSON | None) -> bool:
    """Carries the tracking finalizer: the controller has not counted this pod yet."""
    return TRACKING_FINALIZER in (get_path(pod, "metadata", "finalizers", default=[]) or [])


def phase(pod: JSON) -> str | None:
    return get_path(pod, "status", "phase")


def terminal(pod: JSON) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def ready(pod: JSON) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in get_path(pod, "status", "conditions", default=[]) or [])


def failed(pod: JSON, job_spec: JSON) -> bool:
    """`isPodFailed`: Failed, or (unless only failed pods are replaced) deleted before it succeeded,
    which also covers pods that vanish without ever reaching a phase."""
    if phase(pod) == "Failed":
        return True
    if job_spec.get("podReplacementPolicy") == "Failed":
        return False
    return bool(pod["metadata"].get("deletionTimestamp")) and phase(pod) != "Succeeded"


def pod_index(pod: JSON) -> int | None:
    value = get_path(pod, "metadata", "annotations", COMPLETION_INDEX)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def format_indexes(indexes: set[int]) -> str:
    """`0-3,5` as in `status.completedIndexes`."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [i]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """The inverse of `format_indexes`, keeping indexes below `completions`."""
    out: set[int] = set()
    for part in (text or "").split(","):
        first, _, last = part.partition("-")
        try:
            out.update(range(int(first), int(last or first) + 1))
        except ValueError:
            continue
    return {i for i in out if 0 <= i < completions}


def has_condition(status: JSON, ctype: str) -> bool:
    return condition(status, ctype) is not None


def condition(status: JSON, ctype: str) -> JSON | None:
    """The condition of this type whose status is True, if any."""
    return next((c for c in status.get("conditions") or []
                 if c.get("type") == ctype and c.get("status") == "True"), None)


def set_condition(status: JSON, ctype: str, cstatus: str, reason: str, message: str) -> None:
    now = rfc3339()
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != cstatus:
                c.update(status=cstatus, lastTransitionTime=now)
            c.update(reason=reason, message=message, lastProbeTime=now)
            return
    conds.append({"type": ctype, "status": cstatus, "lastProbeTime": now, "lastTransitionTime": now,
                  "reason": reason, "message": message})


def finished(job: JSON) -> bool:
    status = job.get("status") or {}
    return has_condition(status, "Complete") or has_condition(status, "Failed")

"""Server-side printing: `meta.k8s.io/v1` Tables (what `kubectl get` asks for) with the columns
the API server's printers produce, and PartialObjectMetadata."""

from __future__ import annotations

import time

from .resources import Resource
from .selectors import selector_string
from .util import JSON, format_age, get_path, parse_rfc3339

NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some "
            "resources may allow a client to request the generation of an appropriate name automatically.")
AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created.")


def _col(name: str, doc: str = "", priority: int = 0, ctype: str = "string", fmt: str = "") -> JSON:
    return {"name": name, "type": ctype, "format": fmt, "description": doc, "priority": priority}


def _age(obj: JSON) -> str:
    ts = get_path(obj, "metadata", "creationTimestamp")
    if not ts:
        return "<unknown>"
    return format_age(time.time() - parse_rfc3339(ts))


def _has(obj: JSON, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True"
               for c in get_path(obj, "status", "conditions", default=[]) or [])


def _job_row(obj: JSON) -> list[object]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if _has(obj, "Complete"):
        state = "Complete"
    elif _has(obj, "Failed"):
        state = "Failed"
    elif get_path(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    elif _has(obj, "Suspended"):
        state = "Suspended"
    elif _has(obj, "FailureTarget"):
        state = "FailureTarget"
    elif _has(obj, "SuccessCriteriaMet"):
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        end = parse_rfc3339(status["completionTime"]) if status.get("completionTime") else time.time()
        duration = format_age(end - parse_rfc3339(status["startTime"]))
    containers = get_path(spec, "template", "spec", "containers", default=[]) or []
    return [
        get_path(obj, "metadata", "name"), state, completions, duration, _age(obj),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        selector_string(spec.get("selector")),
    ]


JOB_COLUMNS = [
    _col("Name", NAME_DOC, fmt="name"),
    _col("Status", "Status of the job."),
    _col("Completions", "The number of pods which reached phase Succeeded."),
    _col("Duration", "Time required to complete the job."),
    _col("Age", AGE_DOC),
    _col("Containers", "Names of each container in the template.", 1),
    _col("Images", "Images referenced by each container in the template.", 1),
    _col("Selector", "A label query over pods that should match the pod count.", 1),
]


def _pod_row(obj: JSON) -> list[object]:
    status = obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(get_path(obj, "spec", "containers", default=[]) or [])
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Pending"
    for c in statuses:
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            t = state["terminated"]
            reason = f"Signal:{t['signal']}" if t.get("signal") else f"ExitCode:{t.get('exitCode', 0)}"
    if get_path(obj, "metadata", "deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return [
        get_path(obj, "metadata", "name"), f"{ready}/{total}", reason, restarts, _age(obj),
        status.get("podIP") or "<none>", get_path(obj, "spec", "nodeName") or "<none>", "<none>", "<none>",
    ]


POD_COLUMNS = [
    _col("Name", NAME_DOC, fmt="name"),
    _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", "The aggregate status of the containers in this pod."),
    _col("Restarts", "The number of times the containers in this pod have been restarted and when the last "
         "container in this pod has restarted.", ctype="string"),
    _col("Age", AGE_DOC),
    _col("IP", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
    _col("Node", "NodeName is a request to schedule this pod onto a specific node.", 1),
    _col("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on the node.", 1),
    _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
]


def _generic(res: Resource) -> tuple[list[JSON], object]:
    if res.plural == "configmaps":
        return ([_col("Name", NAME_DOC, fmt="name"), _col("Data", "", ctype="integer"), _col("Age", AGE_DOC)],
                lambda o: [get_path(o, "metadata", "name"),
                           len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o)])
    if res.plural == "secrets":
        return ([_col("Name", NAME_DOC, fmt="name"), _col("Type"), _col("Data", "", ctype="integer"),
                 _col("Age", AGE_DOC)],
                lambda o: [get_path(o, "metadata", "name"), o.get("type", ""), len(o.get("data") or {}), _age(o)])
    if res.plural == "namespaces":
        return ([_col("Name", NAME_DOC, fmt="name"), _col("Status"), _col("Age", AGE_DOC)],
                lambda o: [get_path(o, "metadata", "name"), get_path(o, "status", "phase", default=""), _age(o)])
    return ([_col("Name", NAME_DOC, fmt="name"), _col("Age", AGE_DOC)],
            lambda o: [get_path(o, "metadata", "name"), _age(o)])


def partial_metadata(obj: JSON) -> JSON:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(res: Resource, objects: list[JSON], resource_version: str | None, include_object: str = "Metadata",
          version: str = "v1", with_columns: bool = True) -> JSON:
    if res.plural == "jobs":
        columns, row_fn = JOB_COLUMNS, _job_row
    elif res.plural == "pods":
        columns, row_fn = POD_COLUMNS, _pod_row
    else:
        columns, row_fn = _generic(res)
    rows = []
    for obj in objects:
        row: JSON = {"cells": row_fn(obj)}  # type: ignore[operator]
        if include_object == "Object":
            row["object"] = {"kind": res.kind, "apiVersion": res.api_version, **obj}
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    out: JSON = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": {}}
    if resource_version:
        out["metadata"]["resourceVersion"] = resource_version
    out["columnDefinitions"] = columns if with_columns else None
    out["rows"] = rows
    return out

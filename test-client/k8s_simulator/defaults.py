"""Defaulting, as the API server fills in fields on create (Job, pod template, Pod, Secret)."""

from __future__ import annotations

import base64

from .util import JSON, meta

JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_UID_LABEL = "controller-uid"
LEGACY_NAME_LABEL = "job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent otherwise."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def container(c: JSON) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", image_pull_policy(str(c.get("image", ""))))
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in c.get("env") or []:
        ref = env.get("valueFrom", {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    limits = (c.get("resources") or {}).get("limits")
    requests = (c.get("resources") or {}).get("requests")
    if isinstance(limits, dict) and limits:
        if not isinstance(requests, dict):
            requests = {}
            c["resources"]["requests"] = requests
        for k, v in limits.items():
            requests.setdefault(k, v)


def pod_spec(spec: JSON) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if isinstance(c, dict):
            container(c)
    for vol in spec.get("volumes") or []:
        if not isinstance(vol, dict):
            continue
        for kind in ("configMap", "secret"):
            if isinstance(vol.get(kind), dict):
                vol[kind].setdefault("defaultMode", 420)


def job(obj: JSON) -> None:
    """Job defaults filled by the API server on create (before validation)."""
    spec = obj.setdefault("spec", {})
    md = meta(obj)
    uid = md.get("uid", "")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("backoffLimit", 6 if spec.get("backoffLimitPerIndex") is None else 2147483647)
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed" if not spec.get("podFailurePolicy") else "Failed")
    spec.setdefault("manualSelector", False)
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    user_template_labels = dict(tmeta.get("labels") or {})
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {JOB_UID_LABEL: uid}}
        labels = tmeta.setdefault("labels", {})
        labels[JOB_UID_LABEL] = uid
        labels[JOB_NAME_LABEL] = md.get("name", "")
        labels[LEGACY_UID_LABEL] = uid
        labels[LEGACY_NAME_LABEL] = md.get("name", "")
    if not md.get("labels"):
        # Defaulting copies the template labels; applied again on every read, so an unlabelled
        # Job ends up with the generated ones too.
        labels_src = user_template_labels or tmeta.get("labels") or {}
        if labels_src:
            md["labels"] = dict(labels_src)
    tspec = template.setdefault("spec", {})
    if isinstance(tspec, dict):
        pod_spec(tspec)


def pod(obj: JSON) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault("tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
    ])


def secret(obj: JSON) -> None:
    """`stringData` is folded into `data` (base64) and dropped, type defaults to Opaque."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        if data is None:
            data = obj["data"] = {}
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode("utf-8")).decode("ascii")
    obj.setdefault("type", "Opaque")

"""Validation run after defaulting, reported as 422 Invalid with `details.causes[]`."""

from __future__ import annotations

from typing import Any

from .errors import FieldError, go_value, invalid, not_supported, required
from .resources import JOBS, PODS, Resource
from .util import (
    DNS1123_LABEL,
    DNS1123_LABEL_MSG,
    DNS1123_SUBDOMAIN,
    DNS1123_SUBDOMAIN_MSG,
    JSON,
    LABEL_NAME,
    LABEL_VALUE,
)


def object_meta(obj: JSON, resource: Resource) -> list[FieldError]:
    errs: list[FieldError] = []
    md = obj.get("metadata") or {}
    name = md.get("name")
    if not name:
        errs.append(required("metadata.name", "name or generateName is required"))
    elif resource is JOBS:
        if len(name) > 63:
            errs.append(invalid("metadata.name", name, "must be no more than 63 characters"))
        elif not DNS1123_SUBDOMAIN.match(name):
            errs.append(invalid("metadata.name", name, DNS1123_SUBDOMAIN_MSG))
    elif len(name) > 253:
        errs.append(invalid("metadata.name", name, "must be no more than 253 characters"))
    elif not DNS1123_SUBDOMAIN.match(name):
        errs.append(invalid("metadata.name", name, DNS1123_SUBDOMAIN_MSG))
    errs += labels(md.get("labels"), "metadata.labels")
    return errs


def labels(values: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(values, dict):
        return errs
    for key, value in values.items():
        name = key.rsplit("/", 1)[-1]
        if not LABEL_NAME.match(name) or len(name) > 63:
            errs.append(invalid(path, key, "name part must consist of alphanumeric characters, '-', '_' "
                                "or '.', and must start and end with an alphanumeric character"))
        if not isinstance(value, str):
            continue
        if len(value) > 63:
            errs.append(invalid(f"{path}", value, "must be no more than 63 characters"))
        elif not LABEL_VALUE.match(value):
            errs.append(invalid(f"{path}", value, "a valid label must be an empty string or consist of "
                                "alphanumeric characters, '-', '_' or '.', and must start and end with "
                                "an alphanumeric character"))
    return errs


def pod_spec(spec: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(spec, dict):
        return [required(path)]
    containers = spec.get("containers")
    if not containers:
        errs.append(required(f"{path}.containers"))
    else:
        errs += _containers(containers, f"{path}.containers")
    if spec.get("initContainers"):
        errs += _containers(spec["initContainers"], f"{path}.initContainers")
    names = set()
    for i, vol in enumerate(spec.get("volumes") or []):
        vname = vol.get("name") if isinstance(vol, dict) else None
        if not vname:
            errs.append(required(f"{path}.volumes[{i}].name"))
        elif vname in names:
            errs.append(FieldError("FieldValueDuplicate", f"{path}.volumes[{i}].name", "", vname))
        names.add(vname)
    for c_list in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(c_list) or []):
            for j, vm in enumerate((c or {}).get("volumeMounts") or []):
                if vm.get("name") not in names:
                    errs.append(FieldError("FieldValueNotFound", f"{path}.{c_list}[{i}].volumeMounts[{j}].name",
                                           "", vm.get("name")))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
    return errs


def _containers(containers: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, c in enumerate(containers if isinstance(containers, list) else []):
        cpath = f"{path}[{i}]"
        name = c.get("name") if isinstance(c, dict) else None
        if not name:
            errs.append(required(f"{cpath}.name"))
        elif not DNS1123_LABEL.match(name) or len(name) > 63:
            errs.append(invalid(f"{cpath}.name", name, DNS1123_LABEL_MSG))
        elif name in seen:
            errs.append(FieldError("FieldValueDuplicate", f"{cpath}.name", "", name))
        if name:
            seen.add(name)
        if not (isinstance(c, dict) and c.get("image")):
            errs.append(required(f"{cpath}.image"))
        if isinstance(c, dict):
            policy = c.get("terminationMessagePolicy")
            if policy not in (None, "File", "FallbackToLogsOnError"):
                errs.append(not_supported(f"{cpath}.terminationMessagePolicy", policy,
                                          ["File", "FallbackToLogsOnError"]))
            for j, env in enumerate(c.get("env") or []):
                if not (isinstance(env, dict) and env.get("name")):
                    errs.append(required(f"{cpath}.env[{j}].name"))
    return errs


def job(obj: JSON) -> list[FieldError]:
    errs = object_meta(obj, JOBS)
    spec = obj.get("spec") or {}
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds",
                  "ttlSecondsAfterFinished"):
        value = spec.get(field)
        if isinstance(value, int) and value < 0:
            errs.append(invalid(f"spec.{field}", value, "must be greater than or equal to 0"))
    ads = spec.get("activeDeadlineSeconds")
    if isinstance(ads, int) and ads == 0:
        errs.append(invalid("spec.activeDeadlineSeconds", ads, "must be greater than or equal to 1"))
    mode = spec.get("completionMode")
    if mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported("spec.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed" and spec.get("completions") is None:
        errs.append(required("spec.completions", "when completion mode is Indexed"))
    template = spec.get("template") or {}
    tspec = template.get("spec")
    errs += pod_spec(tspec, "spec.template.spec")
    restart = (tspec or {}).get("restartPolicy") if isinstance(tspec, dict) else None
    if restart in ("Always", "", None):
        errs.append(required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        errs.append(not_supported("spec.template.spec.restartPolicy", restart, ["OnFailure", "Never"]))
    if spec.get("manualSelector"):
        from .selectors import from_label_selector_object

        sel = spec.get("selector")
        if not sel:
            errs.append(required("spec.selector"))
        elif not from_label_selector_object(sel).matches((template.get("metadata") or {}).get("labels")):
            errs.append(invalid("spec.template.metadata.labels", (template.get("metadata") or {}).get("labels"),
                                "`selector` does not match template `labels`"))
    errs += labels((template.get("metadata") or {}).get("labels"), "spec.template.metadata.labels")
    return errs


def job_update(old: JSON, new: JSON) -> list[FieldError]:
    """Fields the API server refuses to change on an existing Job."""
    errs = job(new)
    o, n = old.get("spec") or {}, new.get("spec") or {}
    for field in ("selector", "completionMode", "backoffLimitPerIndex", "podFailurePolicy"):
        if o.get(field) != n.get(field):
            errs.append(invalid(f"spec.{field}", n.get(field), "field is immutable"))
    if o.get("completions") != n.get("completions") and not (
        n.get("completionMode") == "Indexed" and n.get("completions") == n.get("parallelism")
    ):
        errs.append(invalid("spec.completions", n.get("completions"), "field is immutable"))
    if o.get("template") != n.get("template") and not o.get("suspend"):
        errs.append(invalid("spec.template", "core.PodTemplateSpec{...}", "field is immutable"))
    return errs


def no_new_finalizers(old: JSON, new: JSON) -> list[FieldError]:
    """`ValidateObjectMetaUpdate`: once deletion started, finalizers can only be removed."""
    if not (old.get("metadata") or {}).get("deletionTimestamp"):
        return []
    before = set((old.get("metadata") or {}).get("finalizers") or [])
    extra = sorted(set((new.get("metadata") or {}).get("finalizers") or []) - before)
    if not extra:
        return []
    listed = ", ".join(go_value(f) for f in extra)
    return [FieldError("FieldValueForbidden", "metadata.finalizers",
                       f"no new finalizers can be added if the object is being deleted, found new finalizers "
                       f"[]string{{{listed}}}")]


def pod(obj: JSON) -> list[FieldError]:
    errs = object_meta(obj, PODS)
    errs += pod_spec(obj.get("spec"), "spec")
    return errs


def pod_update(old: JSON, new: JSON) -> list[FieldError]:
    errs = object_meta(new, PODS)
    o, n = old.get("spec") or {}, new.get("spec") or {}
    mutable = {"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"}
    strip = lambda s: {k: v for k, v in s.items() if k not in mutable}  # noqa: E731
    os_, ns_ = strip(o), strip(n)
    oc = [{**c, "image": None} for c in os_.get("containers") or []]
    nc = [{**c, "image": None} for c in ns_.get("containers") or []]
    os_["containers"], ns_["containers"] = oc, nc
    if os_ != ns_:
        errs.append(FieldError("FieldValueForbidden", "spec",
                               "pod updates may not change fields other than `spec.containers[*].image`, "
                               "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                               "`spec.tolerations` (only additions to existing tolerations), "
                               "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                               "previously negative)"))
    return errs


def generic(obj: JSON, resource: Resource) -> list[FieldError]:
    errs = object_meta(obj, resource)
    if resource.plural in ("configmaps", "secrets"):
        for field in ("data", "binaryData"):
            data = obj.get(field)
            if isinstance(data, dict):
                for key in data:
                    if not key or len(key) > 253 or not all(ch.isalnum() or ch in "-._" for ch in key):
                        errs.append(invalid(f"{field}[{key}]", key,
                                            "a valid config key must consist of alphanumeric characters, "
                                            "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                            "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
    if resource.plural == "namespaces":
        name = (obj.get("metadata") or {}).get("name")
        if name and (not DNS1123_LABEL.match(name) or len(name) > 63):
            errs = [e for e in errs if e.field != "metadata.name"]
            errs.append(invalid("metadata.name", name, DNS1123_LABEL_MSG))
    return errs

"""Label selectors (the query-string grammar and `LabelSelector` objects) and field selectors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ApiError, bad_request
from .util import JSON, get_path


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        return False


class LabelSelector:
    """A parsed label selector: all requirements must hold."""

    def __init__(self, requirements: list[Requirement]) -> None:
        self.requirements = requirements

    def matches(self, labels: dict[str, str] | None) -> bool:
        lab = labels or {}
        return all(r.matches(lab) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos:].strip() == "":
                break
            raise bad_request(f"unable to parse requirement: {text!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def parse_label_selector(text: str | None) -> LabelSelector:
    """The `labelSelector` query grammar: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
    `a notin (x)`, comma-separated."""
    if not text or not text.strip():
        return LabelSelector([])
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def fail() -> ApiError:
        return bad_request(f"unable to parse requirement: found '{toks[i] if i < len(toks) else ''}', "
                           f"expected: identifier in {text!r}")

    while i < len(toks):
        if toks[i] == "!":
            if i + 1 >= len(toks):
                raise fail()
            reqs.append(Requirement(toks[i + 1], "!"))
            i += 2
        else:
            key = toks[i]
            if key in ("=", "==", "!=", "(", ")", ","):
                raise fail()
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists"))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                value = ""
                if i < len(toks) and toks[i] not in (",", "(", ")"):
                    value = toks[i]
                    i += 1
                reqs.append(Requirement(key, op, (value,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    raise fail()
                i += 1
                values: list[str] = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        values.append(toks[i])
                    i += 1
                if i >= len(toks):
                    raise fail()
                i += 1
                reqs.append(Requirement(key, op, tuple(values)))
            else:
                raise fail()
        if i < len(toks):
            if toks[i] != ",":
                raise fail()
            i += 1
    return LabelSelector(reqs)


def from_label_selector_object(sel: JSON | None) -> LabelSelector:
    """A `metav1.LabelSelector` (matchLabels + matchExpressions)."""
    if not sel:
        return LabelSelector([])
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in sel.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""), "in")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return LabelSelector(reqs)


def selector_string(sel: JSON | None) -> str:
    """`metav1.FormatLabelSelector` for tables (`key=value,...`)."""
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        op, key, vals = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {'in' if op == 'In' else 'notin'} ({','.join(vals)})")
    return ",".join(parts) or "<none>"


# --- field selectors ------------------------------------------------------------------------

_FIELD_PATHS: dict[str, Callable[[JSON], Any]] = {
    "metadata.name": lambda o: get_path(o, "metadata", "name", default=""),
    "metadata.namespace": lambda o: get_path(o, "metadata", "namespace", default=""),
    "status.phase": lambda o: get_path(o, "status", "phase", default=""),
    "spec.nodeName": lambda o: get_path(o, "spec", "nodeName", default=""),
    "spec.restartPolicy": lambda o: get_path(o, "spec", "restartPolicy", default=""),
    "spec.schedulerName": lambda o: get_path(o, "spec", "schedulerName", default=""),
    "spec.serviceAccountName": lambda o: get_path(o, "spec", "serviceAccountName", default=""),
    "spec.hostNetwork": lambda o: str(bool(get_path(o, "spec", "hostNetwork", default=False))).lower(),
    "status.podIP": lambda o: get_path(o, "status", "podIP", default=""),
    "status.nominatedNodeName": lambda o: get_path(o, "status", "nominatedNodeName", default=""),
    "status.successful": lambda o: str(get_path(o, "status", "succeeded", default=0)),
    "type": lambda o: o.get("type", ""),
}


class FieldSelector:
    def __init__(self, terms: list[tuple[str, str, str]], permissive: bool = False) -> None:
        self.terms = terms
        self.permissive = permissive

    def matches(self, obj: JSON) -> bool:
        for path, op, value in self.terms:
            getter = _FIELD_PATHS.get(path)
            if getter is None:
                if self.permissive:
                    return False  # e.g. events' involvedObject.*: nothing stored matches
                continue
            actual = str(getter(obj))
            if (actual == value) != (op == "="):
                return False
        return True

    def name(self) -> str | None:
        """The `metadata.name=` term, when there is one."""
        for path, op, value in self.terms:
            if path == "metadata.name" and op == "=":
                return value
        return None


def parse_field_selector(text: str | None, supported: tuple[str, ...] | None) -> FieldSelector:
    """`fieldSelector`: `a=b`, `a==b`, `a!=b`, comma-separated. `supported` None accepts any
    label (events); otherwise an unknown label is a 400 as on a real server."""
    if not text or not text.strip():
        return FieldSelector([])
    terms: list[tuple[str, str, str]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+)(!=|==|=)(.*)$", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if supported is not None and path not in supported:
            raise bad_request(f'field label not supported: {path}')
        terms.append((path, "!=" if op == "!=" else "=", value))
    return FieldSelector(terms, permissive=supported is None)

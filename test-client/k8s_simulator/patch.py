"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
(driven by the OpenAPI `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`)."""

from __future__ import annotations

from typing import Any

from . import schema
from .util import JSON, deep

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SUPPORTED = (MERGE, STRATEGIC, JSON_PATCH)


class PatchError(Exception):
    """A patch that cannot be applied (bad document, failed `test`, missing path)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return deep(patch)
    result = deep(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 -------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, tokens: list[str]) -> Any:
    cur = doc
    for tok in tokens:
        if isinstance(cur, dict):
            if tok not in cur:
                raise PatchError(f"path not found: /{'/'.join(tokens)}")
            cur = cur[tok]
        elif isinstance(cur, list):
            try:
                cur = cur[int(tok)]
            except (ValueError, IndexError):
                raise PatchError(f"path not found: /{'/'.join(tokens)}") from None
        else:
            raise PatchError(f"path not found: /{'/'.join(tokens)}")
    return cur


def _get(doc: Any, path: str) -> Any:
    return _container(doc, _pointer(path))


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _container(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                idx = int(last)
            except ValueError:
                raise PatchError(f"invalid array index {last!r}") from None
            if idx < 0 or idx > len(parent):
                raise PatchError(f"array index {idx} out of bounds")
            parent.insert(idx, value)
    else:
        raise PatchError(f"cannot add at {path}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _container(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        del parent[last]
    elif isinstance(parent, list):
        try:
            del parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError(f"unable to remove index {last}") from None
    else:
        raise PatchError(f"cannot remove at {path}")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be an array of operations")
    doc = deep(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, deep(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            doc = _remove(doc, path) if _pointer(path) else doc
            doc = _add(doc, path, deep(op.get("value")))
        elif kind in ("move", "copy"):
            value = deep(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"unexpected operation {kind!r}")
    return doc


# --- strategic merge patch ------------------------------------------------------------------


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v) for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value


def strategic_merge(original: Any, patch: Any, schema_name: str) -> Any:
    """Apply a strategic merge patch to `original` (an object of the schema `schema_name`)."""
    return _smp_object(original, patch, schema.schema_for(schema_name))


def _smp_object(original: Any, patch: Any, node: JSON | None) -> Any:
    if not isinstance(patch, dict):
        return deep(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    result: JSON = deep(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        raw, child = schema.property_node(node, key)
        current = result.get(key)
        if isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = _smp_object(current, value, child)
        elif isinstance(value, list) and isinstance(current, list) and raw is not None:
            strategy = str(raw.get("x-kubernetes-patch-strategy", "")).split(",")
            merge_key = raw.get("x-kubernetes-patch-merge-key")
            if "merge" in strategy:
                items_node = child.get("items") if isinstance(child, dict) else None
                result[key] = _smp_list(current, value, merge_key, items_node)
            else:
                result[key] = _strip_directives(value)
        else:
            result[key] = _strip_directives(value)
    return result


def _smp_list(current: list[Any], patch: list[Any], merge_key: str | None, items_node: Any) -> list[Any]:
    if merge_key is None:  # a list of primitives merged as a set
        out = list(current)
        for v in patch:
            if v not in out:
                out.append(v)
        return out
    out = [deep(v) for v in current]
    for item in patch:
        if not isinstance(item, dict):
            continue
        if item.get("$patch") == "replace":
            return _strip_directives([i for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")])
        key_value = item.get(merge_key)
        idx = next(
            (i for i, v in enumerate(out) if isinstance(v, dict) and v.get(merge_key) == key_value), None
        )
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(_strip_directives(item))
        else:
            out[idx] = _smp_object(out[idx], item, items_node)
    return out

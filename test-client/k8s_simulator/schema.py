"""The published OpenAPI v3 schemas: field validation (unknown fields, JSON types) and the
strategic-merge-patch metadata (`x-kubernetes-patch-merge-key` / `-patch-strategy`).

The API server decodes a request body into Go structs: unknown fields are dropped (with a
`Warning` header, `fieldValidation=Warn`, the default), reported as 400 BadRequest
(`fieldValidation=Strict`, what kubectl sends) or silently ignored (`Ignore`); a value of the wrong
JSON type is always a 400.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from .util import JSON

OPENAPI_DIR = Path(__file__).resolve().parent / "openapi"
CORE_DOC = OPENAPI_DIR / "api__v1_openapi.json"
BATCH_DOC = OPENAPI_DIR / "apis__batch__v1_openapi.json"

_lock = threading.Lock()
_schemas: dict[str, JSON] | None = None


def schemas() -> dict[str, JSON]:
    """All component schemas, the batch document's (newer) copies winning."""
    global _schemas
    with _lock:
        if _schemas is None:
            merged: dict[str, JSON] = {}
            for doc in (CORE_DOC, BATCH_DOC):
                with doc.open("rb") as f:
                    merged.update(json.load(f)["components"]["schemas"])
            _schemas = merged
        return _schemas


def resolve(node: JSON | None) -> JSON | None:
    """Follow `$ref` and single-element `allOf` wrappers to the schema that describes a value."""
    seen = 0
    while isinstance(node, dict) and seen < 16:
        seen += 1
        if "$ref" in node:
            node = schemas().get(node["$ref"].rsplit("/", 1)[-1])
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node:
            node = all_of[0]
            continue
        return node
    return node if isinstance(node, dict) else None


def schema_for(name: str) -> JSON | None:
    return schemas().get(name)


class FieldReport:
    """What a decode found: unknown fields (paths) and type errors (messages)."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.type_errors: list[str] = []


_GO_TYPES = {"integer": "int64", "number": "float64", "string": "string", "boolean": "bool",
             "object": "object", "array": "array"}


def decode(value: Any, schema_name: str, drop_unknown: bool = True) -> FieldReport:
    """Check `value` against the schema in place: drop unknown fields and nulls, report both."""
    report = FieldReport()
    root = schema_for(schema_name)
    if root is not None:
        _walk(value, root, "", report, drop_unknown)
    return report


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "array":
        return isinstance(value, list)
    if t == "object":
        return isinstance(value, dict)
    return True


def _walk(value: Any, raw: JSON, path: str, report: FieldReport, drop: bool) -> None:
    node = resolve(raw)
    if node is None or node.get("x-kubernetes-preserve-unknown-fields"):
        return
    one_of = node.get("oneOf")
    if isinstance(one_of, list):
        if value is not None and not any(_type_ok(value, o.get("type", "")) for o in one_of):
            report.type_errors.append(
                f"json: cannot unmarshal {_json_type(value)} into Go struct field {path} "
                f"of type {node.get('format') or 'string'}"
            )
        return
    t = node.get("type") or ("object" if "properties" in node else "")
    if value is None or not t:
        return
    if not _type_ok(value, t):
        report.type_errors.append(
            f"json: cannot unmarshal {_json_type(value)} into Go struct field {path or '.'} "
            f"of type {_GO_TYPES.get(t, t)}"
        )
        return
    if t == "object":
        props = node.get("properties")
        addl = node.get("additionalProperties")
        for key in list(value.keys()):
            child_path = f"{path}.{key}" if path else key
            if value[key] is None and props is not None:
                del value[key]
                continue
            if props is not None:
                if key in props:
                    _walk(value[key], props[key], child_path, report, drop)
                else:
                    report.unknown.append(child_path)
                    if drop:
                        del value[key]
            elif isinstance(addl, dict):
                _walk(value[key], addl, f"{path}[{key}]", report, drop)
    elif t == "array":
        items = node.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _walk(item, items, f"{path}[{i}]", report, drop)


def property_node(node: JSON | None, key: str) -> tuple[JSON | None, JSON | None]:
    """(raw property node, resolved node) for `key` of an object schema."""
    resolved = resolve(node)
    if resolved is None:
        return None, None
    props = resolved.get("properties")
    if isinstance(props, dict) and key in props:
        raw = props[key]
        return raw, resolve(raw)
    addl = resolved.get("additionalProperties")
    if isinstance(addl, dict):
        return addl, resolve(addl)
    return None, None

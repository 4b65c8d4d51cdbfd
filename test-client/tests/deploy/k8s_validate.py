"""Validate Kubernetes objects strictly: an unknown field anywhere is an error, and so is a
value of the wrong type or a missing required field.

    python k8s_validate.py < objects.json      # a JSON list of objects

prints a JSON list with, for each object, {"kind", "name", "checkedWith", "errors"}. Run by the
deploy tests in their virtual environment (it needs `jsonschema` and `kubernetes`).

Where each kind's schema comes from:
- core/v1 and batch/v1: the API server's own OpenAPI v3 documents, vendored in
  test-client/k8s_simulator/openapi/, with every `properties` closed (no additional
  properties) unless the schema says `x-kubernetes-preserve-unknown-fields`.
- apps/v1, rbac.authorization.k8s.io/v1, policy/v1 and networking.k8s.io/v1: not in those
  documents, so the models generated
  from the API's OpenAPI for the PyPI `kubernetes` client: every key must be one of the
  model's `attribute_map` names, every value of its `openapi_types` type, and the model must
  build (required fields). A Deployment's metadata, selector and pod template are also checked
  against the OpenAPI documents above.
- monitoring.coreos.com/v1 ServiceMonitor: a closed schema, below, of the fields the chart
  sets, with the names and types of prometheus-operator's CRD.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema
from kubernetes import client as k8s_client

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "k8s_simulator" / "openapi"
# The batch document is the newer: its copies of shared schemas (Pod, Container, meta) win.
OPENAPI_DOCS = ("api__v1_openapi.json", "apis__batch__v1_openapi.json")
REF_PREFIX = "#/components/schemas/"
# prometheus-operator's Duration: 30s, 1m30s, ...
DURATION = "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"

SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"$ref": REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {"$ref": REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "endpoints": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "targetPort": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                            "path": {"type": "string"},
                            "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                            "honorLabels": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}

# Group versions checked with the `kubernetes` client's models (model name: V1<Kind>).
MODEL_GROUP_VERSIONS = {"apps/v1", "rbac.authorization.k8s.io/v1", "policy/v1", "networking.k8s.io/v1"}
PRIMITIVES = {"str", "int", "bool", "float", "object", "date", "datetime"}


# MARK: - OpenAPI v3 documents


def _close(node: Any) -> Any:
    """Every object schema with `properties` accepts no other key."""
    if isinstance(node, dict):
        closed = {key: _close(value) for key, value in node.items()}
        if "properties" in closed and "additionalProperties" not in closed \
                and not closed.get("x-kubernetes-preserve-unknown-fields"):
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_close(item) for item in node]
    return node


class OpenAPISchemas:
    def __init__(self) -> None:
        schemas: dict[str, Any] = {}
        for name in OPENAPI_DOCS:
            with (OPENAPI_DIR / name).open("rb") as f:
                schemas.update(json.load(f)["components"]["schemas"])
        self.schemas = _close(schemas)
        self.by_kind: dict[tuple[str, str], str] = {}
        for name, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind") or []:
                api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                self.by_kind[(api_version, gvk["kind"])] = name

    def errors(self, value: Any, schema: dict[str, Any], path: str) -> list[str]:
        root = {"components": {"schemas": self.schemas}, **schema}
        validator = jsonschema.Draft202012Validator(root)
        return [
            f"{path}{''.join(f'.{p}' if isinstance(p, str) else f'[{p}]' for p in error.absolute_path)}: {error.message}"
            for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def errors_for(self, value: Any, component: str, path: str) -> list[str]:
        return self.errors(value, {"$ref": REF_PREFIX + component}, path)


# MARK: - kubernetes client models


def _model_errors(value: Any, type_name: str, path: str) -> list[str]:
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in _model_errors(item, type_name[5:-1], f"{path}[{i}]")]
    match = re.fullmatch(r"dict[(\[](\w+), (.+)[)\]]", type_name)
    if match:
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [e for k, v in value.items() for e in _model_errors(v, match.group(2), f"{path}.{k}")]
    if type_name in PRIMITIVES:
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "object": True,
            "date": isinstance(value, str),
            "datetime": isinstance(value, str),
        }[type_name]
        return [] if ok else [f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"]
    model = getattr(k8s_client, type_name, None)
    if model is None:
        return [f"{path}: no model {type_name}"]
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({type_name}), got {type(value).__name__}"]
    attribute_by_key = {key: attribute for attribute, key in model.attribute_map.items()}
    errors = []
    for key, item in value.items():
        attribute = attribute_by_key.get(key)
        if attribute is None:
            errors.append(f"{path}.{key}: unknown field of {type_name}")
        else:
            errors.extend(_model_errors(item, model.openapi_types[attribute], f"{path}.{key}"))
    return errors


def model_errors(obj: dict[str, Any], model_name: str) -> list[str]:
    errors = _model_errors(obj, model_name, "")
    if not errors:
        try:  # builds every nested model: required fields and enumerations
            k8s_client.ApiClient()._ApiClient__deserialize(copy.deepcopy(obj), model_name)
        except (ValueError, TypeError) as error:
            errors.append(f"{model_name}: {error}")
    return errors


# MARK: - routing


def validate(obj: Any, schemas: OpenAPISchemas) -> dict[str, Any]:
    if not isinstance(obj, dict):
        return {"kind": None, "name": None, "checkedWith": None, "errors": ["not an object"]}
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    name = (obj.get("metadata") or {}).get("name")
    component = schemas.by_kind.get((api_version, kind))
    if component:
        checked_with, errors = f"OpenAPI {component}", schemas.errors_for(obj, component, "")
    elif api_version in MODEL_GROUP_VERSIONS:
        model = f"V1{kind}"
        checked_with, errors = f"kubernetes client model {model}", model_errors(obj, model)
        errors += schemas.errors_for(obj.get("metadata"), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", ".metadata")
        if kind == "Deployment":
            spec = obj.get("spec") or {}
            checked_with += " + OpenAPI PodTemplateSpec and LabelSelector"
            errors += schemas.errors_for(spec.get("template"), "io.k8s.api.core.v1.PodTemplateSpec", ".spec.template")
            errors += schemas.errors_for(
                spec.get("selector"), "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", ".spec.selector"
            )
    elif (api_version, kind) == ("monitoring.coreos.com/v1", "ServiceMonitor"):
        checked_with, errors = "ServiceMonitor schema", schemas.errors(obj, SERVICE_MONITOR_SCHEMA, "")
    else:
        checked_with, errors = None, [f"no schema for {api_version} {kind}"]
    return {"kind": kind, "name": name, "checkedWith": checked_with, "errors": errors}


def main() -> int:
    objects = json.load(sys.stdin)
    schemas = OpenAPISchemas()
    json.dump([validate(obj, schemas) for obj in objects], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""API errors as the API server reports them: `Status` objects with a reason and a code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .util import JSON


@dataclass
class FieldError:
    """One entry of `details.causes[]` of a 422 Invalid reply."""

    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    field: str
    detail: str = ""
    value: Any = None

    @property
    def message(self) -> str:
        if self.reason == "FieldValueRequired":
            return "Required value" + (f": {self.detail}" if self.detail else "")
        if self.reason == "FieldValueNotSupported":
            return f"Unsupported value: {go_value(self.value)}" + (
                f": {self.detail}" if self.detail else ""
            )
        if self.reason == "FieldValueForbidden":
            return "Forbidden" + (f": {self.detail}" if self.detail else "")
        if self.reason == "FieldValueDuplicate":
            return f"Duplicate value: {go_value(self.value)}"
        if self.reason == "FieldValueNotFound":
            return f"Not found: {go_value(self.value)}"
        if self.reason == "FieldValueTooLong":
            return "Too long" + (f": {self.detail}" if self.detail else "")
        return f"Invalid value: {go_value(self.value)}" + (f": {self.detail}" if self.detail else "")

    def cause(self) -> JSON:
        return {"reason": self.reason, "message": self.message, "field": self.field}


def go_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError("FieldValueInvalid", path, detail, value)


def not_supported(path: str, value: Any, supported: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(go_value(v) for v in supported)
    return FieldError("FieldValueNotSupported", path, detail, value)


@dataclass
class ApiError(Exception):
    """An error reply: HTTP code plus the `Status` object that goes in the body."""

    code: int
    reason: str
    message: str
    details: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(name: str, group: str, kind: str) -> JSON:
    d: JSON = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def qualified(resource: str, group: str) -> str:
    """`jobs.batch` for grouped resources, `pods` for the core group."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
        _details(name, group, resource),
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, detail: str | None = None) -> ApiError:
    msg = detail or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {msg}',
        _details(name, group, resource),
    )


def invalid_object(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid, message formatted like apimachinery's NewInvalid."""
    qual_kind = f"{kind}.{group}" if group else kind
    parts = [f"{e.field}: {e.message}" for e in errors]
    listed = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(name, group, kind)
    details["causes"] = [e.cause() for e in errors]
    return ApiError(422, "Invalid", f'{qual_kind} "{name}" is invalid: {listed}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415, "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f"application/strategic-merge-patch+json (got {content_type!r})",
    )


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def internal_error(message: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )

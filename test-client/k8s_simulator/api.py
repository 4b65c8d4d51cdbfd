"""The REST verbs on resources: list, get, create, update, patch, delete, deletecollection, plus
content negotiation (Table, PartialObjectMetadata) and field validation. HTTP plumbing and
streaming (watch, follow) live in `server.py`; this module returns plain values."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from . import defaults, errors, patch, schema, tables, validation
from .app import Simulator
from .deletion import delete_object
from .objects import prepare_create
from .resources import JOBS, NAMESPACES, PODS, SECRETS, Resource
from .selectors import parse_field_selector, parse_label_selector
from .util import JSON, deep


@dataclass
class Reply:
    code: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Negotiated:
    """What the client's Accept header asks for."""

    table: str | None = None  # Table version ("v1", "v1beta1") when a Table is wanted
    partial: bool = False  # PartialObjectMetadata(List)


def negotiate(accept: str | None) -> Negotiated:
    """The first acceptable media type wins; protobuf falls back to JSON."""
    for part in (accept or "").split(","):
        fields = [p.strip() for p in part.split(";")]
        media = fields[0].lower()
        params = dict(p.split("=", 1) for p in fields[1:] if "=" in p)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        if params.get("g") == "meta.k8s.io" and params.get("as") == "Table":
            return Negotiated(table=params.get("v", "v1"))
        if params.get("g") == "meta.k8s.io" and params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Negotiated(partial=True)
        if "as" not in params:
            return Negotiated()
    return Negotiated()


def table_content_type(version: str) -> str:
    return f"application/json;as=Table;v={version};g=meta.k8s.io"


def warning_header(messages: list[str]) -> dict[str, str]:
    if not messages:
        return {}
    return {"Warning": ", ".join('299 - "' + m.replace("\\", "\\\\").replace('"', '\\"') + '"' for m in messages)}


def with_kind(res: Resource, obj: JSON) -> JSON:
    out = {"kind": res.kind, "apiVersion": res.api_version}
    out.update({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
    return out


PROTOBUF = "application/vnd.kubernetes.protobuf"


def check_content_type(content_type: str | None) -> None:
    """Bodies are JSON; protobuf (what typed Go clients may send) is refused with 415."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media == PROTOBUF:
        raise errors.ApiError(
            415, "UnsupportedMediaType",
            f'the body of the request was in an unknown format - accepted media types include: '
            f'application/json, application/yaml (got "{media}")', {})


def parse_body(raw: bytes | None) -> Any:
    if not raw:
        raise errors.bad_request("the request body is empty")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None


class Api:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store

    # --- decoding --------------------------------------------------------------------------------

    def decode(self, res: Resource, obj: Any, query: dict[str, str]) -> list[str]:
        """Check a request object against the schema; returns warnings (unknown fields)."""
        if not isinstance(obj, dict):
            raise errors.bad_request(f"{res.kind} in version \"{res.version}\" cannot be handled as a {res.kind}: "
                                     f"json: cannot unmarshal {type(obj).__name__} into Go value of type "
                                     f"struct")
        kind = obj.get("kind")
        if kind is not None and kind != res.kind:
            raise errors.bad_request(f"{res.kind} in version \"{res.version}\" cannot be handled as a {res.kind}: "
                                     f"no kind \"{kind}\" is registered for version \"{obj.get('apiVersion', '')}\"")
        api_version = obj.get("apiVersion")
        if api_version is not None and api_version != res.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({res.api_version})")
        mode = (query.get("fieldValidation") or "Warn").capitalize()
        if mode not in ("Ignore", "Warn", "Strict"):
            raise errors.bad_request(f"fieldValidation must be one of Ignore, Warn, Strict: got {mode}")
        report = schema.decode(obj, res.schema, drop_unknown=True) if res.schema else schema.FieldReport()
        prefix = f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
        if report.type_errors:
            raise errors.bad_request(prefix + report.type_errors[0])
        unknown = [f'unknown field "{p}"' for p in report.unknown]
        if unknown and mode == "Strict":
            raise errors.bad_request(prefix + "strict decoding error: " + ", ".join(unknown))
        return unknown if mode == "Warn" else []

    # --- reads -----------------------------------------------------------------------------------

    def list(self, res: Resource, ns: str | None, query: dict[str, str], accept: Negotiated) -> Reply:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), None if res.plural == "events" else res.field_labels)
        items, rv = self.store.list(res, ns, labels, fields)
        meta: JSON = {"resourceVersion": str(rv)}
        limit = int(query.get("limit") or 0)
        token = query.get("continue")
        if token:
            try:
                start = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["start"]
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
            items = [i for i in items if _sort_key(i) > tuple(start)]
        if limit > 0 and len(items) > limit:
            last = _sort_key(items[limit - 1])
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": list(last)}).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if accept.table:
            body = tables.table(res, items, str(rv), query.get("includeObject") or "Metadata", accept.table)
            body["metadata"].update({k: v for k, v in meta.items() if k != "resourceVersion"})
            return Reply(200, body, content_type=table_content_type(accept.table))
        if accept.partial:
            return Reply(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                               "metadata": meta, "items": [tables.partial_metadata(i) for i in items]})
        for item in items:
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return Reply(200, {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta, "items": items})

    def get(self, res: Resource, ns: str, name: str, query: dict[str, str], accept: Negotiated) -> Reply:
        obj = self.store.get(res, ns, name)
        if accept.table:
            body = tables.table(res, [obj], obj["metadata"].get("resourceVersion"),
                                query.get("includeObject") or "Metadata", accept.table)
            return Reply(200, body, content_type=table_content_type(accept.table))
        if accept.partial:
            return Reply(200, tables.partial_metadata(obj))
        return Reply(200, with_kind(res, obj))

    # --- writes ----------------------------------------------------------------------------------

    def create(self, res: Resource, ns: str | None, raw: bytes | None, query: dict[str, str]) -> Reply:
        body = parse_body(raw)
        warnings = self.decode(res, body, query)
        obj = prepare_create(self.store, res, body, ns)
        if query.get("dryRun") == "All":
            obj["metadata"].pop("uid", None)
            return Reply(201, with_kind(res, obj), warning_header(warnings))
        created = self.store.create(res, obj)
        return Reply(201, with_kind(res, created), warning_header(warnings))

    def _prepare_update(self, res: Resource, cur: JSON, new: JSON, subresource: str | None) -> JSON:
        """Merge what a client may change into the stored object's shape, then validate."""
        name = cur["metadata"]["name"]
        md = new.setdefault("metadata", {})
        if md.get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({md.get('name')}) does not match the name on the URL ({name})")
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") not in (None, "", cur["metadata"].get("namespace")):
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = cur["metadata"].get("namespace")
        if md.get("uid") not in (None, "", cur["metadata"].get("uid")):
            raise errors.conflict(res.plural, res.group, name,
                                  f"Precondition failed: UID in precondition: {md.get('uid')}, "
                                  f"UID in object meta: {cur['metadata'].get('uid')}")
        new["kind"], new["apiVersion"] = res.kind, res.api_version
        if subresource == "status":
            out = deep(cur)
            out["status"] = new.get("status") or {}
            out["metadata"]["resourceVersion"] = md.get("resourceVersion", cur["metadata"].get("resourceVersion"))
            return out
        if res.has_status:
            new["status"] = deep(cur.get("status") or {})
        errs = validation.no_new_finalizers(cur, new)
        if res is JOBS:
            md["uid"] = cur["metadata"]["uid"]
            defaults.job(new)  # also re-applies the generated selector and template labels
            errs += validation.job_update(cur, new)
        elif res is PODS:
            defaults.pod(new)
            errs += validation.pod_update(cur, new)
        else:
            if res is SECRETS:
                defaults.secret(new)
            errs += validation.generic(new, res)
        if errs:
            raise errors.invalid_object(res.kind, res.group, name, errs)
        return new

    def update(self, res: Resource, ns: str, name: str, sub: str | None, raw: bytes | None,
               query: dict[str, str]) -> Reply:
        body = parse_body(raw)
        warnings = self.decode(res, body, query)
        cur = self.store.get(res, ns, name)
        precondition = (body.get("metadata") or {}).get("resourceVersion") or None
        new = self._prepare_update(res, cur, body, sub)
        if query.get("dryRun") == "All":
            return Reply(200, with_kind(res, new), warning_header(warnings))
        stored = self.store.replace(res, new, precondition)
        return Reply(200, with_kind(res, stored), warning_header(warnings))

    def patch(self, res: Resource, ns: str, name: str, sub: str | None, raw: bytes | None,
              content_type: str, query: dict[str, str]) -> Reply:
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in patch.SUPPORTED:
            raise errors.unsupported_media_type(media)
        body = parse_body(raw)
        for _attempt in range(8):
            cur = self.store.get(res, ns, name)
            cur_rv = cur["metadata"].get("resourceVersion")
            try:
                if media == patch.JSON_PATCH:
                    new = patch.json_patch(with_kind(res, cur), body)
                elif media == patch.MERGE:
                    if not isinstance(body, dict):
                        raise patch.PatchError("merge patch must be a JSON object")
                    new = patch.merge_patch(with_kind(res, cur), body)
                else:
                    if not isinstance(body, dict):
                        raise patch.PatchError("strategic merge patch must be a JSON object")
                    new = patch.strategic_merge(with_kind(res, cur), body, res.schema)
            except patch.PatchError as exc:
                raise errors.ApiError(422, "Invalid", f"the server rejected our request due to an error in our "
                                      f"request: {exc}", {"causes": [{"message": str(exc)}]}) from None
            warnings = self.decode(res, new, query)
            requested_rv = (new.get("metadata") or {}).get("resourceVersion")
            if requested_rv and requested_rv != cur_rv:
                raise errors.conflict(res.plural, res.group, name)
            prepared = self._prepare_update(res, cur, new, sub)
            if query.get("dryRun") == "All":
                return Reply(200, with_kind(res, prepared), warning_header(warnings))
            try:
                stored = self.store.replace(res, prepared, cur_rv)
            except errors.ApiError as exc:
                if exc.reason == "Conflict":
                    continue  # changed between read and write: apply the patch again
                raise
            return Reply(200, with_kind(res, stored), warning_header(warnings))
        raise errors.conflict(res.plural, res.group, name)

    @staticmethod
    def _delete_options(raw: bytes | None, query: dict[str, str]) -> JSON:
        opts: JSON = {}
        if raw and raw.strip():
            body = parse_body(raw)
            if isinstance(body, dict):
                opts.update(body)
        if query.get("propagationPolicy"):
            opts["propagationPolicy"] = query["propagationPolicy"]
        if query.get("gracePeriodSeconds"):
            opts["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
        if "orphanDependents" in query:
            opts["orphanDependents"] = query["orphanDependents"] == "true"
        if query.get("dryRun"):
            opts["dryRun"] = [query["dryRun"]]
        if "propagationPolicy" not in opts and isinstance(opts.get("orphanDependents"), bool):
            opts["propagationPolicy"] = "Orphan" if opts["orphanDependents"] else "Background"
        return opts

    def delete(self, res: Resource, ns: str, name: str, raw: bytes | None, query: dict[str, str]) -> Reply:
        opts = self._delete_options(raw, query)
        if "All" in (opts.get("dryRun") or []):
            obj = self.store.get(res, ns, name)
            return Reply(200, with_kind(res, obj))
        if res is NAMESPACES:
            return self._delete_namespace(name)
        pre = opts.get("preconditions") or {}
        result = delete_object(
            self.store, res, ns, name, opts.get("propagationPolicy"),
            opts.get("gracePeriodSeconds"), pre.get("uid"), pre.get("resourceVersion"),
        )
        body = result.body if result.body.get("kind") == "Status" else with_kind(res, result.body)
        # The API server's one exception to 200: a cascading delete asked for with the old
        # `orphanDependents: false` that could not finish at once.
        code = 202 if not result.deleted and opts.get("orphanDependents") is False else 200
        return Reply(code, body, warning_header(result.warnings))

    def delete_collection(self, res: Resource, ns: str | None, raw: bytes | None, query: dict[str, str]) -> Reply:
        opts = self._delete_options(raw, query)
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), None if res.plural == "events" else res.field_labels)
        items, rv = self.store.list(res, ns, labels, fields)
        warnings: list[str] = []
        for item in items:
            try:
                result = delete_object(self.store, res, item["metadata"].get("namespace", ""),
                                       item["metadata"]["name"], opts.get("propagationPolicy"),
                                       opts.get("gracePeriodSeconds"))
                warnings = result.warnings
            except errors.ApiError:
                pass
        return Reply(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                           "metadata": {"resourceVersion": str(rv)}, "items": items}, warning_header(warnings))

    def _delete_namespace(self, name: str) -> Reply:
        from .resources import ALL

        ns_obj = self.store.get(NAMESPACES, "", name)
        for res in ALL:
            if not res.namespaced:
                continue
            for item in self.store.list(res, name)[0]:
                try:
                    delete_object(self.store, res, name, item["metadata"]["name"], "Background", 0)
                except errors.ApiError:
                    pass
        self.store.remove(NAMESPACES, "", name)
        ns_obj["status"] = {"phase": "Terminating"}
        return Reply(200, with_kind(NAMESPACES, ns_obj))


def _sort_key(obj: JSON) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return (md.get("namespace", ""), md.get("name", ""))


__all__ = ["Api", "Negotiated", "Reply", "negotiate"]

"""The most recent API requests, as the client sent them, for `GET /_sim/requests`.

Two questions a test cannot answer from the objects the simulator stores or from the counters
of `/_sim/stats`: what exactly did the client send (a Job as it was POSTed, before the API
server's defaults and before unknown fields were dropped), and which requests did it make for
one object (the counters lump every Job's `GET .../jobs/{name}` together). So every request the
counters count is kept here too, with its verb, resource, namespace, name, status code and, for
writes, the body as received. The log is bounded (oldest entries go first) so that a simulator
left running for a long time does not grow without end.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from .util import JSON, now_ns, rfc3339_nano

DEFAULT_SIZE = 1000
# Bodies of these methods are kept: the writes (DELETE's body is its DeleteOptions).
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
FILTERS = ("verb", "method", "resource", "namespace", "name", "subresource")


def parse_body(raw: bytes | None) -> tuple[str, Any] | None:
    """("body", parsed JSON) or, for a body that is not JSON, ("rawBody", its text)."""
    if not raw:
        return None
    try:
        return "body", json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "rawBody", raw.decode("utf-8", errors="replace")


class RequestLog:
    """A bounded, thread-safe list of request entries (plain JSON dicts), oldest first."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.lock = threading.Lock()
        self.entries: deque[JSON] = deque(maxlen=max(1, size))
        # Sequence numbers keep counting across clears, so `since` stays meaningful.
        self.seq = 0

    def record(self, method: str, path: str, query: dict[str, str], verb: str | None, resource: str | None,
               namespace: str | None, name: str | None, subresource: str | None, user_agent: str | None,
               raw: bytes | None) -> JSON:
        """Adds an entry and returns it; its `code` is filled in once the response starts."""
        entry: JSON = {
            "time": rfc3339_nano(now_ns()), "method": method, "path": path, "query": dict(query),
            "verb": verb, "resource": resource, "namespace": namespace, "name": name,
            "subresource": subresource, "code": None, "userAgent": user_agent,
        }
        if method in BODY_METHODS:
            parsed = parse_body(raw)
            if parsed is not None:
                entry[parsed[0]] = parsed[1]
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
        return entry

    def set_code(self, entry: JSON, code: int) -> None:
        with self.lock:
            if entry.get("code") is None:
                entry["code"] = code

    def set_created(self, entry: JSON, obj: Any) -> None:
        """Notes the uid the server gave a created object: what a client must copy into the
        ownerReferences of the objects it makes for it (and a test can compare)."""
        uid = (obj.get("metadata") or {}).get("uid") if isinstance(obj, dict) else None
        if uid:
            with self.lock:
                entry["uid"] = uid

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def query(self, filters: dict[str, str]) -> JSON:
        """`{"requests": [...], "seq": last sequence number}`: the entries matching every filter
        (exact match on verb, method, resource, namespace, name, subresource; `since=N` for
        entries after sequence number N), oldest first, the last `limit` of them if given."""
        since = int(filters.get("since") or 0)
        limit = int(filters["limit"]) if filters.get("limit") else None
        wanted = {key: filters[key] for key in FILTERS if key in filters}
        with self.lock:
            matching = [
                dict(entry) for entry in self.entries
                if entry["seq"] > since and all(str(entry.get(key) or "") == value for key, value in wanted.items())
            ]
            seq = self.seq
        if limit is not None:
            matching = matching[-limit:] if limit > 0 else []
        return {"requests": matching, "seq": seq}

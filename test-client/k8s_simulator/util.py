"""Small helpers shared by the simulator modules: time formats, names, JSON, copies."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import string
import time
import uuid
from typing import Any

JSON = dict[str, Any]

_ALNUM = string.ascii_lowercase + string.digits
# Kubernetes' generateName alphabet leaves out vowels and look-alike characters.
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def now_ns() -> int:
    """Wall-clock time in nanoseconds."""
    return time.time_ns()


def rfc3339(ts: float | None = None) -> str:
    """RFC 3339 with second precision and a `Z`, as metav1.Time serialises."""
    t = dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(ts: float | None = None) -> str:
    """RFC 3339 with microseconds, as metav1.MicroTime serialises."""
    t = dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(ns: int) -> str:
    """Fixed-width nanosecond timestamp, as the kubelet prefixes log lines."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(secs, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339_ns(text: str) -> int:
    """Parse RFC 3339 (any fraction length, `Z` or offset) into epoch nanoseconds."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ValueError(f"parsing time {text!r} as RFC3339")
    year, month, day, hour, minute, sec = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = dt.timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    base = dt.datetime(year, month, day, hour, minute, sec, tzinfo=tz)
    nanos = int((frac[1:] + "000000000")[:9]) if frac else 0
    return int(base.timestamp()) * 1_000_000_000 + nanos


def parse_rfc3339(text: str) -> float:
    """Parse RFC 3339 into epoch seconds."""
    return parse_rfc3339_ns(text) / 1e9


def new_uid() -> str:
    return str(uuid.uuid4())


def random_suffix(n: int = 5) -> str:
    """The random part of a generated name."""
    return "".join(random.choice(_GENERATE_ALPHABET) for _ in range(n))


def random_alnum(n: int) -> str:
    return "".join(random.choice(_ALNUM) for _ in range(n))


def deep(obj: Any) -> Any:
    """Deep copy of a JSON value (faster than copy.deepcopy for plain data)."""
    if isinstance(obj, dict):
        return {k: deep(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [deep(v) for v in obj]
    return obj


def dumps(obj: Any) -> bytes:
    """Compact JSON followed by a newline, as the API server writes."""
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def meta(obj: JSON) -> JSON:
    """The object's metadata, created when missing."""
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def get_path(obj: Any, *keys: str | int, default: Any = None) -> Any:
    """Walk nested dicts/lists, returning default when any step is missing."""
    cur = obj
    for k in keys:
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur) or k < -len(cur):
                return default
            cur = cur[k]
        else:
            if not isinstance(cur, dict) or k not in cur:
                return default
            cur = cur[k]
    return cur


def format_age(seconds: float) -> str:
    """kubectl's short human duration (`5s`, `3m12s`, `2d4h`)."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        rem = s % 60
        return f"{m}m{rem}s" if rem else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        rem = (s % 3600) // 60
        return f"{h}h{rem}m" if rem else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        rem = h % 24
        return f"{d}d{rem}h" if rem else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    return f"{d // 365}y"


__all__ = [
    "JSON",
    "deep",
    "dumps",
    "format_age",
    "get_path",
    "meta",
    "new_uid",
    "now_ns",
    "parse_rfc3339",
    "parse_rfc3339_ns",
    "random_alnum",
    "random_suffix",
    "rfc3339",
    "rfc3339_micro",
    "rfc3339_nano",
]

"""What goes to stdout: replies and other JSON, nothing else (progress goes to stderr)."""

from __future__ import annotations

import json
import sys
from typing import Any

from .rpc import Reply


def print_json(value: Any, compact: bool) -> None:
    text = json.dumps(value, separators=(",", ":")) if compact else json.dumps(value, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_reply(reply: Reply, compact: bool) -> None:
    """The reply as JSON, or as it came when it is not JSON."""
    try:
        body: Any = reply.json
    except ValueError:
        sys.stdout.write(reply.raw.decode("utf-8", errors="replace") + "\n")
        sys.stdout.flush()
        return
    print_json(body, compact)

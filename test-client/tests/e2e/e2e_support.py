"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
TEST_CLIENT_DIR = REPO_ROOT / "test-client"

# A few small input files with known counts: a plain one, a multi-line one, one in a
# sub-folder and one with non-ASCII text.
SAMPLE_INPUTS: dict[str, str] = {
    "alpha.txt": "one two three\n",
    "notes/beta.txt": "first line\nsecond line here\n\nfourth line, after an empty one\n",
    "gamma.md": "# Gamma\n\nUnicode: café, naïve, Ωmega ✓\n",
}

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
REPLY_TIMEOUT = 180.0


def expected_counts(text: str) -> dict[str, int]:
    data = text.encode("utf-8")
    return {"lines": len(text.splitlines()), "words": len(text.split()), "bytes": len(data)}


def total_bytes(inputs: dict[str, str]) -> int:
    return sum(len(text.encode("utf-8")) for text in inputs.values())


def write_inputs(folder: Path, inputs: dict[str, str] = SAMPLE_INPUTS) -> Path:
    for key, text in inputs.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def upload_inputs(s3: Any, bucket: str, inputs: dict[str, str] = SAMPLE_INPUTS) -> None:
    for key, text in inputs.items():
        s3.put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType="text/plain; charset=utf-8"
        )


def read_json_object(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    value = json.loads(body)
    assert isinstance(value, dict), f"{key} is not a JSON object: {body!r}"
    return value


def describe(reply: dict[str, Any]) -> str:
    """The reply, pretty-printed, for assertion messages."""
    return json.dumps(reply, indent=2, sort_keys=True)

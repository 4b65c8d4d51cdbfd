#!/usr/bin/env python3
"""Writes differential.json: random S3 requests signed by botocore's S3SigV4Auth.

The Swift test `SigV4DifferentialTests` signs every request again with `SigV4Signer` and
expects botocore's canonical request and Authorization header, byte for byte.

Run it from anywhere: `python3 Tests/ObjectStoreTests/Vectors/generate_differential.py`.
The output depends only on SEED and COUNT (and on botocore's signing rules), so running it
again leaves the committed file unchanged.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode, percent_encode_sequence

SEED = 20240229
COUNT = 1000
OUTPUT = Path(__file__).resolve().parent / "differential.json"

ACCESS_KEY = "AKIDEXAMPLEDIFF"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLE+token/with=padding=="
METHODS = ["GET", "PUT", "HEAD", "DELETE", "POST"]
REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-2", "us-gov-west-1"]
# Signing times: a leap day, single-digit fields, the turn of a year.
TIMESTAMPS = [
    datetime.datetime(2024, 2, 29, 23, 59, 59),
    datetime.datetime(2015, 8, 30, 12, 36, 0),
    datetime.datetime(2031, 1, 2, 3, 4, 5),
    datetime.datetime(1999, 12, 31, 23, 59, 59),
]
# Endpoints: (scheme://authority, path-style?) — the Host header comes from the authority.
ENDPOINTS = [
    ("http://127.0.0.1:8333", True),
    ("https://s3.amazonaws.com", True),
    ("http://localhost:9000", True),
    ("https://s3.eu-west-3.amazonaws.com", False),
]

# Pieces that keys, query names and values are built from.
KEY_PIECES = [
    "a", "Z", "0", "9", "-", "_", ".", "~", " ", "  ", "+", "%", "%2F", "%%", "=", "&", "?", "#",
    "/", "//", "./", "../", "!", "*", "'", "(", ")", ":", "@", ",", ";", "$", "[", "]", "{", "}",
    "é", "ü", "ß", "ሴ", "中文", "😀", "\u00a0", "logs", "job-42", "pod.log", "data.bin", "x y",
]
QUERY_PIECES = [
    "a", "B", "7", "-", "_", ".", "~", " ", "+", "%", "%20", "=", "&", "/", "?", "#", ":",
    "é", "ሴ", "😀", "uploads", "partNumber", "list-type", "prefix", "max-keys", "x y",
]
HEADER_NAMES = [
    "Content-Type", "Content-Language", "Cache-Control", "Range", "If-None-Match",
    "If-Match", "x-amz-storage-class", "x-amz-acl", "X-Amz-Meta-Owner", "x-amz-meta-run",
    "X-AMZ-META-MIXED", "x-amz-tagging", "My-Header1", "x-custom",
]
HEADER_VALUE_PIECES = [
    "value", "text/plain", "bytes=0-99", "\"etag\"", "a", "b", "c", "1", "=", ",", ";", ":",
    "/", "(x)", "STANDARD", "key=val&k2=v2", "private", "UPPER", "Mixed", "~", "*",
]


def fixed_clock(moment: datetime.datetime) -> None:
    """Pins the time botocore signs at: `SigV4Auth.add_auth` asks this function."""
    botocore.auth.get_current_datetime = lambda *args, **kwargs: moment


class RecordingS3SigV4Auth(botocore.auth.S3SigV4Auth):
    """botocore's S3 signer, keeping the canonical request it signed."""

    canonical: str = ""

    def string_to_sign(self, request: AWSRequest, canonical_request: str) -> str:
        self.canonical = canonical_request
        return super().string_to_sign(request, canonical_request)


def text(rng: random.Random, pieces: list[str], low: int, high: int) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(low, high)))


def key_for(rng: random.Random) -> str:
    key = text(rng, KEY_PIECES, 1, 8)
    return key if rng.random() > 0.05 else "/" + key  # a leading slash makes `//` after the bucket


def query_for(rng: random.Random) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        name = text(rng, QUERY_PIECES, 1, 3)
        value = "" if rng.random() < 0.25 else text(rng, QUERY_PIECES, 1, 4)
        pairs.append((name, value))
        if rng.random() < 0.2:  # the same name again with another value
            pairs.append((name, text(rng, QUERY_PIECES, 0, 3)))
    return pairs


def header_value(rng: random.Random) -> str:
    words = [rng.choice(HEADER_VALUE_PIECES) for _ in range(rng.randint(0, 4))]
    value = ""
    for word in words:
        value += rng.choice([" ", "  ", "   ", "\t", " \t "]) + word if value else word
    return rng.choice(["", " ", "  "]) + value + rng.choice(["", " ", "   "])


def headers_for(rng: random.Random) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for _ in range(rng.choice([0, 1, 2, 3, 4])):
        name = rng.choice(HEADER_NAMES)
        headers.append((name, header_value(rng)))
        if rng.random() < 0.25:  # repeated, spelled in another case
            headers.append((rng.choice([name.lower(), name.upper()]), header_value(rng)))
    return headers


def sign(index: int, rng: random.Random) -> dict[str, Any]:
    method = rng.choice(METHODS)
    endpoint, path_style = rng.choice(ENDPOINTS)
    region = rng.choice(REGIONS)
    moment = rng.choice(TIMESTAMPS)
    token = SESSION_TOKEN if rng.random() < 0.15 else None
    bucket = f"bucket-{rng.randint(0, 999)}"
    key = key_for(rng)
    query = query_for(rng)
    headers = headers_for(rng)
    unsigned = rng.random() < 0.2
    body = rng.randbytes(rng.randint(1, 64)) if method in ("PUT", "POST") and rng.random() < 0.8 else b""

    # The path as botocore's REST serializer renders `/{Bucket}/{Key+}` (`{Key+}` is greedy).
    scheme, authority = endpoint.split("://")
    if path_style:
        url = f"{endpoint}/{percent_encode(bucket)}/{percent_encode(key, safe='/~')}"
    else:
        url = f"{scheme}://{bucket}.{authority}/{percent_encode(key, safe='/~')}"
    if query:
        url += "?" + percent_encode_sequence(query)

    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends, so repeated names stay repeated
    if unsigned:
        request.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": False})
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    auth = RecordingS3SigV4Auth(credentials, "s3", region)
    fixed_clock(moment)
    auth.add_auth(request)

    return {
        "name": f"case-{index:04d}",
        "method": method,
        "bucket": bucket,
        "key": key,
        "url": url,
        "path": urlsplit(url).path,
        "host": auth.headers_to_sign(request)["host"],
        "query": [[name, value] for name, value in query],
        "headers": [[name, value] for name, value in headers],
        "bodyBase64": base64.b64encode(body).decode("ascii"),
        "unsignedPayload": unsigned,
        "region": region,
        "sessionToken": token,
        "amzDate": request.context["timestamp"],
        "epochSeconds": int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()),
        "payloadHash": request.headers["X-Amz-Content-SHA256"],
        "canonicalRequest": auth.canonical,
        "authorization": request.headers["Authorization"],
    }


def main() -> int:
    rng = random.Random(SEED)
    cases = [sign(index, rng) for index in range(COUNT)]
    document = {
        "source": "botocore.auth.S3SigV4Auth via generate_differential.py",
        "seed": SEED,
        "accessKeyID": ACCESS_KEY,
        "secretAccessKey": SECRET_KEY,
        "cases": cases,
    }
    lines = ",\n".join("    " + json.dumps(case, ensure_ascii=False) for case in document.pop("cases"))
    header = json.dumps(document, ensure_ascii=False, indent=2)[:-2]
    OUTPUT.write_text(header + ',\n  "cases": [\n' + lines + "\n  ]\n}\n", encoding="utf-8")
    print(f"wrote {len(cases)} signed requests to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

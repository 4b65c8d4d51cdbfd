#!/usr/bin/env python3
"""Cloud Worker sample job: word counts for every object of the input bucket.

Environment (set by the worker on the Job's container, SPEC §4):
  INPUT_BUCKET, OUTPUT_BUCKET      buckets to read and write (OUTPUT defaults to INPUT)
  AWS_ENDPOINT_URL                 S3 endpoint (else http://MINIO_SERVICE_HOST:MINIO_SERVICE_PORT)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
  FILE_PREFIX                      only read input keys starting with this prefix
Knobs for tests:
  SAMPLE_JOB_SLEEP_SECONDS         sleep this long before starting
  SAMPLE_JOB_LOG_LINES             print this many extra numbered log lines
  SAMPLE_JOB_EXIT_CODE             exit with this code after the work and the logging

For each input object ``KEY`` it writes ``results/KEY.wordcount.json`` with the line, word and
byte counts, prints a line per file and a summary, and writes ``processed N files, M bytes``
to the termination-message file ($TERMINATION_MESSAGE_PATH, else /dev/termination-log).
Objects under ``results/`` and ``logs/`` are outputs, never inputs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

OUTPUT_PREFIXES = ("results/", "logs/")
DEFAULT_TERMINATION_PATH = "/dev/termination-log"


def log(message: str) -> None:
    print(f"[sample-job] {message}", flush=True)


def env_int(name: str, default: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        log(f"ignoring {name}={raw!r}: not an integer")
        return default


def env_float(name: str, default: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        log(f"ignoring {name}={raw!r}: not a number")
        return default


def s3_endpoint() -> str | None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_S3")
    if endpoint:
        return endpoint
    host = os.environ.get("MINIO_SERVICE_HOST")
    if host:
        port = os.environ.get("MINIO_SERVICE_PORT", "9000")
        return f"http://{host}:{port}"
    return None  # AWS itself


def make_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint(),
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def count(data: bytes) -> dict[str, int]:
    text = data.decode("utf-8", errors="replace")
    return {"lines": len(text.splitlines()), "words": len(text.split()), "bytes": len(data)}


def write_termination_message(message: str) -> None:
    path = os.environ.get("TERMINATION_MESSAGE_PATH") or DEFAULT_TERMINATION_PATH
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(message)
    except OSError as exc:
        log(f"cannot write the termination message to {path}: {exc}")


def list_inputs(client: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/") or key.startswith(OUTPUT_PREFIXES):
                continue
            objects.append(item)
    return objects


def run() -> int:
    sleep_seconds = env_float("SAMPLE_JOB_SLEEP_SECONDS")
    extra_lines = env_int("SAMPLE_JOB_LOG_LINES")
    exit_code = env_int("SAMPLE_JOB_EXIT_CODE")
    input_bucket = os.environ.get("INPUT_BUCKET", "")
    output_bucket = os.environ.get("OUTPUT_BUCKET") or input_bucket
    prefix = os.environ.get("FILE_PREFIX", "")

    log(f"starting: input bucket {input_bucket!r}, output bucket {output_bucket!r}, prefix {prefix!r}")
    if sleep_seconds > 0:
        log(f"sleeping {sleep_seconds:g}s")
        time.sleep(sleep_seconds)
    if not input_bucket:
        log("error: INPUT_BUCKET is not set")
        write_termination_message("error: INPUT_BUCKET is not set")
        return 2

    client = make_client()
    files = 0
    total_bytes = 0
    total_words = 0
    for item in list_inputs(client, input_bucket, prefix):
        key = item["Key"]
        data = client.get_object(Bucket=input_bucket, Key=key)["Body"].read()
        counts = count(data)
        result = {"bucket": input_bucket, "key": key, **counts}
        client.put_object(
            Bucket=output_bucket,
            Key=f"results/{key}.wordcount.json",
            Body=(json.dumps(result, sort_keys=True) + "\n").encode("utf-8"),
            ContentType="application/json",
        )
        log(f"file {key}: {counts['lines']} lines, {counts['words']} words, {counts['bytes']} bytes")
        files += 1
        total_bytes += counts["bytes"]
        total_words += counts["words"]

    for number in range(1, extra_lines + 1):
        log(f"extra log line {number} of {extra_lines}")

    summary = f"processed {files} files, {total_bytes} bytes"
    log(f"summary: {summary} ({total_words} words)")
    write_termination_message(summary)
    if exit_code:
        log(f"exiting with code {exit_code} (SAMPLE_JOB_EXIT_CODE)")
    return exit_code


def main() -> int:
    try:
        return run()
    except Exception as exc:  # report, then fail like any crashing container
        log(f"error: {type(exc).__name__}: {exc}")
        write_termination_message(f"error: {type(exc).__name__}: {exc}"[:4096])
        return 1


if __name__ == "__main__":
    sys.exit(main())

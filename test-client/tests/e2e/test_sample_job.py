"""The sample job run by hand, with the environment a Job's container gets, against SeaweedFS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    SAMPLE_INPUTS,
    TEST_CLIENT_DIR,
    expected_counts,
    read_json_object,
    total_bytes,
    upload_inputs,
)

pytestmark = pytest.mark.e2e

JOB = TEST_CLIENT_DIR / "sample-job" / "job.py"


def run_job(
    endpoints: Any, tmp_path: Path, input_bucket: str, output_bucket: str, **extra: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    termination = tmp_path / "termination-log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAMPLE_JOB_"))}
    env.update(
        {
            "INPUT_BUCKET": input_bucket,
            "OUTPUT_BUCKET": output_bucket,
            "AWS_ENDPOINT_URL": endpoints.s3_endpoint,
            "AWS_REGION": endpoints.s3_region,
            "AWS_ACCESS_KEY_ID": endpoints.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": endpoints.s3_secret_access_key,
            "TERMINATION_MESSAGE_PATH": str(termination),
        }
    )
    env.update(extra)
    completed = subprocess.run(
        [sys.executable, str(JOB)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=120,
    )
    message = termination.read_text(encoding="utf-8") if termination.exists() else ""
    return completed, message


def test_counts_every_input(
    endpoints: Any, s3: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    input_bucket, output_bucket = bucket_factory("job-in"), bucket_factory("job-out")
    upload_inputs(s3, input_bucket)

    completed, message = run_job(endpoints, tmp_path, input_bucket, output_bucket)

    assert completed.returncode == 0, completed.stdout
    expected = f"processed {len(SAMPLE_INPUTS)} files, {total_bytes(SAMPLE_INPUTS)} bytes"
    assert message == expected
    assert f"summary: {expected}" in completed.stdout
    for key, text in SAMPLE_INPUTS.items():
        assert read_json_object(s3, output_bucket, f"results/{key}.wordcount.json") == {
            "bucket": input_bucket, "key": key, **expected_counts(text)
        }
        assert f"file {key}: " in completed.stdout


def test_outputs_in_the_input_bucket_are_not_inputs(
    endpoints: Any, s3: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    bucket = bucket_factory("job-same")
    upload_inputs(s3, bucket, {"a.txt": "a b\n"})
    s3.put_object(Bucket=bucket, Key="logs/old-job/pod.log", Body=b"old log\n")

    for _ in range(2):  # a second run must not count the first run's results
        completed, message = run_job(endpoints, tmp_path, bucket, bucket)
        assert completed.returncode == 0, completed.stdout
        assert message == "processed 1 files, 4 bytes"


def test_file_prefix_limits_the_inputs(
    endpoints: Any, s3: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    bucket = bucket_factory("job-prefix")
    upload_inputs(s3, bucket)
    completed, message = run_job(endpoints, tmp_path, bucket, bucket, FILE_PREFIX="notes/")
    assert completed.returncode == 0, completed.stdout
    beta = SAMPLE_INPUTS["notes/beta.txt"]
    assert message == f"processed 1 files, {len(beta.encode())} bytes"


def test_exit_code_and_log_lines_knobs(
    endpoints: Any, s3: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    bucket = bucket_factory("job-knobs")
    upload_inputs(s3, bucket, {"a.txt": "x\n"})
    completed, message = run_job(
        endpoints, tmp_path, bucket, bucket,
        SAMPLE_JOB_EXIT_CODE="3", SAMPLE_JOB_LOG_LINES="4", SAMPLE_JOB_SLEEP_SECONDS="0.2",
    )
    assert completed.returncode == 3, completed.stdout
    assert message == "processed 1 files, 2 bytes"
    lines = completed.stdout.splitlines()
    assert [line for line in lines if "extra log line" in line] == [
        f"[sample-job] extra log line {n} of 4" for n in range(1, 5)
    ]
    assert lines[-1] == "[sample-job] exiting with code 3 (SAMPLE_JOB_EXIT_CODE)"
    # The work was done before the failure.
    assert json.loads(
        s3.get_object(Bucket=bucket, Key="results/a.txt.wordcount.json")["Body"].read()
    )["words"] == 1


def test_wrong_credentials_fail_with_a_message(
    endpoints: Any, s3: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    bucket = bucket_factory("job-creds")
    completed, message = run_job(
        endpoints, tmp_path, bucket, bucket, AWS_SECRET_ACCESS_KEY="not-the-secret"
    )
    assert completed.returncode == 1, completed.stdout
    assert "SignatureDoesNotMatch" in completed.stdout
    assert message.startswith("error: ClientError")

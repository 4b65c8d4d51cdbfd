"""The local S3 store really checks SigV4 signatures: a wrong secret or an unknown key is
refused. Without this, the worker's signing code could be wrong and every test still pass."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from cloud_worker_client.storage import error_code, make_s3_client

pytestmark = pytest.mark.e2e


def expect_error(code: str, call: Any) -> None:
    with pytest.raises(ClientError) as info:
        call()
    assert error_code(info.value) == code, info.value.response


def test_right_credentials_work(s3: Any, bucket_factory: Any) -> None:
    bucket = bucket_factory("sig")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello", ContentType="text/plain; charset=utf-8")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hello"
    assert s3.head_object(Bucket=bucket, Key="a.txt")["ContentType"] == "text/plain; charset=utf-8"
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_wrong_secret_is_rejected(s3: Any, bucket_factory: Any, client_config: Any) -> None:
    bucket = bucket_factory("sig")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    wrong = make_s3_client(
        client_config, secret_access_key=client_config.s3_secret_access_key[:-1] + "X", retries=1
    )
    expect_error("SignatureDoesNotMatch", wrong.list_buckets)
    expect_error("SignatureDoesNotMatch", lambda: wrong.get_object(Bucket=bucket, Key="a.txt"))
    expect_error(
        "SignatureDoesNotMatch", lambda: wrong.put_object(Bucket=bucket, Key="b.txt", Body=b"x")
    )
    # Nothing was written by the refused request.
    expect_error("404", lambda: s3.head_object(Bucket=bucket, Key="b.txt"))


def test_unknown_access_key_is_rejected(s3: Any, client_config: Any) -> None:
    unknown = make_s3_client(client_config, access_key_id="NOSUCHACCESSKEY0000", retries=1)
    expect_error("InvalidAccessKeyId", unknown.list_buckets)

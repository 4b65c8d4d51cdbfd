"""S3 access for the test client: boto3 with SigV4 and path-style addressing.

Path-style (``http://host:port/bucket/key``) because local stores such as SeaweedFS and MinIO
have no per-bucket DNS names; SigV4 because that is what the worker and AWS use.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .config import ClientConfig

# boto3 clients are generated at run time; their static type is not worth a stub package.
S3Client = Any


def make_s3_client(
    config: ClientConfig,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    retries: int = 3,
    timeout: float = 30.0,
) -> S3Client:
    """A boto3 S3 client for ``config``; the key and secret may be overridden."""
    return boto3.client(
        "s3",
        endpoint_url=config.s3_endpoint,
        aws_access_key_id=access_key_id or config.s3_access_key_id,
        aws_secret_access_key=secret_access_key or config.s3_secret_access_key,
        region_name=config.s3_region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=min(timeout, 10.0),
            read_timeout=timeout,
            retries={"max_attempts": retries, "mode": "standard"},
        ),
    )


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (e.g. ``SignatureDoesNotMatch``)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code")) or None
    return None


class Storage:
    """Bucket and folder operations used by the CLI and the tests."""

    def __init__(self, config: ClientConfig, client: S3Client | None = None) -> None:
        self.config = config
        self.client: S3Client = client if client is not None else make_s3_client(config)

    # -- buckets

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise

    def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` if missing. True when it was created."""
        if self.bucket_exists(bucket):
            return False
        try:
            self.client.create_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return False
            raise
        return True

    def delete_bucket(self, bucket: str) -> None:
        """Delete every object of ``bucket``, then the bucket. Missing bucket: no error."""
        if not self.bucket_exists(bucket):
            return
        for obj in self.list_objects(bucket):
            self.client.delete_object(Bucket=bucket, Key=obj.key)
        self.client.delete_bucket(Bucket=bucket)

    # -- objects

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield StoredObject(key=item["Key"], size=int(item["Size"]))

    def put_text(
        self, bucket: str, key: str, text: str, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        self.client.put_object(
            Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type
        )

    def get_bytes(self, bucket: str, key: str) -> bytes:
        response = self.client.get_object(Bucket=bucket, Key=key)
        body: bytes = response["Body"].read()
        return body

    def get_text(self, bucket: str, key: str) -> str:
        return self.get_bytes(bucket, key).decode("utf-8", errors="replace")

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client.head_object(Bucket=bucket, Key=key)
        return result

    # -- folders

    def upload_dir(self, bucket: str, folder: str | Path, prefix: str = "") -> list[str]:
        """Upload every file under ``folder`` to ``bucket`` as ``prefix`` + relative path.

        Returns the keys written, sorted. Hidden files and folders (``.name``) are skipped.
        """
        root = Path(folder)
        if not root.is_dir():
            raise NotADirectoryError(f"input folder {root} does not exist or is not a folder")
        keys: list[str] = []
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            key = join_key(prefix, relative.as_posix())
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/"):
                content_type += "; charset=utf-8"
            self.client.upload_file(
                str(path), bucket, key, ExtraArgs={"ContentType": content_type}
            )
            keys.append(key)
        return keys

    def download_prefix(
        self,
        bucket: str,
        prefix: str,
        folder: str | Path,
        *,
        exclude: set[str] | frozenset[str] = frozenset(),
    ) -> list[Path]:
        """Download every object under ``prefix`` into ``folder``, keeping the key layout.

        Keys in ``exclude`` are skipped. Returns the files written, in key order.
        """
        root = Path(folder)
        written: list[Path] = []
        for obj in self.list_objects(bucket, prefix):
            if obj.key in exclude or obj.key.endswith("/"):
                continue
            relative = obj.key[len(prefix) :].lstrip("/") if prefix else obj.key
            target = safe_join(root, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(bucket, obj.key, str(target))
            written.append(target)
        return written


def join_key(prefix: str, name: str) -> str:
    if not prefix:
        return name
    return prefix.rstrip("/") + "/" + name.lstrip("/")


def safe_join(root: Path, key: str) -> Path:
    """``root / key`` for an object key, refusing keys that would leave ``root``."""
    parts = [p for p in PurePosixPath(key).parts if p not in ("", ".", "/")]
    if not parts or ".." in parts:
        raise ValueError(f"refusing to write object key {key!r} outside {root}")
    return root.joinpath(*parts)

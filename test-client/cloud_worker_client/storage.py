"""S3 access for the test client: boto3 with SigV4 and path-style addressing.

Path-style (``http://host:port/bucket/key``) because local stores such as SeaweedFS and MinIO
have no per-bucket DNS names; SigV4 because that is what the worker and AWS use.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

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
    modified: datetime | None = None


class TransferProgress(Protocol):
    """Told how a folder transfer goes (progress.Transfer shows it on a terminal)."""

    def begin(self, files: int, total_bytes: int) -> None: ...

    def advance(self, transferred: int) -> None:
        """TRANSFERRED more bytes; boto3 calls it from its transfer threads."""

    def file_done(self) -> None: ...


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
                yield StoredObject(key=item["Key"], size=int(item["Size"]), modified=item.get("LastModified"))

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

    def upload_dir(
        self, bucket: str, folder: str | Path, prefix: str = "", progress: TransferProgress | None = None
    ) -> list[str]:
        """Upload every file under ``folder`` to ``bucket`` as ``prefix`` + relative path.

        Returns the keys written, sorted. Hidden files and folders (``.name``) are skipped.
        """
        root = Path(folder)
        if not root.is_dir():
            raise NotADirectoryError(f"input folder {root} does not exist or is not a folder")
        files = [
            path for path in sorted(root.rglob("*"))
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
        ]
        if progress is not None:
            progress.begin(len(files), sum(path.stat().st_size for path in files))
        keys: list[str] = []
        for path in files:
            key = join_key(prefix, path.relative_to(root).as_posix())
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/"):
                content_type += "; charset=utf-8"
            self.client.upload_file(
                str(path), bucket, key, ExtraArgs={"ContentType": content_type},
                Callback=progress.advance if progress is not None else None,
            )
            keys.append(key)
            if progress is not None:
                progress.file_done()
        return keys

    def download_prefix(
        self,
        bucket: str,
        prefix: str,
        folder: str | Path,
        *,
        exclude: set[str] | frozenset[str] = frozenset(),
        progress: TransferProgress | None = None,
    ) -> list[Path]:
        """Download every object under ``prefix`` into ``folder``, keeping the key layout
        below the prefix.

        Keys in ``exclude`` are skipped. Returns the files written, in key order.
        """
        objects = [obj for obj in self.list_objects(bucket, prefix) if obj.key not in exclude]
        return self.download_objects(bucket, objects, folder, prefix=prefix, progress=progress)

    def download_objects(
        self,
        bucket: str,
        objects: Iterable[StoredObject],
        folder: str | Path,
        *,
        prefix: str = "",
        progress: TransferProgress | None = None,
    ) -> list[Path]:
        """Download OBJECTS into ``folder``, each at its key less ``prefix``; folder markers
        (keys ending in '/') are skipped. Returns the files written."""
        wanted = [obj for obj in objects if not obj.key.endswith("/")]
        if progress is not None:
            progress.begin(len(wanted), sum(obj.size for obj in wanted))
        written: list[Path] = []
        for obj in wanted:
            relative = obj.key[len(prefix) :].lstrip("/") if prefix else obj.key
            target = safe_join(Path(folder), relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(
                bucket, obj.key, str(target), Callback=progress.advance if progress is not None else None
            )
            written.append(target)
            if progress is not None:
                progress.file_done()
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

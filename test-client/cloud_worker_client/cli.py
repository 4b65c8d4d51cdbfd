"""``cloud-worker-client``: upload inputs, submit a job request, wait, download the outputs.

Run ``cloud-worker-client --help`` and ``cloud-worker-client COMMAND --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pika.exceptions
from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from .config import SAMPLE_JOB_IMAGE, ClientConfig
from .messages import (
    build_cancel_request,
    build_job_request,
    log_keys,
    parse_key_values,
    summarize,
)
from .rpc import Reply, RpcClient, RpcError
from .storage import Storage, safe_join

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DESCRIPTION = """\
Test client for Cloud Worker: uploads input files to S3, publishes a job request to RabbitMQ,
waits for the worker's reply and downloads the results and logs.

Endpoints come from the environment (the output of `scripts/services.sh env`: AMQP_URL,
S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION; the worker's CLOUD_WORKER_*
names work too) and default to the local services on 127.0.0.1.
"""


class Progress:
    """``waiting for reply… 12s`` on stderr: rewritten in place on a terminal, every 10 s
    as a new line otherwise."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.dirty = False

    def __call__(self, elapsed: float) -> None:
        if not self.enabled:
            return
        seconds = int(elapsed)
        if self.tty:
            self.stream.write(f"\rwaiting for reply… {seconds}s")
            self.dirty = True
        elif seconds % 10 == 0:
            self.stream.write(f"waiting for reply… {seconds}s\n")
        self.stream.flush()

    def done(self) -> None:
        if self.dirty:
            self.stream.write("\n")
            self.stream.flush()
            self.dirty = False


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- argument parsing


def connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (defaults from the environment)")
    group.add_argument("--amqp-url", help="RabbitMQ URL (env CLOUD_WORKER_AMQP_URL, AMQP_URL)")
    group.add_argument(
        "--exchange",
        help="request exchange (env CLOUD_WORKER_REQUEST_EXCHANGE, default cloud-worker); "
        "'' publishes to the default exchange",
    )
    group.add_argument(
        "--request-queue",
        help="request queue (env CLOUD_WORKER_REQUEST_QUEUE, default cloud-worker.requests)",
    )
    group.add_argument(
        "--routing-key",
        help="routing key (env CLOUD_WORKER_REQUEST_ROUTING_KEY, default: the request queue)",
    )
    group.add_argument(
        "--reply-queue",
        help="wait for the reply on this durable, shared queue instead of a private one",
    )
    group.add_argument(
        "--declare",
        action="store_true",
        help="declare the request exchange, queue and binding before publishing",
    )
    group.add_argument("--s3-endpoint", help="S3 endpoint (env S3_ENDPOINT)")
    group.add_argument("--s3-access-key-id", help="S3 access key id (env S3_ACCESS_KEY_ID)")
    group.add_argument(
        "--s3-secret-access-key", help="S3 secret access key (env S3_SECRET_ACCESS_KEY)"
    )
    group.add_argument("--s3-region", help="S3 region (env S3_REGION, default us-east-1)")
    return parent


def s3_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("S3 (defaults from the environment)")
    group.add_argument("--s3-endpoint", help="S3 endpoint (env S3_ENDPOINT)")
    group.add_argument("--s3-access-key-id", help="S3 access key id (env S3_ACCESS_KEY_ID)")
    group.add_argument(
        "--s3-secret-access-key", help="S3 secret access key (env S3_SECRET_ACCESS_KEY)"
    )
    group.add_argument("--s3-region", help="S3 region (env S3_REGION, default us-east-1)")
    return parent


def positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloud-worker-client",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    conn = connection_options()

    submit = commands.add_parser(
        "submit",
        parents=[conn],
        help="upload inputs, submit a job, wait for the reply, download outputs",
        description="Upload --input-dir to --input-bucket, publish a job request, wait for "
        "the reply (progress on stderr), print it as JSON on stdout and download the "
        "output bucket's new objects (results and logs/...) into --download-dir. Exit "
        "status 0 when the reply's status is 'succeeded', 1 otherwise.",
    )
    submit.add_argument("--image", required=True, help=f"container image, e.g. {SAMPLE_JOB_IMAGE}")
    submit.add_argument("--job-name", required=True, help="the job's name (jobName)")
    submit.add_argument("--input-dir", type=Path, help="folder to upload before submitting")
    submit.add_argument("--input-prefix", default="", help="key prefix for the uploaded files")
    submit.add_argument("--input-bucket", required=True, help="bucket the job reads")
    submit.add_argument("--output-bucket", help="bucket for results and logs (default: input)")
    submit.add_argument("--timeout-minutes", type=positive_int, help="timeOut in minutes")
    submit.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the job's container (repeatable)",
    )
    submit.add_argument("--prefix", help="MSTC file prefix (FILE_PREFIX in the job's env)")
    submit.add_argument("--backoff-limit", type=positive_int, help="retries (backoffLimit)")
    submit.add_argument(
        "--command", help='override the entrypoint, as a JSON array: \'["python3","x.py"]\''
    )
    submit.add_argument("--args", help="override the arguments, as a JSON array")
    submit.add_argument("--request-id", help="message_id/correlation_id (default: random)")
    submit.add_argument(
        "--download-dir",
        type=Path,
        help="where to download outputs (default: ./cloud-worker-output/<k8s job>)",
    )
    submit.add_argument("--no-download", action="store_true", help="do not download outputs")
    submit.add_argument(
        "--download-all",
        action="store_true",
        help="download every object of the output bucket, not only those written by this run",
    )
    submit.add_argument(
        "--wait-seconds",
        type=float,
        default=1800.0,
        help="how long to wait for the reply (default 1800)",
    )
    submit.add_argument(
        "--json", action="store_true", help="print the reply as one compact JSON line"
    )
    submit.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    submit.set_defaults(handler=cmd_submit)

    publish = commands.add_parser(
        "publish",
        parents=[conn],
        help="publish a raw message body (e.g. bad input) and optionally wait for a reply",
        description="Publish BODY as-is to the request exchange. With --wait-seconds, wait "
        "for the reply and print it. Exit status 0 when published (and, if waiting, a "
        "reply arrived), 1 otherwise.",
    )
    body = publish.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the message body (any text, JSON or not)")
    body.add_argument("--body-file", type=Path, help="read the body from a file ('-': stdin)")
    publish.add_argument(
        "--content-type",
        default="application/json",
        help="content_type property ('' for none; default application/json)",
    )
    publish.add_argument("--type", dest="message_type", help="AMQP type property")
    publish.add_argument("--correlation-id", help="correlation_id (default: random)")
    publish.add_argument("--message-id", help="message_id (default: the correlation id)")
    publish.add_argument("--no-message-id", action="store_true", help="send no message_id")
    publish.add_argument(
        "--header", action="append", default=[], metavar="NAME=VALUE", help="AMQP header"
    )
    publish.add_argument("--no-reply-to", action="store_true", help="send no reply_to")
    publish.add_argument(
        "--wait-seconds",
        type=float,
        default=0.0,
        help="wait this long for the reply (default 0: do not wait)",
    )
    publish.add_argument("--json", action="store_true", help="print the reply compactly")
    publish.set_defaults(handler=cmd_publish)

    cancel = commands.add_parser(
        "cancel",
        parents=[conn],
        help="cancel a request by request id or job name",
        description='Publish {"cancel": TARGET} with type "cancel". The original request '
        "then gets a 'cancelled' reply on its own reply queue.",
    )
    cancel.add_argument("target", help="request id or job name to cancel")
    cancel.add_argument(
        "--wait-seconds",
        type=float,
        default=0.0,
        help="wait this long for a reply to the cancel message itself (default 0)",
    )
    cancel.set_defaults(handler=cmd_cancel)

    upload = commands.add_parser(
        "upload", parents=[s3_options()], help="upload a folder to a bucket"
    )
    upload.add_argument("--bucket", required=True)
    upload.add_argument("--dir", type=Path, required=True)
    upload.add_argument("--prefix", default="")
    upload.set_defaults(handler=cmd_upload)

    download = commands.add_parser(
        "download", parents=[s3_options()], help="download a bucket prefix to a folder"
    )
    download.add_argument("--bucket", required=True)
    download.add_argument("--dir", type=Path, required=True)
    download.add_argument("--prefix", default="")
    download.set_defaults(handler=cmd_download)

    get = commands.add_parser(
        "get", parents=[s3_options()], help="print one object's content on stdout"
    )
    get.add_argument("bucket")
    get.add_argument("key")
    get.set_defaults(handler=cmd_get)

    return parser


def config_from_args(args: argparse.Namespace) -> ClientConfig:
    return ClientConfig.from_env().with_overrides(
        amqp_url=getattr(args, "amqp_url", None),
        request_exchange=getattr(args, "exchange", None),
        request_queue=getattr(args, "request_queue", None),
        request_routing_key=getattr(args, "routing_key", None),
        s3_endpoint=args.s3_endpoint,
        s3_access_key_id=args.s3_access_key_id,
        s3_secret_access_key=args.s3_secret_access_key,
        s3_region=args.s3_region,
    )


def open_rpc(config: ClientConfig, args: argparse.Namespace) -> RpcClient:
    try:
        client = RpcClient(config, reply_queue=args.reply_queue)
    except pika.exceptions.AMQPError as exc:
        raise RpcError(f"setting up the reply queue failed: {exc!r}") from exc
    if args.declare:
        try:
            client.declare_request_topology()
        except pika.exceptions.AMQPError as exc:
            client.close()
            raise RpcError(f"declaring the request exchange and queue failed: {exc!r}") from exc
    return client


def print_reply(reply: Reply, compact: bool) -> None:
    try:
        body: Any = reply.json
    except ValueError:
        sys.stdout.write(reply.raw.decode("utf-8", errors="replace") + "\n")
        sys.stdout.flush()
        return
    text = json.dumps(body, separators=(",", ":")) if compact else json.dumps(body, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def json_array(text: str | None, name: str) -> list[str] | None:
    if text is None:
        return None
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a JSON array of strings")
    return value


# ---------------------------------------------------------------- commands


def cmd_submit(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    quiet = args.quiet
    say = (lambda _m: None) if quiet else info
    try:
        env = parse_key_values(args.env, "--env")
        command = json_array(args.command, "--command")
        arguments = json_array(args.args, "--args")
    except ValueError as exc:
        info(f"error: {exc}")
        return EXIT_USAGE
    output_bucket = args.output_bucket or args.input_bucket

    storage = Storage(config)
    uploaded: list[str] = []
    submitted_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    try:
        if storage.ensure_bucket(args.input_bucket):
            say(f"created bucket {args.input_bucket}")
        if output_bucket != args.input_bucket and storage.ensure_bucket(output_bucket):
            say(f"created bucket {output_bucket}")
        if args.input_dir is not None:
            uploaded = storage.upload_dir(args.input_bucket, args.input_dir, args.input_prefix)
            say(f"uploaded {len(uploaded)} file(s) from {args.input_dir} to s3://{args.input_bucket}/")
    except (ClientError, BotoCoreError, OSError) as exc:
        info(f"error: S3 ({config.s3_endpoint}): {exc}")
        return EXIT_FAILED

    request = build_job_request(
        image=args.image,
        job_name=args.job_name,
        input_bucket=args.input_bucket,
        output_bucket=args.output_bucket,
        timeout_minutes=args.timeout_minutes,
        env=env,
        command=command,
        args=arguments,
        prefix=args.prefix,
        backoff_limit=args.backoff_limit,
    )
    progress = Progress(sys.stderr, enabled=not quiet)
    try:
        with open_rpc(config, args) as rpc:
            published = rpc.publish(request, correlation_id=args.request_id)
            say(
                f"submitted request {published.correlation_id} to exchange "
                f"{published.exchange!r} (routing key {published.routing_key!r})"
            )
            try:
                reply = rpc.wait_for_reply(published.correlation_id, args.wait_seconds, progress)
            finally:
                progress.done()
    except RpcError as exc:
        info(f"error: {exc}")
        return EXIT_FAILED

    print_reply(reply, args.json)
    try:
        body = reply.json
    except ValueError:
        info("error: the reply is not a JSON object")
        return EXIT_FAILED
    say(summarize(body))

    if not args.no_download:
        target = args.download_dir or Path("cloud-worker-output") / str(
            body.get("k8sJob") or args.job_name
        )
        try:
            files = download_outputs(
                storage,
                bucket=str(body.get("outputBucket") or output_bucket),
                target=target,
                since=None if args.download_all else submitted_at,
                always=set(log_keys(body)),
                exclude=set(uploaded),
            )
        except (ClientError, BotoCoreError, OSError, ValueError) as exc:
            info(f"error: downloading outputs: {exc}")
            return EXIT_FAILED
        say(f"downloaded {len(files)} object(s) to {target}/")
        for path in files:
            say(f"  {path}")
    return EXIT_OK if body.get("status") == "succeeded" else EXIT_FAILED


def download_outputs(
    storage: Storage,
    *,
    bucket: str,
    target: Path,
    since: dt.datetime | None,
    always: set[str],
    exclude: set[str],
) -> list[Path]:
    """Download the output bucket's objects written since ``since`` (all when None) plus the
    keys in ``always``, except those in ``exclude`` (the inputs this run uploaded)."""
    keys: list[str] = []
    paginator = storage.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key in exclude or key.endswith("/"):
                continue
            if since is None or key in always or item["LastModified"] >= since:
                keys.append(key)
    for key in sorted(always - set(keys)):
        keys.append(key)
    written: list[Path] = []
    for key in keys:
        path = safe_join(target, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        storage.client.download_file(bucket, key, str(path))
        written.append(path)
    return written


def read_body(args: argparse.Namespace) -> bytes:
    if args.body is not None:
        return str(args.body).encode("utf-8")
    if str(args.body_file) == "-":
        return sys.stdin.buffer.read()
    return Path(args.body_file).read_bytes()


def cmd_publish(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        headers = parse_key_values(args.header, "--header")
        body = read_body(args)
    except (ValueError, OSError) as exc:
        info(f"error: {exc}")
        return EXIT_USAGE
    try:
        with open_rpc(config, args) as rpc:
            published = rpc.publish(
                body,
                correlation_id=args.correlation_id,
                message_id=args.message_id,
                use_message_id=not args.no_message_id,
                message_type=args.message_type,
                content_type=args.content_type or None,
                headers=headers,
                reply_to=not args.no_reply_to,
            )
            info(f"published {len(body)} bytes, correlation id {published.correlation_id}")
            if args.wait_seconds <= 0 or args.no_reply_to:
                return EXIT_OK
            progress = Progress(sys.stderr)
            try:
                reply = rpc.wait_for_reply(published.correlation_id, args.wait_seconds, progress)
            finally:
                progress.done()
    except RpcError as exc:
        info(f"error: {exc}")
        return EXIT_FAILED
    print_reply(reply, args.json)
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        with open_rpc(config, args) as rpc:
            published = rpc.publish(build_cancel_request(args.target), message_type="cancel")
            info(f"sent cancel for {args.target!r} (correlation id {published.correlation_id})")
            if args.wait_seconds <= 0:
                return EXIT_OK
            progress = Progress(sys.stderr)
            try:
                reply = rpc.wait_for_reply(published.correlation_id, args.wait_seconds, progress)
            finally:
                progress.done()
    except RpcError as exc:
        info(f"error: {exc}")
        return EXIT_FAILED
    print_reply(reply, False)
    return EXIT_OK


def cmd_upload(args: argparse.Namespace) -> int:
    storage = Storage(config_from_args(args))
    try:
        storage.ensure_bucket(args.bucket)
        keys = storage.upload_dir(args.bucket, args.dir, args.prefix)
    except (ClientError, BotoCoreError, OSError) as exc:
        info(f"error: {exc}")
        return EXIT_FAILED
    for key in keys:
        print(f"s3://{args.bucket}/{key}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    storage = Storage(config_from_args(args))
    try:
        files = storage.download_prefix(args.bucket, args.prefix, args.dir)
    except (ClientError, BotoCoreError, OSError, ValueError) as exc:
        info(f"error: {exc}")
        return EXIT_FAILED
    for path in files:
        print(path)
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    storage = Storage(config_from_args(args))
    try:
        data = storage.get_bytes(args.bucket, args.key)
    except (ClientError, BotoCoreError) as exc:
        info(f"error: s3://{args.bucket}/{args.key}: {exc}")
        return EXIT_FAILED
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        info(f"interrupted after {time.monotonic() - started:.0f}s")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

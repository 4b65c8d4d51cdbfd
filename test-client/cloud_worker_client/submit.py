"""`cloud-worker-client submit`: check the broker, upload the inputs, publish the request, wait
for the reply, download the outputs. Each phase is a line on stderr (progress.py).

Before anything is uploaded the request queue is checked: a missing queue is an error (no
worker has declared it; --declare makes it), and a queue no worker consumes is an error too,
since the reply would never come, unless --no-wait, which queues the request for a worker to
come and returns at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from .arguments import client_config
from .config import ClientConfig
from .messages import build_job_request, log_keys, summarize
from .output import print_reply
from .progress import Console, Transfer, WaitDisplay
from .rpc import RpcClient, RpcError, connect
from .status_api import StatusAPI
from .storage import Storage, StoredObject

EXIT_OK = 0
EXIT_FAILED = 1
# Objects written this long before the request was published still count as its outputs
# (clocks of the client and the S3 store differ a little).
CLOCK_SLACK = dt.timedelta(seconds=2)


def request_queue(args: argparse.Namespace, config: ClientConfig) -> str:
    """The queue the request lands in: the one named (--request-queue or its variable), else
    the routing key's namesake (the worker binds its queue under the queue's own name)."""
    named = args.request_queue is not None or ClientConfig.source("request_queue") is not None
    return config.request_queue if named else config.routing_key


def check_workers(rpc: RpcClient, queue: str, no_wait: bool, console: Console) -> bool:
    """Whether to go on: the request queue exists, and a worker consumes it (or --no-wait)."""
    consumers = rpc.queue_consumers(queue)
    if consumers is None:
        console.error(f"error: the request queue {queue!r} does not exist: no worker has started with these "
                    "settings (check --request-queue and --exchange; --declare creates the queue)")
        return False
    if consumers == 0:
        console.error(f"warning: no worker consumes the request queue {queue!r}: the request would wait "
                    "there until one starts (README.md, \"Run it yourself\")")
        if not no_wait:
            console.error("error: not submitting; --no-wait queues the request anyway and returns")
            return False
    else:
        console.say(f"{consumers} worker(s) consume {queue!r}")
    return True


def upload_inputs(storage: Storage, args: argparse.Namespace, output_bucket: str, console: Console) -> list[str]:
    """Make the buckets if missing, upload --input-dir; the keys uploaded."""
    for bucket in dict.fromkeys((args.input_bucket, output_bucket)):
        if storage.ensure_bucket(bucket):
            console.say(f"created bucket {bucket}")
    if args.input_dir is None:
        return []
    console.say(f"uploading {args.input_dir} to s3://{args.input_bucket}/{args.input_prefix}")
    transfer = Transfer(console, "uploading")
    try:
        keys = storage.upload_dir(args.input_bucket, args.input_dir, args.input_prefix, progress=transfer)
    finally:
        transfer.close()
    console.say(f"uploaded {len(keys)} file(s)")
    return keys


def cmd_submit(args: argparse.Namespace) -> int:
    config = client_config(args)
    console = Console(sys.stderr, quiet=args.quiet)
    output_bucket = args.output_bucket or args.input_bucket
    storage = Storage(config)
    request = build_job_request(
        image=args.image, job_name=args.job_name, input_bucket=args.input_bucket, output_bucket=args.output_bucket,
        timeout_minutes=args.timeout_minutes, env=dict(args.env), command=args.command, args=args.args,
        prefix=args.prefix, backoff_limit=args.backoff_limit,
    )
    try:
        with connect(config, reply_queue=args.reply_queue, declare=args.declare) as rpc:
            if not check_workers(rpc, request_queue(args, config), args.no_wait, console):
                return EXIT_FAILED
            try:
                uploaded = upload_inputs(storage, args, output_bucket, console)
            except (ClientError, BotoCoreError, OSError) as exc:
                console.error(f"error: S3 ({config.s3_endpoint}): {exc}")
                return EXIT_FAILED
            submitted_at = dt.datetime.now(dt.UTC) - CLOCK_SLACK
            # Without waiting, the reply goes to the worker's shared reply queue (no reply_to):
            # a private queue would be gone with this connection.
            published = rpc.publish(request, correlation_id=args.request_id,
                                    reply_to=bool(args.reply_queue) or not args.no_wait)
            console.say(f"submitted request {published.correlation_id} (exchange {published.exchange!r}, "
                        f"routing key {published.routing_key!r})")
            if args.no_wait:
                print(published.correlation_id, flush=True)
                console.say(f"not waiting; follow it with: cloud-worker-client status {published.correlation_id}")
                return EXIT_OK
            display = WaitDisplay(console, published.correlation_id, StatusAPI(config.status_url))
            try:
                reply = rpc.wait_for_reply(published.correlation_id, args.wait_seconds, display)
            finally:
                console.end_live()
    except RpcError as exc:
        console.error(f"error: {exc}")
        return EXIT_FAILED

    print_reply(reply, args.json)
    try:
        body = reply.json
    except ValueError:
        console.error("error: the reply is not a JSON object")
        return EXIT_FAILED
    console.say(f"finished: {summarize(body)}")
    if not args.no_download:
        target = args.download_dir or Path("cloud-worker-output") / str(body.get("k8sJob") or args.job_name)
        try:
            download_outputs(
                storage, console, bucket=str(body.get("outputBucket") or output_bucket), target=target,
                since=None if args.download_all else submitted_at, always=set(log_keys(body)), exclude=set(uploaded),
            )
        except (ClientError, BotoCoreError, OSError, ValueError) as exc:
            console.error(f"error: downloading outputs: {exc}")
            return EXIT_FAILED
    return EXIT_OK if body.get("status") == "succeeded" else EXIT_FAILED


def download_outputs(
    storage: Storage,
    console: Console,
    *,
    bucket: str,
    target: Path,
    since: dt.datetime | None,
    always: set[str],
    exclude: set[str],
) -> list[Path]:
    """Download the output bucket's objects written since ``since`` (all when None) plus the
    keys in ``always``, except those in ``exclude`` (the inputs this run uploaded)."""
    listed = {obj.key: obj for obj in storage.list_objects(bucket) if obj.key not in exclude}
    wanted = [obj for key, obj in listed.items()
              if since is None or key in always or (obj.modified is not None and obj.modified >= since)]
    wanted += [StoredObject(key=key, size=0) for key in sorted(always - set(listed))]
    console.say(f"downloading {len(wanted)} object(s) from s3://{bucket}/ to {target}/")
    transfer = Transfer(console, "downloading")
    try:
        files = storage.download_objects(bucket, wanted, target, progress=transfer)
    finally:
        transfer.close()
    for path in files:
        console.say(f"  {path}")
    return files

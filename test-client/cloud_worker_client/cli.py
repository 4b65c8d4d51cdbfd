"""``cloud-worker-client``: upload inputs, submit a job request, wait, download the outputs;
follow a request (status, logs); publish raw messages and cancel requests for tests.

Run ``cloud-worker-client --help`` and ``cloud-worker-client COMMAND --help``. A bad argument
is one line on stderr naming the option, exit status 2 (arguments.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pika.exceptions
from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from .arguments import (
    EXIT_USAGE,
    OneLineParser,
    UsageError,
    amqp_url,
    bucket_name,
    client_config,
    env_var,
    existing_dir,
    http_url,
    key_value,
    non_empty,
    non_negative_int,
    readable_file,
    seconds,
    string_list,
)
from .config import SAMPLE_JOB_IMAGE
from .messages import build_cancel_request
from .output import print_json, print_reply
from .progress import Console, Transfer
from .rpc import Reply, RpcClient, RpcError, connect
from .status_api import StatusAPI, StatusUnavailable
from .storage import Storage
from .submit import EXIT_FAILED, EXIT_OK, cmd_submit

DESCRIPTION = """\
Test client for Cloud Worker: uploads input files to S3, publishes a job request to RabbitMQ,
waits for the worker's reply and downloads the results and logs; shows a request's state
(status) and its archived logs (logs).

Endpoints come from the environment (the output of `scripts/services.sh env`: AMQP_URL,
S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION; the worker's CLOUD_WORKER_*
names work too; CLOUD_WORKER_STATUS_URL for the worker's status server) and default to the
local services on 127.0.0.1.
"""


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# MARK: - argument parsing


def s3_options() -> OneLineParser:
    parent = OneLineParser(add_help=False)
    group = parent.add_argument_group("S3 (defaults from the environment)")
    group.add_argument("--s3-endpoint", type=http_url, help="S3 endpoint (env S3_ENDPOINT)")
    group.add_argument("--s3-access-key-id", type=non_empty, help="S3 access key id (env S3_ACCESS_KEY_ID)")
    group.add_argument("--s3-secret-access-key", type=non_empty,
                       help="S3 secret access key (env S3_SECRET_ACCESS_KEY)")
    group.add_argument("--s3-region", type=non_empty, help="S3 region (env S3_REGION, default us-east-1)")
    return parent


def connection_options() -> OneLineParser:
    parent = OneLineParser(add_help=False, parents=[s3_options()])
    group = parent.add_argument_group("RabbitMQ (defaults from the environment)")
    group.add_argument("--amqp-url", type=amqp_url, help="RabbitMQ URL (env CLOUD_WORKER_AMQP_URL, AMQP_URL)")
    group.add_argument("--exchange", help="request exchange (env CLOUD_WORKER_REQUEST_EXCHANGE, default "
                       "cloud-worker); '' publishes to the default exchange")
    group.add_argument("--request-queue", type=non_empty,
                       help="request queue (env CLOUD_WORKER_REQUEST_QUEUE, default cloud-worker.requests)")
    group.add_argument("--routing-key",
                       help="routing key (env CLOUD_WORKER_REQUEST_ROUTING_KEY, default: the request queue)")
    group.add_argument("--reply-queue", type=non_empty,
                       help="wait for the reply on this durable, shared queue instead of a private one")
    group.add_argument("--declare", action="store_true",
                       help="declare the request exchange, queue and binding before publishing")
    return parent


def status_options() -> OneLineParser:
    parent = OneLineParser(add_help=False)
    parent.add_argument("--status-url", type=http_url, help="the worker's status server (env "
                        "CLOUD_WORKER_STATUS_URL, default http://127.0.0.1:8080)")
    return parent


def wait_option(parser: argparse.ArgumentParser, default: float, meaning: str) -> None:
    parser.add_argument("--wait-seconds", type=seconds, default=default, help=meaning)


def add_submit(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    submit = commands.add_parser(
        "submit", parents=[connection_options(), status_options()],
        help="upload inputs, submit a job, wait for the reply, download outputs",
        description="Check that a worker consumes the request queue, upload --input-dir to "
        "--input-bucket, publish a job request, wait for the reply (its phases on stderr), print it "
        "as JSON on stdout and download the output bucket's new objects (results and logs/...) into "
        "--download-dir. Exit status 0 when the reply's status is 'succeeded', 1 otherwise (and when "
        "no worker consumes the queue, unless --no-wait).",
    )
    submit.add_argument("--image", required=True, type=non_empty, help=f"container image, e.g. {SAMPLE_JOB_IMAGE}")
    submit.add_argument("--job-name", required=True, type=non_empty, help="the job's name (jobName)")
    submit.add_argument("--input-dir", type=existing_dir, help="folder to upload before submitting")
    submit.add_argument("--input-prefix", default="", help="key prefix for the uploaded files")
    submit.add_argument("--input-bucket", required=True, type=bucket_name, help="bucket the job reads")
    submit.add_argument("--output-bucket", type=bucket_name, help="bucket for results and logs (default: input)")
    submit.add_argument("--timeout-minutes", type=non_negative_int, help="timeOut in minutes")
    submit.add_argument("--env", type=env_var, action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the job's container (repeatable)")
    submit.add_argument("--prefix", help="MSTC file prefix (FILE_PREFIX in the job's env)")
    submit.add_argument("--backoff-limit", type=non_negative_int, help="retries (backoffLimit)")
    submit.add_argument("--command", type=string_list,
                        help="override the entrypoint: words as a shell splits them ('python3 x.py') or a "
                        "JSON array ('[\"python3\", \"x.py\"]')")
    submit.add_argument("--args", type=string_list, help="override the arguments, as --command")
    submit.add_argument("--request-id", type=non_empty, help="message_id/correlation_id (default: random)")
    submit.add_argument("--download-dir", help="where to download outputs (default: ./cloud-worker-output/<k8s job>)")
    submit.add_argument("--no-download", action="store_true", help="do not download outputs")
    submit.add_argument("--download-all", action="store_true",
                        help="download every object of the output bucket, not only those written by this run")
    wait_option(submit, 1800.0, "how long to wait for the reply (default 1800)")
    submit.add_argument("--no-wait", action="store_true",
                        help="publish, print the request id and return; the reply goes to the worker's "
                        "shared reply queue. Queues the request even when no worker consumes yet")
    submit.add_argument("--json", action="store_true", help="print the reply as one compact JSON line")
    submit.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    submit.set_defaults(handler=cmd_submit)


def add_follow_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    status = commands.add_parser(
        "status", parents=[status_options()], help="a request's state, from the worker's status API",
        description="Look REQUEST up (a request id, a Kubernetes Job name or a job name) in the worker's "
        "status API (GET /api/jobs): its state (running, then the reply's status), Kubernetes Job and "
        "reason. The worker lists the Jobs that exist (a finished one for its retention after the reply, "
        "10 min by default) and the requests it rejected itself. Exit status 0 when found.",
    )
    status.add_argument("request", type=non_empty, metavar="REQUEST")
    status.add_argument("--json", action="store_true", help="print the entries as JSON")
    status.set_defaults(handler=cmd_status)

    logs = commands.add_parser(
        "logs", parents=[s3_options(), status_options()], help="print a request's archived pod logs",
        description="Print the logs the worker archived for REQUEST (a request id, looked up in the "
        "status API, or a Kubernetes Job name): the objects under <log prefix><k8s job>/ in --bucket, "
        "the output bucket (the default key template logs/{job}/{pod}.log). --dir downloads them instead.",
    )
    logs.add_argument("request", type=non_empty, metavar="REQUEST")
    logs.add_argument("--bucket", required=True, type=bucket_name, help="the request's output bucket")
    logs.add_argument("--log-prefix", default="logs/", help="key prefix of the logs (default logs/)")
    logs.add_argument("--dir", help="download the logs into this folder instead of printing them")
    logs.set_defaults(handler=cmd_logs)


def add_message_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    publish = commands.add_parser(
        "publish", parents=[connection_options()],
        help="publish a raw message body (e.g. bad input) and optionally wait for a reply",
        description="Publish BODY as-is to the request exchange. With --wait-seconds, wait for the reply "
        "and print it. Exit status 0 when published (and, if waiting, a reply arrived), 1 otherwise.",
    )
    body = publish.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the message body (any text, JSON or not)")
    body.add_argument("--body-file", type=readable_file, help="read the body from a file ('-': stdin)")
    publish.add_argument("--content-type", default="application/json",
                         help="content_type property ('' for none; default application/json)")
    publish.add_argument("--type", dest="message_type", help="AMQP type property")
    publish.add_argument("--correlation-id", type=non_empty, help="correlation_id (default: random)")
    publish.add_argument("--message-id", type=non_empty, help="message_id (default: the correlation id)")
    publish.add_argument("--no-message-id", action="store_true", help="send no message_id")
    publish.add_argument("--header", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                         help="AMQP header")
    publish.add_argument("--no-reply-to", action="store_true", help="send no reply_to")
    wait_option(publish, 0.0, "wait this long for the reply (default 0: do not wait)")
    publish.add_argument("--json", action="store_true", help="print the reply compactly")
    publish.set_defaults(handler=cmd_publish)

    cancel = commands.add_parser(
        "cancel", parents=[connection_options()], help="cancel a request by request id or job name",
        description='Publish {"cancel": TARGET} with type "cancel". The original request then gets a '
        "'cancelled' reply on its own reply queue.",
    )
    cancel.add_argument("target", type=non_empty, help="request id or job name to cancel")
    wait_option(cancel, 0.0, "wait this long for a reply to the cancel message itself (default 0)")
    cancel.set_defaults(handler=cmd_cancel)


def add_file_commands(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    upload = commands.add_parser("upload", parents=[s3_options()], help="upload a folder to a bucket")
    upload.add_argument("--bucket", required=True, type=bucket_name)
    upload.add_argument("--dir", required=True, type=existing_dir)
    upload.add_argument("--prefix", default="")
    upload.set_defaults(handler=cmd_upload)

    download = commands.add_parser("download", parents=[s3_options()], help="download a bucket prefix to a folder")
    download.add_argument("--bucket", required=True, type=bucket_name)
    download.add_argument("--dir", required=True)
    download.add_argument("--prefix", default="")
    download.set_defaults(handler=cmd_download)

    get = commands.add_parser("get", parents=[s3_options()], help="print one object's content on stdout")
    get.add_argument("bucket", type=bucket_name)
    get.add_argument("key", type=non_empty)
    get.set_defaults(handler=cmd_get)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="cloud-worker-client", description=DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_submit(commands)
    add_follow_commands(commands)
    add_message_commands(commands)
    add_file_commands(commands)
    return parser


# MARK: - commands


def cmd_status(args: argparse.Namespace) -> int:
    api = StatusAPI(client_config(args).status_url)
    entries = api.find(args.request)
    if args.json:
        print_json(entries, compact=False)
    for entry in [] if args.json else entries:
        reason = f" ({entry['reason']})" if entry.get("reason") else ""
        print(f"{entry.get('requestId')}  {entry.get('state')}{reason}  job {entry.get('jobName')}  "
              f"Kubernetes Job {entry.get('k8sJob') or '-'}  updated {entry.get('updatedAt')}")
    if not entries:
        info(f"{args.request}: not known to the worker at {api.base_url} (it lists the Jobs that exist, finished ones "
             "for its retention after their reply, and the requests it rejected; another replica may have rejected it)")
        return EXIT_FAILED
    return EXIT_OK


def log_job(args: argparse.Namespace, storage: Storage) -> str | None:
    """The Kubernetes Job whose logs to show: the status API's answer for REQUEST, else REQUEST
    itself when logs are stored under that name."""
    try:
        known = [e["k8sJob"] for e in StatusAPI(client_config(args).status_url).find(args.request) if e.get("k8sJob")]
    except StatusUnavailable:
        known = []
    if known:
        return str(known[0])
    if next(storage.list_objects(args.bucket, f"{args.log_prefix}{args.request}/"), None) is not None:
        return str(args.request)
    return None


def cmd_logs(args: argparse.Namespace) -> int:
    storage = Storage(client_config(args))
    job = log_job(args, storage)
    if job is None:
        info(f"{args.request}: no Kubernetes Job known to the status API, and no logs under "
             f"s3://{args.bucket}/{args.log_prefix}{args.request}/")
        return EXIT_FAILED
    prefix = f"{args.log_prefix}{job}/"
    objects = list(storage.list_objects(args.bucket, prefix))
    if not objects:
        info(f"no logs under s3://{args.bucket}/{prefix} (yet)")
        return EXIT_FAILED
    if args.dir:
        transfer = Transfer(Console(sys.stderr), "downloading")
        try:
            files = storage.download_objects(args.bucket, objects, args.dir, prefix=prefix, progress=transfer)
        finally:
            transfer.close()
        for path in files:
            print(path)
        return EXIT_OK
    for obj in objects:
        info(f"==> s3://{args.bucket}/{obj.key} <==")
        sys.stdout.buffer.write(storage.get_bytes(args.bucket, obj.key))
        sys.stdout.flush()
    return EXIT_OK


def read_body(args: argparse.Namespace) -> bytes:
    if args.body is not None:
        return str(args.body).encode("utf-8")
    if str(args.body_file) == "-":
        return sys.stdin.buffer.read()
    return Path(args.body_file).read_bytes()


def cmd_publish(args: argparse.Namespace) -> int:
    config = client_config(args)
    body = read_body(args)
    with connect(config, reply_queue=args.reply_queue, declare=args.declare) as rpc:
        published = rpc.publish(
            body, correlation_id=args.correlation_id, message_id=args.message_id,
            use_message_id=not args.no_message_id, message_type=args.message_type,
            content_type=args.content_type or None, headers=dict(args.header), reply_to=not args.no_reply_to,
        )
        info(f"published {len(body)} bytes, correlation id {published.correlation_id}")
        if args.wait_seconds <= 0 or args.no_reply_to:
            return EXIT_OK
        reply = wait_for_reply(rpc, published.correlation_id, args.wait_seconds)
    print_reply(reply, args.json)
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace) -> int:
    config = client_config(args)
    with connect(config, reply_queue=args.reply_queue, declare=args.declare) as rpc:
        published = rpc.publish(build_cancel_request(args.target), message_type="cancel")
        info(f"sent cancel for {args.target!r} (correlation id {published.correlation_id})")
        if args.wait_seconds <= 0:
            return EXIT_OK
        reply = wait_for_reply(rpc, published.correlation_id, args.wait_seconds)
    print_reply(reply, False)
    return EXIT_OK


def wait_for_reply(rpc: RpcClient, correlation_id: str, timeout: float) -> Reply:
    """The reply, with the time waited on the terminal's live line."""
    console = Console(sys.stderr)
    try:
        return rpc.wait_for_reply(correlation_id, timeout,
                                  lambda elapsed: console.live(f"waiting for the reply… {elapsed:.0f}s"))
    finally:
        console.end_live()


def cmd_upload(args: argparse.Namespace) -> int:
    storage = Storage(client_config(args))
    storage.ensure_bucket(args.bucket)
    transfer = Transfer(Console(sys.stderr), "uploading")
    try:
        keys = storage.upload_dir(args.bucket, args.dir, args.prefix, progress=transfer)
    finally:
        transfer.close()
    for key in keys:
        print(f"s3://{args.bucket}/{key}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    storage = Storage(client_config(args))
    transfer = Transfer(Console(sys.stderr), "downloading")
    try:
        files = storage.download_prefix(args.bucket, args.prefix, args.dir, progress=transfer)
    finally:
        transfer.close()
    for path in files:
        print(path)
    return EXIT_OK


def cmd_get(args: argparse.Namespace) -> int:
    storage = Storage(client_config(args))
    try:
        data = storage.get_bytes(args.bucket, args.key)
    except ClientError as exc:
        info(f"error: s3://{args.bucket}/{args.key}: {exc}")
        return EXIT_FAILED
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        info(f"cloud-worker-client: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        info(f"interrupted after {time.monotonic() - started:.0f}s")
        return 130
    except StatusUnavailable as exc:
        info(f"error: the worker's status API is not reachable: {exc} (--status-url, CLOUD_WORKER_STATUS_URL)")
        return EXIT_FAILED
    except (RpcError, pika.exceptions.AMQPError, ClientError, BotoCoreError, OSError, ValueError) as exc:
        # One line, never a traceback: the broker, the S3 store or a file said no.
        info(f"error: {exc}")
        return EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Cloud Worker test client: S3 upload/download, AMQP request/reply and a CLI."""

from .config import ClientConfig
from .messages import build_cancel_request, build_job_request
from .rpc import Reply, ReplyTimeout, RpcClient, RpcError
from .storage import Storage, make_s3_client

__version__ = "0.1.0"

__all__ = [
    "ClientConfig",
    "Reply",
    "ReplyTimeout",
    "RpcClient",
    "RpcError",
    "Storage",
    "build_cancel_request",
    "build_job_request",
    "make_s3_client",
]

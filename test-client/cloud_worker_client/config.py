"""Endpoints and credentials of the test client, read from the environment.

Each setting is looked up in a list of variables, first match wins, so the client works with
the variables printed by ``scripts/services.sh env`` (``AMQP_URL``, ``S3_ENDPOINT``, ...), with
the worker's own (``CLOUD_WORKER_AMQP_URL``, ``CLOUD_WORKER_S3_ENDPOINT``, ...) and, for S3
credentials, with the standard AWS ones. The defaults are the local services of
``docs/CONTRACT.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_S3_ENDPOINT = "http://127.0.0.1:8333"
DEFAULT_S3_ACCESS_KEY_ID = "CWTESTACCESSKEY"
DEFAULT_S3_SECRET_ACCESS_KEY = "cwTestSecretKey0123456789abcdefghijklmn"
DEFAULT_S3_REGION = "us-east-1"
DEFAULT_KUBE_SERVER = "http://127.0.0.1:8001"
DEFAULT_STATUS_URL = "http://127.0.0.1:8080"
DEFAULT_REQUEST_EXCHANGE = "cloud-worker"
DEFAULT_REQUEST_QUEUE = "cloud-worker.requests"
DEFAULT_REPLY_QUEUE = "cloud-worker.replies"
DEFAULT_DEAD_LETTER_QUEUE = "cloud-worker.dead-letter"
DEFAULT_NAMESPACE = "default"
SAMPLE_JOB_IMAGE = "cloud-worker/sample-job:latest"

# setting -> environment variables, first set one wins
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "amqp_url": ("CLOUD_WORKER_AMQP_URL", "AMQP_URL"),
    "s3_endpoint": ("S3_ENDPOINT", "CLOUD_WORKER_S3_ENDPOINT", "AWS_ENDPOINT_URL"),
    "s3_access_key_id": ("S3_ACCESS_KEY_ID", "CLOUD_WORKER_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
    "s3_secret_access_key": (
        "S3_SECRET_ACCESS_KEY",
        "CLOUD_WORKER_S3_SECRET_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
    ),
    "s3_region": ("S3_REGION", "CLOUD_WORKER_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    "kube_server": ("KUBE_SERVER", "CLOUD_WORKER_KUBE_SERVER"),
    "status_url": ("CLOUD_WORKER_STATUS_URL",),
    "request_exchange": ("CLOUD_WORKER_REQUEST_EXCHANGE",),
    "request_queue": ("CLOUD_WORKER_REQUEST_QUEUE",),
    "request_routing_key": ("CLOUD_WORKER_REQUEST_ROUTING_KEY",),
    "reply_queue": ("CLOUD_WORKER_REPLY_QUEUE",),
    "dead_letter_queue": ("CLOUD_WORKER_DEAD_LETTER_QUEUE",),
    "namespace": ("CLOUD_WORKER_NAMESPACE",),
}


@dataclass(frozen=True)
class ClientConfig:
    """Where the broker and the object store are, and how requests are routed."""

    amqp_url: str = DEFAULT_AMQP_URL
    s3_endpoint: str = DEFAULT_S3_ENDPOINT
    s3_access_key_id: str = DEFAULT_S3_ACCESS_KEY_ID
    s3_secret_access_key: str = DEFAULT_S3_SECRET_ACCESS_KEY
    s3_region: str = DEFAULT_S3_REGION
    kube_server: str = DEFAULT_KUBE_SERVER
    # The worker's status server (its /api/jobs), for `status`, `logs` and submit's progress.
    status_url: str = DEFAULT_STATUS_URL
    request_exchange: str = DEFAULT_REQUEST_EXCHANGE
    request_queue: str = DEFAULT_REQUEST_QUEUE
    # None: the same as the request queue (the worker's default binding).
    request_routing_key: str | None = None
    reply_queue: str = DEFAULT_REPLY_QUEUE
    dead_letter_queue: str = DEFAULT_DEAD_LETTER_QUEUE
    namespace: str = DEFAULT_NAMESPACE

    @property
    def routing_key(self) -> str:
        return self.request_routing_key or self.request_queue

    @staticmethod
    def source(field: str, environ: Mapping[str, str] | None = None) -> str | None:
        """The environment variable a setting comes from (None: the default)."""
        env = os.environ if environ is None else environ
        return next((name for name in ENV_NAMES[field] if env.get(name)), None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientConfig:
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for field in ENV_NAMES:
            name = cls.source(field, env)
            if name is not None:
                values[field] = env[name]
        return cls(**values)

    def with_overrides(self, **overrides: str | None) -> ClientConfig:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def redacted(self) -> dict[str, str | None]:
        """The settings, with the secret hidden, for diagnostics."""
        return {
            "amqp_url": redact_url(self.amqp_url),
            "s3_endpoint": self.s3_endpoint,
            "s3_access_key_id": self.s3_access_key_id,
            "s3_secret_access_key": "***",
            "s3_region": self.s3_region,
            "kube_server": self.kube_server,
            "request_exchange": self.request_exchange,
            "routing_key": self.routing_key,
            "reply_queue": self.reply_queue,
        }


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"

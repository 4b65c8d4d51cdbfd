"""AMQP request/reply with pika, the convention the worker follows (SPEC §3, §7).

A request is published persistent, with publisher confirms and ``mandatory`` set (so that a
request nobody would receive is reported instead of dropped), carrying ``reply_to``,
``correlation_id`` and ``message_id``. The reply arrives on ``reply_to`` with the request's
``correlation_id``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from .config import ClientConfig

ProgressCallback = Callable[[float], None]


class RpcError(Exception):
    """The request could not be published or no reply could be received."""


class ReplyTimeout(RpcError):
    """No reply with the expected correlation id arrived in time."""


@dataclass(frozen=True)
class Reply:
    """A message received on the reply queue."""

    raw: bytes
    correlation_id: str | None
    message_id: str | None
    content_type: str | None
    headers: dict[str, Any]
    delivery_mode: int | None

    @property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object (raises ValueError if it is not one)."""
        value = json.loads(self.raw)
        if not isinstance(value, dict):
            raise ValueError(f"reply body is not a JSON object: {self.raw[:200]!r}")
        return value

    @property
    def status(self) -> str | None:
        try:
            status = self.json.get("status")
        except ValueError:
            return None
        return status if isinstance(status, str) else None


@dataclass(frozen=True)
class PublishedRequest:
    correlation_id: str
    message_id: str | None
    reply_to: str | None
    exchange: str
    routing_key: str


@dataclass
class _Inbox:
    """Replies received but not yet asked for, by correlation id."""

    replies: dict[str | None, list[Reply]] = field(default_factory=dict)

    def put(self, reply: Reply) -> None:
        self.replies.setdefault(reply.correlation_id, []).append(reply)

    def take(self, correlation_id: str) -> Reply | None:
        queue = self.replies.get(correlation_id)
        if not queue:
            return None
        reply = queue.pop(0)
        if not queue:
            del self.replies[correlation_id]
        return reply


def new_request_id() -> str:
    return uuid.uuid4().hex


def _properties_to_reply(body: bytes, props: pika.BasicProperties) -> Reply:
    return Reply(
        raw=body,
        correlation_id=props.correlation_id,
        message_id=props.message_id,
        content_type=props.content_type,
        headers=dict(props.headers or {}),
        delivery_mode=props.delivery_mode,
    )


class RpcClient:
    """One AMQP connection publishing requests and collecting their replies.

    ``reply_queue=None`` (the default) declares a private, exclusive, server-named queue that
    disappears with the connection. A named ``reply_queue`` is declared durable (as the
    worker declares its default reply queue) and shared: replies for other requests found on
    it are put back.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        reply_queue: str | None = None,
        connection: pika.BlockingConnection | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.config = config
        if connection is None:
            params = pika.URLParameters(config.amqp_url)
            params.socket_timeout = connect_timeout
            params.blocked_connection_timeout = 60
            if params.heartbeat is None:
                params.heartbeat = 30
            try:
                connection = pika.BlockingConnection(params)
            except pika.exceptions.AMQPError as exc:
                raise RpcError(f"cannot connect to RabbitMQ: {exc!r}") from exc
        self.connection = connection
        self.channel: BlockingChannel = connection.channel()
        self.channel.confirm_delivery()
        self._inbox = _Inbox()
        self.private_reply_queue = reply_queue is None
        if reply_queue is None:
            declared = self.channel.queue_declare(queue="", exclusive=True, auto_delete=True)
            self.reply_queue: str = declared.method.queue
            self.channel.basic_consume(
                queue=self.reply_queue, on_message_callback=self._on_reply, auto_ack=True
            )
        else:
            self.channel.queue_declare(queue=reply_queue, durable=True)
            self.reply_queue = reply_queue

    # -- lifecycle

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- topology

    def exchange_exists(self, exchange: str) -> bool:
        """Whether ``exchange`` exists (checked on a throwaway channel)."""
        if not exchange:
            return True
        probe = self.connection.channel()
        try:
            probe.exchange_declare(exchange=exchange, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return False
            raise
        probe.close()
        return True

    def queue_consumers(self, queue: str) -> int | None:
        """How many consumers ``queue`` has (a passive declare on a throwaway channel); None
        when the queue does not exist."""
        probe = self.connection.channel()
        try:
            declared = probe.queue_declare(queue=queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return None
            raise
        probe.close()
        return int(declared.method.consumer_count or 0)

    def declare_request_topology(self) -> None:
        """Declare the request exchange (direct, durable), the request queue (durable, no
        arguments) and their binding, as MSTC producers do, so a request published before
        the worker first started waits in the queue instead of being unroutable."""
        exchange = self.config.request_exchange
        if exchange:
            self.channel.exchange_declare(exchange=exchange, exchange_type="direct", durable=True)
        self.channel.queue_declare(queue=self.config.request_queue, durable=True)
        if exchange:
            self.channel.queue_bind(
                queue=self.config.request_queue,
                exchange=exchange,
                routing_key=self.config.routing_key,
            )

    # -- publishing

    def publish(
        self,
        body: bytes | str | Mapping[str, Any],
        *,
        correlation_id: str | None = None,
        message_id: str | None = None,
        use_message_id: bool = True,
        message_type: str | None = None,
        content_type: str | None = "application/json",
        headers: Mapping[str, Any] | None = None,
        reply_to: str | None | bool = True,
        exchange: str | None = None,
        routing_key: str | None = None,
        mandatory: bool = True,
    ) -> PublishedRequest:
        """Publish one request and wait for the broker's confirm.

        ``reply_to=True`` uses this client's reply queue, a string names another queue and
        ``False``/``None`` sends no ``reply_to``. Without ``correlation_id`` a new id is made;
        ``message_id`` defaults to the correlation id unless ``use_message_id`` is False.
        """
        if isinstance(body, Mapping):
            payload = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = body
        correlation_id = correlation_id or new_request_id()
        if message_id is None and use_message_id:
            message_id = correlation_id
        if reply_to is True:
            reply_queue: str | None = self.reply_queue
        elif isinstance(reply_to, str):
            reply_queue = reply_to
        else:
            reply_queue = None
        exchange = self.config.request_exchange if exchange is None else exchange
        routing_key = self.config.routing_key if routing_key is None else routing_key
        properties = pika.BasicProperties(
            content_type=content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            correlation_id=correlation_id,
            message_id=message_id,
            reply_to=reply_queue,
            type=message_type,
            headers=dict(headers) if headers else None,
            timestamp=int(time.time()),
        )
        try:
            self.channel.basic_publish(
                exchange=exchange,
                routing_key=routing_key,
                body=payload,
                properties=properties,
                mandatory=mandatory,
            )
        except pika.exceptions.UnroutableError as exc:
            raise RpcError(
                f"the broker could not route the request (exchange {exchange!r}, routing key "
                f"{routing_key!r}): no queue is bound. Is the worker running with these "
                "settings? (--declare creates the queue)"
            ) from exc
        except pika.exceptions.NackError as exc:
            raise RpcError("the broker refused the request (publisher confirm nack)") from exc
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                raise RpcError(
                    f"exchange {exchange!r} does not exist: is the worker running? "
                    "(--declare creates it)"
                ) from exc
            raise RpcError(f"the broker closed the channel: {exc}") from exc
        except pika.exceptions.AMQPError as exc:
            raise RpcError(f"publishing failed: {exc!r}") from exc
        return PublishedRequest(
            correlation_id=correlation_id,
            message_id=message_id,
            reply_to=reply_queue,
            exchange=exchange,
            routing_key=routing_key,
        )

    # -- replies

    def _on_reply(
        self,
        _channel: BlockingChannel,
        _method: pika.spec.Basic.Deliver,
        props: pika.BasicProperties,
        body: bytes,
    ) -> None:
        self._inbox.put(_properties_to_reply(body, props))

    def _poll_shared_queue(self, correlation_id: str) -> Reply | None:
        method, props, body = self.channel.basic_get(queue=self.reply_queue, auto_ack=False)
        if method is None:
            return None
        reply = _properties_to_reply(body, props)
        if reply.correlation_id == correlation_id:
            self.channel.basic_ack(method.delivery_tag)
            return reply
        # Someone else's reply: put it back for them.
        self.channel.basic_nack(method.delivery_tag, requeue=True)
        return None

    def wait_for_reply(
        self,
        correlation_id: str,
        timeout: float,
        progress: ProgressCallback | None = None,
    ) -> Reply:
        """The reply with ``correlation_id``; ``progress(elapsed_seconds)`` runs every second."""
        try:
            return self._wait_for_reply(correlation_id, timeout, progress)
        except pika.exceptions.AMQPError as exc:
            raise RpcError(
                f"lost the connection to RabbitMQ while waiting for the reply to "
                f"{correlation_id}: {exc!r}"
            ) from exc

    def _wait_for_reply(
        self,
        correlation_id: str,
        timeout: float,
        progress: ProgressCallback | None,
    ) -> Reply:
        start = time.monotonic()
        next_progress = start + 1.0
        while True:
            reply = self._inbox.take(correlation_id)
            if reply is not None:
                return reply
            now = time.monotonic()
            if now - start >= timeout:
                raise ReplyTimeout(
                    f"no reply with correlation id {correlation_id} on {self.reply_queue} "
                    f"within {timeout:g}s"
                )
            if progress is not None and now >= next_progress:
                progress(now - start)
                next_progress += 1.0
            slice_seconds = max(0.01, min(next_progress - now, start + timeout - now, 1.0))
            if self.private_reply_queue:
                self.connection.process_data_events(time_limit=slice_seconds)
            else:
                reply = self._poll_shared_queue(correlation_id)
                if reply is not None:
                    return reply
                self.connection.process_data_events(time_limit=min(slice_seconds, 0.2))

    def call(
        self,
        request: Mapping[str, Any] | bytes | str,
        timeout: float,
        progress: ProgressCallback | None = None,
        **publish_options: Any,
    ) -> Reply:
        """Publish ``request`` and wait for its reply."""
        published = self.publish(request, **publish_options)
        return self.wait_for_reply(published.correlation_id, timeout, progress)


def connect(config: ClientConfig, *, reply_queue: str | None = None, declare: bool = False) -> RpcClient:
    """An RpcClient for CONFIG; with DECLARE, the request exchange, queue and binding declared."""
    try:
        client = RpcClient(config, reply_queue=reply_queue)
    except pika.exceptions.AMQPError as exc:
        raise RpcError(f"setting up the reply queue failed: {exc!r}") from exc
    if declare:
        try:
            client.declare_request_topology()
        except pika.exceptions.AMQPError as exc:
            client.close()
            raise RpcError(f"declaring the request exchange and queue failed: {exc!r}") from exc
    return client

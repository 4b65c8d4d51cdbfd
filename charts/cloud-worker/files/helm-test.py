"""`helm test`: publish a tiny job request to the worker's exchange and wait for its reply.

Python standard library only (an AMQP 0-9-1 client over one socket), so that a stock python
image runs it. Settings come from the environment (see templates/tests/test-reply.yaml); the
exit status is 0 when the reply's status is "succeeded".
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import sys
import time
import uuid
from urllib.parse import unquote, urlsplit

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = b"\xce"
CONNECTION_START, CONNECTION_START_OK = (10, 10), (10, 11)
CONNECTION_TUNE, CONNECTION_TUNE_OK = (10, 30), (10, 31)
CONNECTION_OPEN, CONNECTION_OPEN_OK = (10, 40), (10, 41)
CONNECTION_CLOSE, CONNECTION_CLOSE_OK = (10, 50), (10, 51)
CHANNEL_OPEN, CHANNEL_OPEN_OK, CHANNEL_CLOSE = (20, 10), (20, 11), (20, 40)
QUEUE_DECLARE, QUEUE_DECLARE_OK = (50, 10), (50, 11)
BASIC_CONSUME, BASIC_CONSUME_OK = (60, 20), (60, 21)
BASIC_PUBLISH, BASIC_RETURN, BASIC_DELIVER = (60, 40), (60, 50), (60, 60)
# Basic property flags, in the order the properties follow each other.
PROPERTY_FLAGS = [
    ("content_type", 1 << 15), ("content_encoding", 1 << 14), ("headers", 1 << 13),
    ("delivery_mode", 1 << 12), ("priority", 1 << 11), ("correlation_id", 1 << 10),
    ("reply_to", 1 << 9), ("expiration", 1 << 8), ("message_id", 1 << 7),
]


class AMQPFailure(Exception):
    """The broker refused something, or the connection broke."""


def shortstr(text: str) -> bytes:
    data = text.encode()
    return struct.pack("B", len(data)) + data


def longstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class Reader:
    """Reads AMQP fields from one frame payload."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        chunk = self.data[self.at:self.at + size]
        self.at += size
        return chunk

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(value)

    def shortstr(self) -> str:
        return self.take(self.unpack("B")).decode(errors="replace")

    def skip_longstr(self) -> None:
        self.take(self.unpack(">I"))


class Connection:
    def __init__(self, url: str, ca_file: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise AMQPFailure("the broker URL is not amqp://... or amqps://...")
        tls = parts.scheme == "amqps"
        raw = socket.create_connection((parts.hostname, parts.port or (5671 if tls else 5672)), timeout=30)
        if tls:
            raw = ssl.create_default_context(cafile=ca_file).wrap_socket(raw, server_hostname=parts.hostname)
        self.sock = raw
        self.buffer = b""
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(0, CONNECTION_START)
        credentials = f"\0{unquote(parts.username or 'guest')}\0{unquote(parts.password or 'guest')}"
        properties = shortstr("product") + b"S" + longstr(b"cloud-worker helm test")
        self.method(0, CONNECTION_START_OK, longstr(properties) + shortstr("PLAIN")
                    + longstr(credentials.encode()) + shortstr("en_US"))
        tune = self.expect(0, CONNECTION_TUNE)
        channel_max, frame_max = tune.unpack(">H"), tune.unpack(">I")
        self.frame_max = frame_max or 131072
        # Heartbeats off: the test is short and waits in a blocking read.
        self.method(0, CONNECTION_TUNE_OK, struct.pack(">HIH", channel_max, self.frame_max, 0))
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        self.method(0, CONNECTION_OPEN, shortstr(vhost) + shortstr("") + b"\x00")
        self.expect(0, CONNECTION_OPEN_OK)
        self.method(1, CHANNEL_OPEN, shortstr(""))
        self.expect(1, CHANNEL_OPEN_OK)

    # MARK: - frames

    def send_frame(self, kind: int, channel: int, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END)

    def method(self, channel: int, method: tuple[int, int], arguments: bytes) -> None:
        self.send_frame(FRAME_METHOD, channel, struct.pack(">HH", *method) + arguments)

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AMQPFailure("the broker closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_frame(self) -> tuple[int, int, bytes]:
        kind, channel, size = struct.unpack(">BHI", self.read_exact(7))
        payload = self.read_exact(size)
        if self.read_exact(1) != FRAME_END:
            raise AMQPFailure("malformed frame")
        return kind, channel, payload

    def next_method(self) -> tuple[int, tuple[int, int], Reader]:
        """The next method frame (heartbeats skipped); a Close from the broker is an error."""
        while True:
            kind, channel, payload = self.read_frame()
            if kind == FRAME_HEARTBEAT:
                continue
            if kind != FRAME_METHOD:
                raise AMQPFailure(f"unexpected frame type {kind}")
            reader = Reader(payload)
            method = (reader.unpack(">H"), reader.unpack(">H"))
            if method in (CONNECTION_CLOSE, CHANNEL_CLOSE):
                code = reader.unpack(">H")
                raise AMQPFailure(f"the broker closed the {'connection' if channel == 0 else 'channel'}: "
                                  f"{code} {reader.shortstr()}")
            return channel, method, reader

    def expect(self, channel: int, method: tuple[int, int]) -> Reader:
        got_channel, got, reader = self.next_method()
        if (got_channel, got) != (channel, method):
            raise AMQPFailure(f"expected method {method} on channel {channel}, got {got} on {got_channel}")
        return reader

    def read_content(self) -> tuple[dict[str, str], bytes]:
        """A header frame and its body frames: (the string properties we read, the body)."""
        _, _, header = self.read_frame()
        reader = Reader(header)
        reader.take(4)  # class id and weight
        size, flags = reader.unpack(">Q"), reader.unpack(">H")
        properties: dict[str, str] = {}
        for name, bit in PROPERTY_FLAGS:
            if not flags & bit:
                continue
            if name in ("delivery_mode", "priority"):
                reader.take(1)
            elif name == "headers":
                reader.skip_longstr()  # a table is length-prefixed like a long string
            else:
                properties[name] = reader.shortstr()
        body = b""
        while len(body) < size:
            _, _, chunk = self.read_frame()
            body += chunk
        return properties, body

    # MARK: - the calls the test makes

    def consumers(self, queue: str) -> int:
        """Consumers of an existing queue (a passive declare; a missing queue is an error)."""
        self.method(1, QUEUE_DECLARE, struct.pack(">H", 0) + shortstr(queue) + b"\x01" + longstr(b""))
        reader = self.expect(1, QUEUE_DECLARE_OK)
        reader.shortstr()
        reader.unpack(">I")  # messages
        return reader.unpack(">I")

    def private_queue(self) -> str:
        """A server-named, exclusive, auto-delete queue consumed without acks."""
        self.method(1, QUEUE_DECLARE, struct.pack(">H", 0) + shortstr("") + b"\x0c" + longstr(b""))
        queue = self.expect(1, QUEUE_DECLARE_OK).shortstr()
        self.method(1, BASIC_CONSUME, struct.pack(">H", 0) + shortstr(queue) + shortstr("") + b"\x02" + longstr(b""))
        self.expect(1, BASIC_CONSUME_OK)
        return queue

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: dict[str, str]) -> None:
        """Persistent, mandatory (an unroutable request comes back as Basic.Return)."""
        self.method(1, BASIC_PUBLISH, struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + b"\x01")
        flags, values = 0, b""
        for name, bit in PROPERTY_FLAGS:
            if name == "delivery_mode":
                flags, values = flags | bit, values + b"\x02"
            elif name in properties:
                flags, values = flags | bit, values + shortstr(properties[name])
        self.send_frame(FRAME_HEADER, 1, struct.pack(">HHQH", 60, 0, len(body), flags) + values)
        for start in range(0, len(body), self.frame_max - 8):
            self.send_frame(FRAME_BODY, 1, body[start:start + self.frame_max - 8])

    def reply(self, correlation_id: str, timeout: float) -> bytes:
        """The body of the first delivery carrying correlation_id."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                _, method, reader = self.next_method()
            except TimeoutError:
                raise AMQPFailure(f"no reply within {timeout:g}s") from None
            if method == BASIC_RETURN:
                code = reader.unpack(">H")
                raise AMQPFailure(f"the broker returned the request ({code} {reader.shortstr()}): "
                                  "no queue is bound to the exchange with that routing key")
            if method != BASIC_DELIVER:
                continue
            properties, body = self.read_content()
            if properties.get("correlation_id") == correlation_id:
                return body

    def close(self) -> None:
        try:
            self.method(0, CONNECTION_CLOSE, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0))
            self.expect(0, CONNECTION_CLOSE_OK)
        except (OSError, AMQPFailure):
            pass
        self.sock.close()


def main() -> int:
    env = os.environ
    request_id = f"helm-test-{uuid.uuid4().hex[:12]}"
    request = {
        "image": env["JOB_IMAGE"],
        "jobName": "helm-test",
        "command": json.loads(env["JOB_COMMAND"]),
        "inputBucket": env["BUCKET"],
        "timeOut": 5,
    }
    timeout = float(env.get("TIMEOUT_SECONDS", "180"))
    try:
        connection = Connection(env["AMQP_URL"], env.get("AMQP_CA_FILE") or None)
        try:
            consumers = connection.consumers(env["REQUEST_QUEUE"])
            if consumers == 0:
                print(f"FAIL: no worker consumes queue {env['REQUEST_QUEUE']!r}", file=sys.stderr)
                return 1
            reply_queue = connection.private_queue()
            connection.publish(
                env["REQUEST_EXCHANGE"], env["ROUTING_KEY"], json.dumps(request).encode(),
                {"content_type": "application/json", "correlation_id": request_id,
                 "reply_to": reply_queue, "message_id": request_id},
            )
            print(f"submitted {request_id} ({env['JOB_IMAGE']}) to {consumers} consumer(s); waiting for the reply")
            body = connection.reply(request_id, timeout)
        finally:
            connection.close()
    except (OSError, AMQPFailure) as error:
        print(f"FAIL: {error}", file=sys.stderr)
        return 1
    print(body.decode(errors="replace"))
    try:
        status = json.loads(body).get("status")
    except (ValueError, AttributeError):
        status = None
    print(f"{'PASS' if status == 'succeeded' else 'FAIL'}: reply status {status!r}")
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())

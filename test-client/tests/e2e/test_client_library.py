"""The test client's own pieces against the real broker and S3 store, without the worker: a
responder thread plays the worker's part of the AMQP request/reply convention."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pytest
from e2e_support import SAMPLE_INPUTS, write_inputs

from cloud_worker_client.config import ClientConfig
from cloud_worker_client.messages import build_job_request, parse_key_values
from cloud_worker_client.rpc import ReplyTimeout, RpcClient, RpcError
from cloud_worker_client.storage import Storage, safe_join

pytestmark = pytest.mark.e2e


# ---------------------------------------------------------------- storage


def test_upload_and_download_folder(storage: Storage, bucket_factory: Any, tmp_path: Path) -> None:
    source = write_inputs(tmp_path / "src")
    (source / ".hidden").write_text("not uploaded")
    bucket = bucket_factory("folder")

    keys = storage.upload_dir(bucket, source, prefix="batch-1")

    assert keys == sorted(f"batch-1/{key}" for key in SAMPLE_INPUTS)
    assert {o.key for o in storage.list_objects(bucket)} == set(keys)
    head = storage.head(bucket, "batch-1/alpha.txt")
    assert head["ContentType"] == "text/plain; charset=utf-8"

    target = tmp_path / "dst"
    files = storage.download_prefix(bucket, "batch-1/", target, exclude={"batch-1/gamma.md"})
    assert sorted(p.relative_to(target).as_posix() for p in files) == sorted(
        k for k in SAMPLE_INPUTS if k != "gamma.md"
    )
    for key in ("alpha.txt", "notes/beta.txt"):
        assert (target / key).read_text(encoding="utf-8") == SAMPLE_INPUTS[key]


def test_ensure_and_delete_bucket(storage: Storage, bucket_factory: Any) -> None:
    bucket = bucket_factory("ensure")
    assert storage.ensure_bucket(bucket) is False  # exists already
    storage.put_text(bucket, "x/y.txt", "data")
    storage.delete_bucket(bucket)
    assert storage.bucket_exists(bucket) is False
    assert storage.ensure_bucket(bucket) is True


def test_safe_join_refuses_escaping_keys(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/b.txt") == tmp_path / "a" / "b.txt"
    with pytest.raises(ValueError):
        safe_join(tmp_path, "../outside.txt")


# ---------------------------------------------------------------- AMQP request/reply


@dataclass
class Responder:
    """Consumes a request queue and answers each message on its reply_to."""

    amqp_url: str
    exchange: str
    queue: str
    answer: bool = True
    received: list[tuple[bytes, pika.BasicProperties]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
            channel = connection.channel()
            channel.exchange_declare(self.exchange, exchange_type="direct", durable=False, auto_delete=True)
            channel.queue_declare(self.queue, exclusive=True)
            channel.queue_bind(self.queue, self.exchange, routing_key=self.queue)
            self.ready.set()
            for method, props, body in channel.consume(self.queue, inactivity_timeout=0.1):
                if self.stop.is_set():
                    break
                if method is None:
                    continue
                self.received.append((body, props))
                channel.basic_ack(method.delivery_tag)
                if self.answer and props.reply_to:
                    request = json.loads(body)
                    reply = {"requestId": props.message_id, "status": "succeeded",
                             "jobName": request.get("jobName"), "echo": request}
                    channel.basic_publish(
                        "", props.reply_to, json.dumps(reply).encode(),
                        pika.BasicProperties(correlation_id=props.correlation_id,
                                             content_type="application/json", delivery_mode=2),
                    )
            channel.cancel()
            connection.close()
        except BaseException as exc:  # surfaced by the fixture
            self.error.append(exc)
            self.ready.set()


@pytest.fixture()
def responder(rabbitmq: str) -> Iterator[Responder]:
    name = f"cw-test-rpc-{uuid.uuid4().hex[:10]}"
    resp = Responder(amqp_url=rabbitmq, exchange=name, queue=f"{name}.requests")
    thread = threading.Thread(target=resp.run, daemon=True)
    thread.start()
    assert resp.ready.wait(10), "responder did not start"
    assert not resp.error, resp.error
    yield resp
    resp.stop.set()
    thread.join(10)
    assert not resp.error, resp.error


def rpc_config(endpoints: Any, resp: Responder) -> ClientConfig:
    return endpoints.client_config(request_exchange=resp.exchange, request_queue=resp.queue)


def test_call_publishes_with_properties_and_gets_reply(endpoints: Any, responder: Responder) -> None:
    request = build_job_request(image="img", job_name="rpc-test", input_bucket="b", env={"A": "1"})
    ticks: list[float] = []
    with RpcClient(rpc_config(endpoints, responder)) as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, timeout=10, progress=ticks.append)

    assert reply.correlation_id == published.correlation_id
    assert reply.json["echo"] == request
    assert reply.status == "succeeded"
    body, props = responder.received[0]
    assert json.loads(body) == request
    assert props.content_type == "application/json"
    assert props.delivery_mode == 2
    assert props.message_id == published.correlation_id
    assert props.correlation_id == published.correlation_id
    assert props.reply_to == published.reply_to and props.reply_to.startswith("amq.gen-")


def test_replies_are_matched_by_correlation_id(endpoints: Any, responder: Responder) -> None:
    with RpcClient(rpc_config(endpoints, responder)) as rpc:
        first = rpc.publish({"jobName": "first"})
        second = rpc.publish({"jobName": "second"})
        # Asked in the opposite order: the first reply is kept until asked for.
        assert rpc.wait_for_reply(second.correlation_id, 10).json["jobName"] == "second"
        assert rpc.wait_for_reply(first.correlation_id, 10).json["jobName"] == "first"


def test_shared_reply_queue(endpoints: Any, responder: Responder, amqp_connection: Any) -> None:
    shared = f"{responder.queue}.replies"
    try:
        with RpcClient(rpc_config(endpoints, responder), reply_queue=shared) as rpc:
            reply = rpc.call({"jobName": "shared"}, timeout=10)
        assert reply.json["jobName"] == "shared"
    finally:
        amqp_connection.channel().queue_delete(shared)


def test_timeout_calls_progress_every_second(endpoints: Any, responder: Responder) -> None:
    responder.answer = False
    ticks: list[float] = []
    with RpcClient(rpc_config(endpoints, responder)) as rpc:
        published = rpc.publish({"jobName": "silent"})
        with pytest.raises(ReplyTimeout):
            rpc.wait_for_reply(published.correlation_id, timeout=2.5, progress=ticks.append)
    assert [int(t) for t in ticks] == [1, 2]


def test_unroutable_request_is_an_error(endpoints: Any, responder: Responder) -> None:
    config = rpc_config(endpoints, responder).with_overrides(request_queue="cw-test-nobody-listens")
    with RpcClient(config) as rpc:
        with pytest.raises(RpcError, match="could not route"):
            rpc.publish({"jobName": "lost"})


def test_missing_exchange_is_an_error(endpoints: Any, rabbitmq: str) -> None:
    config = endpoints.client_config(request_exchange="cw-test-no-such-exchange")
    with RpcClient(config) as rpc:
        assert rpc.exchange_exists("cw-test-no-such-exchange") is False
        assert rpc.exchange_exists("amq.direct") is True
        with pytest.raises(RpcError, match="does not exist"):
            rpc.publish({"jobName": "nowhere"})


def test_declare_request_topology(endpoints: Any, rabbitmq: str, amqp_connection: Any) -> None:
    name = f"cw-test-declare-{uuid.uuid4().hex[:10]}"
    config = endpoints.client_config(request_exchange=name, request_queue=f"{name}.requests")
    try:
        with RpcClient(config) as rpc:
            rpc.declare_request_topology()
            rpc.publish({"jobName": "queued"})
        channel = amqp_connection.channel()
        method, props, body = channel.basic_get(f"{name}.requests", auto_ack=True)
        assert method is not None and json.loads(body) == {"jobName": "queued"}
        assert props.reply_to  # the private queue of the (now closed) client
    finally:
        channel = amqp_connection.channel()
        channel.queue_delete(f"{name}.requests")
        channel.exchange_delete(name)


def test_parse_key_values() -> None:
    assert parse_key_values(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(ValueError):
        parse_key_values(["nope"])

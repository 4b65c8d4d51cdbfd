"""The same work as AMQPBench, done with pika (BlockingConnection, publisher confirms)."""
import json
import os
import sys
import time
import uuid

import pika

count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
queue = f"bench-pika-{uuid.uuid4().hex[:8]}"
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
channel.queue_declare(queue=queue, durable=True)
channel.confirm_delivery()
body = b"x" * 256
properties = pika.BasicProperties(delivery_mode=2)

start = time.monotonic()
for _ in range(count // 10):
    channel.basic_publish("", queue, body, properties, mandatory=True)
sequential = (count // 10) / (time.monotonic() - start)

# pika's BlockingConnection waits for each confirm; it has no pipelined confirm mode.
start = time.monotonic()
for _ in range(count):
    channel.basic_publish("", queue, body, properties, mandatory=True)
pipelined = count / (time.monotonic() - start)

total = count + count // 10
channel.basic_qos(prefetch_count=200)
received = 0
start = time.monotonic()
for method, _, _ in channel.consume(queue):
    channel.basic_ack(method.delivery_tag)
    received += 1
    if received == total:
        break
consumed = total / (time.monotonic() - start)
channel.cancel()
channel.queue_delete(queue=queue)
connection.close()
print(json.dumps({"publish_confirmed_sequential": int(sequential), "publish_confirmed_100_in_flight": int(pipelined), "consume_ack": int(consumed)}))

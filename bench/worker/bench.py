#!/usr/bin/env python3
"""The whole worker against the local RabbitMQ and SeaweedFS and a private simulator (SPEC §10):
start-up time, idle RSS, CPU and API requests per job, dispatch latency at a fixed request rate,
RSS with many Jobs in flight. Each figure is printed beside its target.

Usage: bench/worker/run.sh   (scripts/services.sh start first; run.sh builds the release binary)
       python3 bench/worker/bench.py BINARY [--jobs N] [--rate R] [--dispatch N] [--in-flight N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pika

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test-client" / "tests" / "e2e"))
from e2e_support import RecordingSimulator

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
S3_ENDPOINT = os.environ.get("S3_ENDPOINT", "http://127.0.0.1:8333")
S3_KEY = os.environ.get("S3_ACCESS_KEY_ID", "CWTESTACCESSKEY")
S3_SECRET = os.environ.get("S3_SECRET_ACCESS_KEY", "cwTestSecretKey0123456789abcdefghijklmn")
NAMESPACE = "default"
# An image the simulator's kubelet cannot pull: its Jobs stay in flight (stuck grace 1 h)
# without running a process each.
STUCK_IMAGE = "registry.example.com/bench/never-pulled:1"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size in MB (10^6 bytes, as the targets are stated)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def parse_time(text: str) -> float:
    """RFC 3339 with nanoseconds → epoch seconds."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


def wait_until(predicate: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


class Bench:
    def __init__(self, binary: str, state: Path) -> None:
        self.binary = binary
        (state / "simulator").mkdir()
        self.sim = RecordingSimulator(state / "simulator")
        self.sim.create_s3_secret(NAMESPACE, "cloud-worker-s3", S3_KEY, S3_SECRET)
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.http_port = free_port()
        self.log = open(state / "worker.log", "wb")  # noqa: SIM115 - closed in stop()
        self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.connection.channel()
        self.replies = self.channel.queue_declare("", exclusive=True).method.queue
        self.process: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> float:
        """Starts the worker; returns milliseconds until /readyz answers 200 (broker connected,
        request queue consumed, watches listed)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUD_WORKER_")}
        env.update({
            "CLOUD_WORKER_AMQP_URL": AMQP_URL, "CLOUD_WORKER_KUBE_SERVER": self.sim.base,
            "CLOUD_WORKER_NAMESPACE": NAMESPACE, "CLOUD_WORKER_S3_ENDPOINT": S3_ENDPOINT,
            "CLOUD_WORKER_S3_ACCESS_KEY_ID": S3_KEY, "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "CLOUD_WORKER_S3_CREDENTIALS_SECRET": "cloud-worker-s3",
            "CLOUD_WORKER_REQUEST_QUEUE": self.queue, "CLOUD_WORKER_REQUEST_EXCHANGE": self.queue,
            "CLOUD_WORKER_DEAD_LETTER_QUEUE": f"{self.queue}.dead-letter",
            "CLOUD_WORKER_REPLY_QUEUE": f"{self.queue}.replies", "CLOUD_WORKER_HTTP_PORT": str(self.http_port),
            "CLOUD_WORKER_STUCK_POD_GRACE_SECONDS": "3600", "CLOUD_WORKER_PREFETCH": "64",
        })
        started = time.monotonic()
        self.process = subprocess.Popen([self.binary], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self.ready, "the worker to be ready", 30)
        return (time.monotonic() - started) * 1000

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def publish(self, body: dict[str, Any]) -> str:
        request_id = uuid.uuid4().hex
        self.channel.basic_publish(
            self.queue, self.queue, json.dumps(body).encode(),
            pika.BasicProperties(message_id=request_id, correlation_id=request_id, reply_to=self.replies,
                                 content_type="application/json", delivery_mode=2),
        )
        return request_id

    def await_replies(self, count: int, timeout: float) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(replies) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(replies)} of {count} replies arrived")
            method, _, body = self.channel.basic_get(self.replies, auto_ack=True)
            if method is None:
                self.connection.sleep(0.02)
            else:
                replies.append(json.loads(body))
        return replies

    def job_count(self) -> int:
        _, answer = self.sim.call("GET", f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs?labelSelector=cloud-worker.io/pool={self.queue}")
        return len(answer["items"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        for queue in (self.queue, f"{self.queue}.dead-letter", f"{self.queue}.replies"):
            self.channel.queue_delete(queue)
        self.channel.exchange_delete(self.queue)
        self.connection.close()
        self.sim.stop()
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--jobs", type=int, default=100, help="short jobs run for CPU and requests per job")
    parser.add_argument("--rate", type=float, default=100, help="requests/s for the dispatch latency")
    parser.add_argument("--dispatch", type=int, default=300, help="requests published at --rate")
    parser.add_argument("--in-flight", type=int, default=1000, help="Jobs in flight for the RSS figure")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="worker-bench-") as directory:
        bench = Bench(options.binary, Path(directory))
        try:
            rows = run(bench, options)
        finally:
            bench.stop()
    print(f"{'figure':52} {'measured':>14}   target")
    for figure, value, target in rows:
        print(f"{figure:52} {value:>14}   {target}")


def run(bench: Bench, options: argparse.Namespace) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    startup = bench.start_worker()
    rows.append(("start to consuming (/readyz 200)", f"{startup:.0f} ms", "≤ 200 ms"))
    time.sleep(2)
    rows.append(("idle RSS", f"{rss_mb(bench.pid):.1f} MB", "≤ 30 MB"))

    # Whole pipeline of short jobs: create, watch, log archive, claim, reply, delete.
    short = {"image": "busybox:latest", "jobName": "bench-short", "inputBucket": "bench-bucket",
             "command": ["sh", "-c", "echo done"]}
    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                      region_name="us-east-1")
    if "bench-bucket" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="bench-bucket")
    requests_before = bench.sim.stats()["total"]
    cpu_before = cpu_seconds(bench.pid)
    for _ in range(options.jobs):
        bench.publish(short)
    replies = bench.await_replies(options.jobs, timeout=600)
    cpu = (cpu_seconds(bench.pid) - cpu_before) / options.jobs * 1000
    requests = (bench.sim.stats()["total"] - requests_before) / options.jobs
    succeeded = sum(1 for r in replies if r.get("status") == "succeeded")
    rows.append((f"worker CPU per job ({options.jobs} jobs, {succeeded} succeeded)", f"{cpu:.2f} ms", "≤ 2 ms"))
    rows.append(("API requests per single-pod job", f"{requests:.2f}", "≤ 6, constant in time"))

    # Dispatch latency: publish → the simulator receives the Job's create.
    stuck = {"image": STUCK_IMAGE, "jobName": "bench-dispatch", "inputBucket": "bench-bucket"}
    published: dict[str, float] = {}
    interval = 1 / options.rate
    start = time.monotonic()
    for index in range(options.dispatch):
        delay = start + index * interval - time.monotonic()
        if delay > 0:
            bench.connection.sleep(delay)
        published[bench.publish(stuck)] = time.time()
    achieved = options.dispatch / (time.monotonic() - start)
    wait_until(lambda: bench.job_count() >= options.dispatch, "the dispatched Jobs", 120)
    latencies = []
    for entry in bench.sim.requests(verb="create", resource="jobs", limit=options.dispatch * 2):
        request_id = ((entry.get("body") or {}).get("metadata") or {}).get("annotations", {}).get("cloud-worker.io/request-id")
        if request_id in published and entry.get("code") == 201:
            latencies.append((parse_time(entry["time"]) - published[request_id]) * 1000)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rows.append((f"dispatch latency p50 ({achieved:.0f} req/s, {len(latencies)} requests)", f"{p50:.1f} ms", "≤ 5 ms"))
    rows.append((f"dispatch latency p99 ({achieved:.0f} req/s)", f"{p99:.1f} ms", "≤ 25 ms"))

    # Many Jobs in flight (their pods wait for an image that never comes).
    for _ in range(options.in_flight - options.dispatch):
        bench.publish(stuck)
    wait_until(lambda: bench.job_count() >= options.in_flight, f"{options.in_flight} Jobs", 600)
    time.sleep(3)
    rows.append((f"RSS with {options.in_flight} jobs in flight", f"{rss_mb(bench.pid):.1f} MB", "≤ 100 MB"))
    rows.append(("a 1 GiB log archived: RSS growth", "bench/s3", "≤ 64 MB (the upload path, measured there)"))
    return rows


if __name__ == "__main__":
    main()

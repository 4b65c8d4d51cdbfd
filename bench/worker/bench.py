#!/usr/bin/env python3
"""cloud-worker and a Python peer worker (bench/peer: pika + kubernetes + boto3), side by side in
one run against the local RabbitMQ and SeaweedFS, each with a Kubernetes API simulator of its
own (SPEC §10): start-up, idle RSS, CPU and API requests per job, dispatch latency at a fixed
request rate, 1,000 followed pods logging a line a second, 1,000 Jobs in flight with nothing
changing. Prints each figure for both workers with the ratio and the target, writes the same
text next to a PNG (dispatch-latency CDF, CPU per job, RSS over the run).

Usage: bench/worker/run.sh [options]   (scripts/services.sh start first; run.sh builds the release binary)
       python3 bench/worker/bench.py BINARY [--quick] [--out PNG] [--jobs N] ...
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pika

import plot
import report
import scenarios
from subjects import REPO, S3_ENDPOINT, S3_KEY, S3_REGION, S3_SECRET, CloudWorker, PeerWorker, Subject

HERE = Path(__file__).resolve().parent
ATTEMPTS = 2
# Scenario sizes: the targets' (full) and a smaller run that finishes in about two minutes.
SIZES = {
    "full": {"jobs": 100, "long_jobs": 20, "dispatch": 300, "in_flight": 1000, "followed": 1000, "window": 20},
    "quick": {"jobs": 20, "long_jobs": 5, "dispatch": 100, "in_flight": 200, "followed": 100, "window": 8},
}


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="the cloud-worker executable")
    parser.add_argument("--quick", action="store_true", help="smaller N throughout (the output says so)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "worker-bench.png",
                        help="the PNG; the text goes next to it (.txt)")
    parser.add_argument("--state", type=Path, default=REPO / ".run" / "bench-worker",
                        help="worker and simulator logs (emptied first)")
    parser.add_argument("--jobs", type=int, help="short jobs, for CPU and API requests per job")
    parser.add_argument("--long-jobs", type=int, help="jobs logging --long-seconds, for API requests per job")
    parser.add_argument("--long-seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100, help="requests/s for the dispatch latency")
    parser.add_argument("--dispatch", type=int, help="requests published at --rate")
    parser.add_argument("--in-flight", type=int, help="Jobs held in flight for the quiet CPU figure")
    parser.add_argument("--followed", type=int, help="pods logging a line a second, followed by cloud-worker")
    parser.add_argument("--window", type=float, help="seconds each steady state is measured over")
    parser.add_argument("--ramp-timeout", type=int, default=150,
                        help="seconds for the followed pods to start, and for their replies once stopped")
    options = parser.parse_args()
    for name, value in SIZES["quick" if options.quick else "full"].items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    options.cpus = os.cpu_count() or 1
    return options


def measure(make: Callable[[Path], Subject], steps: list[tuple[str, scenarios.Step]], label: str,
            options: argparse.Namespace) -> scenarios.Results:
    """One run of a worker; run again from the start if the broker goes away during it (the
    shared RabbitMQ may be restarted by others' tests), since its figures would be off."""
    name = label.replace(", ", "-").replace(" ", "-")
    attempt = 1
    while True:
        subject = make(options.state / (name if attempt == 1 else f"{name}-{attempt}"))
        try:
            return scenarios.run(subject, options, steps, label)
        except pika.exceptions.AMQPConnectionError as error:
            if attempt == ATTEMPTS:
                raise SystemExit(f"{label}: lost the broker in each of {ATTEMPTS} attempts: {error!r}") from error
            print(f"{label}: lost the broker ({error!r}); running it again", file=sys.stderr)
        except TimeoutError as error:
            raise SystemExit(str(error)) from error
        finally:
            subject.stop()
        attempt += 1


def main() -> None:
    options = parse_options()
    shutil.rmtree(options.state, ignore_errors=True)
    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                      region_name=S3_REGION)
    if scenarios.BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=scenarios.BUCKET)

    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    def cloud_worker(state: Path) -> Subject:
        return CloudWorker(state, options.binary)

    worker = measure(cloud_worker, scenarios.MAIN, "cloud-worker", options)
    peer = measure(PeerWorker, scenarios.MAIN, "peer", options)
    followed = measure(cloud_worker, scenarios.FOLLOWED, "cloud-worker, followed pods", options)

    title = (f"cloud-worker vs Python peer, {started:%Y-%m-%d %H:%M} UTC, {options.cpus} cores, load "
             f"{worker.load:.1f} / {peer.load:.1f} / {followed.load:.1f} as the runs began"
             + (", --quick" if options.quick else ""))
    text = "\n".join([
        title, f"binary {options.binary}; logs in {options.state}; {time.monotonic() - clock:.0f} s", "",
        report.render(report.rows(worker, peer, followed), report.notes((worker, peer, followed), options)),
    ])
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.with_suffix(".txt").write_text(text)
    plot.draw(worker, peer, followed, options.out, title)
    print(text + f"\nwrote {options.out} and {options.out.with_suffix('.txt')}")


if __name__ == "__main__":
    main()

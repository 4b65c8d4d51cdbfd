"""The scenarios of SPEC §10, run in order against one worker, and the figures they give.

Order matters: short and long jobs run while the simulator has the S3 Secret; then the Secret
goes, so that the Jobs dispatched afterwards stay in flight with their pods waiting for it, a
state in which nothing changes. 1,000 pods logging a line a second are a run of their own."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from probes import CPUMeter, RSSSampler, RSSTrace, rss_mb, threads
from subjects import Subject

BUCKET = "bench-bucket"
SHORT = {"image": "busybox:latest", "jobName": "bench-short", "inputBucket": BUCKET,
         "command": ["sh", "-c", "echo done"]}
# Never runs: once the Secret is gone its pod waits in CreateContainerConfigError.
HELD = {"image": "busybox:latest", "jobName": "bench-held", "inputBucket": BUCKET,
        "command": ["sh", "-c", "echo never"]}


def ticker(job_name: str, seconds: int, stop_file: str | None = None) -> dict[str, Any]:
    """A job that logs a line a second (bench/worker/ticker.pl) for `seconds` or until
    `stop_file` exists."""
    return {"image": "bench/ticker:1", "jobName": job_name, "inputBucket": BUCKET,
            "args": [str(seconds)] + ([stop_file] if stop_file else [])}


@dataclass
class Window:
    """A stretch of steady state: the worker's and its simulator's CPU over it."""

    seconds: float
    worker_cpu: float
    simulator_cpu: float

    @classmethod
    def measure(cls, subject: Subject, seconds: float) -> Window:
        meter = CPUMeter(worker=subject.pid, simulator=subject.sim.process.pid)
        subject.pause(seconds)
        used, wall = meter.stop()
        return cls(wall, used["worker"], used["simulator"])

    @property
    def worker_ms_per_s(self) -> float:
        return self.worker_cpu / self.seconds * 1000

    @property
    def simulator_ms_per_s(self) -> float:
        return self.simulator_cpu / self.seconds * 1000


@dataclass
class Followed:
    pods: int
    streams: int  # logs being followed when measured: fewer than pods where a side fell behind
    rss_mb: float
    threads: int
    window: Window


@dataclass
class Results:
    name: str
    label: str = ""  # which run, where a worker has more than one
    load: float = 0  # the machine's 1-minute load average as the run began
    startup_ms: float = 0
    idle_rss_mb: float = 0
    short_jobs: int = 0
    cpu_per_job_ms: float = 0
    simulator_cpu_per_job_ms: float = 0
    requests_per_short_job: float = 0
    long_seconds: int = 0
    requests_per_long_job: float = 0
    replies: int = 0
    replies_arrived: int = 0
    replies_good: int = 0
    bad_reply: dict[str, Any] | None = None
    dispatch_ms: list[float] = field(default_factory=list)
    dispatch_rate: float = 0
    dispatch_simulator_share: float = 0
    followed: Followed | None = None
    in_flight: int = 0
    in_flight_rss_mb: float = 0
    in_flight_window: Window | None = None
    in_flight_unchanged: bool = False
    trace: RSSTrace = field(default_factory=RSSTrace)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.dispatch_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]

    @property
    def dispatch_p50(self) -> float:
        return statistics.median(self.dispatch_ms)


def good(reply: dict[str, Any]) -> bool:
    """Succeeded, with every pod's log archived."""
    logs = reply.get("logs") or []
    return reply.get("status") == "succeeded" and bool(logs) and all(log.get("complete") for log in logs)


def tally(results: Results, replies: list[dict[str, Any]], expected: int) -> None:
    """Counts the replies (one not come is a bad one), and keeps the first bad one to show."""
    results.replies += expected
    results.replies_arrived += len(replies)
    for reply in replies:
        if good(reply):
            results.replies_good += 1
        elif results.bad_reply is None:
            results.bad_reply = reply


def parse_time(text: str) -> float:
    """RFC 3339 with nanoseconds → epoch seconds."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


Step = Callable[[Subject, argparse.Namespace, Results], None]


def run(subject: Subject, options: argparse.Namespace, steps: list[tuple[str, Step]], label: str) -> Results:
    """Starts the worker, then runs each step in turn while sampling its RSS."""
    results = Results(subject.name, label, os.getloadavg()[0])
    results.startup_ms = subject.start()
    sampler = RSSSampler(subject.pid)
    try:
        for phase, step in steps:
            sampler.phase(phase)
            step(subject, options, results)
    finally:
        results.trace = sampler.stop()
    return results


def idle(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    subject.pause(2)
    results.idle_rss_mb = rss_mb(subject.pid)


def run_jobs(subject: Subject, body: dict[str, Any], count: int, results: Results) -> tuple[CPUMeter, float]:
    """Publishes `count` requests at once and waits for their replies; returns the CPU meter
    started before the first and the API requests per job."""
    requests_before = subject.api_requests()
    meter = CPUMeter(worker=subject.pid, simulator=subject.sim.process.pid)
    for _ in range(count):
        subject.publish(body)
    tally(results, subject.await_replies(count, timeout=600), count)
    return meter, (subject.api_requests() - requests_before) / count


def short_jobs(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """The whole pipeline of a short job: create, watch, log archive, reply, delete."""
    meter, results.requests_per_short_job = run_jobs(subject, SHORT, options.jobs, results)
    used, _ = meter.stop()
    results.short_jobs = options.jobs
    results.cpu_per_job_ms = used["worker"] / options.jobs * 1000
    results.simulator_cpu_per_job_ms = used["simulator"] / options.jobs * 1000


def long_jobs(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """Requests per job again with jobs that log for a while: a worker that polls, or opens a
    stream per line, makes more requests the longer a job runs."""
    results.long_seconds = options.long_seconds
    _, results.requests_per_long_job = run_jobs(
        subject, ticker("bench-long", options.long_seconds), options.long_jobs, results)


def start_followed(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """Many pods at once, each logging a line a second (until the bench creates their stop file),
    every log to be followed by the worker. The simulator may not keep up with 1,000 (its CPU is
    measured beside the worker's): then the figures are taken with the logs being followed after
    --ramp-timeout, and the table says how many."""
    for _ in range(options.followed):
        subject.publish(ticker("bench-followed", options.ramp_timeout + 3 * options.window, str(stop_file(subject))))
    try:
        subject.wait(lambda: subject.open_log_streams() >= options.followed, f"{options.followed} followed logs",
                     options.ramp_timeout, 0.5)
        subject.pause(5)  # the last streams' first lines
    except TimeoutError:
        pass


def measure_followed(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    window = Window.measure(subject, options.window)
    results.followed = Followed(options.followed, subject.open_log_streams(), rss_mb(subject.pid),
                                threads(subject.pid), window)


def end_followed(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    stop_file(subject).touch()
    tally(results, subject.await_replies(options.followed, timeout=options.ramp_timeout), options.followed)


def stop_file(subject: Subject) -> Path:
    """The file whose existence ends the followed pods' logging (ticker.pl)."""
    return subject.state / "stop-tickers"


def dispatch(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """Publish → the simulator receives the Job's create, at a fixed request rate. The S3
    Secret goes first: these Jobs and those that follow stay in flight."""
    subject.remove_s3_secret()
    seq = subject.sim.admin("/_sim/requests?limit=0")["seq"]
    created = subject.jobs_created()
    published: dict[str, float] = {}
    interval = 1 / options.rate
    meter = CPUMeter(simulator=subject.sim.process.pid)
    start = time.monotonic()
    for index in range(options.dispatch):
        delay = start + index * interval - time.monotonic()
        if delay > 0:
            subject.pause(delay)
        published[subject.publish(HELD)] = time.time()
    results.dispatch_rate = options.dispatch / (time.monotonic() - start)
    subject.wait(lambda: subject.jobs_created() - created >= options.dispatch, "the dispatched Jobs", 120, 0.1)
    used, wall = meter.stop()
    results.dispatch_simulator_share = used["simulator"] / wall
    for entry in subject.sim.requests(verb="create", resource="jobs", since=seq):
        annotations = ((entry.get("body") or {}).get("metadata") or {}).get("annotations") or {}
        request_id = annotations.get("cloud-worker.io/request-id")
        if request_id in published and entry.get("code") == 201:
            results.dispatch_ms.append((parse_time(entry["time"]) - published[request_id]) * 1000)


def fill_in_flight(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """Tops the held Jobs up to `--in-flight`."""
    created = subject.jobs_created()
    for _ in range(options.in_flight - options.dispatch):
        subject.publish(HELD)
    subject.wait(lambda: subject.jobs_created() - created >= options.in_flight - options.dispatch,
                 f"{options.in_flight} Jobs in flight", 600, 0.2)
    results.in_flight = options.in_flight


def measure_in_flight(subject: Subject, options: argparse.Namespace, results: Results) -> None:
    """Waits until nothing changes in the simulator, then measures CPU over a window and checks
    that nothing changed during it."""
    version = settle(subject, quiet_for=3, timeout=300)
    results.in_flight_window = Window.measure(subject, options.window)
    results.in_flight_unchanged = subject.resource_version() == version
    results.in_flight_rss_mb = rss_mb(subject.pid)


def settle(subject: Subject, quiet_for: float, timeout: float) -> str:
    """Waits until the simulator's resourceVersion has not moved for `quiet_for` seconds;
    returns it."""
    deadline = time.monotonic() + timeout
    version, since = subject.resource_version(), time.monotonic()
    while time.monotonic() - since < quiet_for:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{subject.name}: the simulator's objects still change after {timeout:.0f} s")
        subject.pause(0.5)
        latest = subject.resource_version()
        if latest != version:
            version, since = latest, time.monotonic()
    return version


# The two runs of a worker: everything but followed pods, and followed pods on their own (with a
# simulator of their own, whose load from 1,000 pod processes then distorts no other figure).
MAIN: list[tuple[str, Step]] = [
    ("idle", idle), ("short jobs", short_jobs), ("long jobs", long_jobs), ("dispatch", dispatch),
    ("Jobs in flight: created", fill_in_flight), ("Jobs in flight: quiet", measure_in_flight)]
FOLLOWED: list[tuple[str, Step]] = [
    ("idle", idle), ("followed pods: starting", start_followed), ("followed pods: measured", measure_followed),
    ("followed pods: ending", end_followed)]

"""The table bench.py prints: each figure for both workers, the ratio (peer ÷ cloud-worker, so
above 1 means cloud-worker does better), the target and whether cloud-worker met it; then notes
on what limited the figures."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Callable

from scenarios import Results

NO_FOLLOW = "n/a (does not follow logs)"
# Above this share of a core the simulator (Python, one GIL) is saturated and its speed, not the
# worker's, sets the figure.
SIMULATOR_LIMIT = 0.8
HEADER = ("figure", "cloud-worker", "peer", "ratio", "target", "")


@dataclass
class Row:
    figure: str
    worker: str
    peer: str
    ratio: str
    target: str
    verdict: str

    def cells(self) -> tuple[str, ...]:
        return (self.figure, self.worker, self.peer, self.ratio, self.target, self.verdict)


def ratio(worker: float, peer: float) -> str:
    if worker <= 0:
        return "∞" if peer > 0 else "—"
    return f"{peer / worker:.1f}x"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def measured(figure: str, unit: str, digits: int, worker: float, peer: float, target: str,
             met: Callable[[float, float], bool] | None) -> Row:
    """A row for a figure both workers have; `met` (worker, peer) → whether the target is met,
    None for a figure without a target."""
    return Row(figure, f"{worker:.{digits}f} {unit}".strip(), f"{peer:.{digits}f} {unit}".strip(),
               ratio(worker, peer), target, "" if met is None else verdict(met(worker, peer)))


def count(n: int, target_n: int) -> str:
    """N, and the target's N where the run used another."""
    return f"{n:,}" if n == target_n else f"{n:,} (target: {target_n:,})"


def replies(figure: str, worker: Results, peer: Results | None) -> Row:
    everything = (worker,) if peer is None else (worker, peer)
    return Row(figure, f"{worker.replies_good}/{worker.replies}",
               NO_FOLLOW if peer is None else f"{peer.replies_good}/{peer.replies}", "", "all",
               verdict(all(results.replies_good == results.replies for results in everything)))


def rows(worker: Results, peer: Results, followed_run: Results) -> list[Row]:
    followed, window, peer_window = followed_run.followed, worker.in_flight_window, peer.in_flight_window
    assert followed is not None and window is not None and peer_window is not None
    table = [
        measured("start to consuming", "ms", 0, worker.startup_ms, peer.startup_ms, "≤ 100 ms",
                 lambda w, p: w <= 100),
        measured("idle RSS", "MB", 1, worker.idle_rss_mb, peer.idle_rss_mb, "≤ 25 MB", lambda w, p: w <= 25),
        measured(f"CPU per short job ({worker.short_jobs} jobs)", "ms", 2, worker.cpu_per_job_ms,
                 peer.cpu_per_job_ms, "≤ 1 ms, ≥ 10x below peer", lambda w, p: w <= 1 and p >= 10 * w),
        measured("  its simulator's CPU per job", "ms", 2, worker.simulator_cpu_per_job_ms,
                 peer.simulator_cpu_per_job_ms, "(the simulator's)", None),
        measured("API requests per job, short", "", 2, worker.requests_per_short_job,
                 peer.requests_per_short_job, "≤ 4", lambda w, p: w <= 4),
        measured(f"API requests per job, logging {worker.long_seconds} s", "", 2, worker.requests_per_long_job,
                 peer.requests_per_long_job, "≤ 4, not above short",
                 lambda w, p: w <= 4 and w <= worker.requests_per_short_job + 0.05),
        replies("replies succeeded, logs archived", worker, peer),
        measured(f"dispatch p50 ({worker.dispatch_rate:.0f} req/s, {len(worker.dispatch_ms)} requests)", "ms", 2,
                 worker.dispatch_p50, peer.dispatch_p50, "≤ 3 ms, ≤ peer", lambda w, p: w <= 3 and w <= p),
        measured("dispatch p99", "ms", 2, worker.percentile(0.99), peer.percentile(0.99),
                 "≤ 10 ms, ≤ peer", lambda w, p: w <= 10 and w <= p),
        Row(f"{count(followed.pods, 1000)} pods logging, {followed.streams:,} followed: RSS",
            f"{followed.rss_mb:.1f} MB", NO_FOLLOW, "", "≤ 80 MB", verdict(followed.rss_mb <= 80)),
        Row("  threads", str(followed.threads), NO_FOLLOW, "", "≤ 8", verdict(followed.threads <= 8)),
        Row("  CPU", f"{followed.window.worker_ms_per_s / 10:.1f} % core", NO_FOLLOW, "", "≤ 10 % of a core",
            verdict(followed.window.worker_ms_per_s <= 100)),
        Row("  its simulator's CPU", f"{followed.window.simulator_ms_per_s / 10:.0f} % core", NO_FOLLOW, "",
            "(the simulator's)", ""),
        replies("  replies succeeded, logs archived", followed_run, None),
        measured(f"{count(worker.in_flight, 1000)} quiet Jobs in flight: CPU", "ms/s", 2,
                 window.worker_ms_per_s, peer_window.worker_ms_per_s, "≤ 1 ms/s", lambda w, p: w <= 1),
        measured("  its simulator's CPU", "ms/s", 0, window.simulator_ms_per_s, peer_window.simulator_ms_per_s,
                 "(the simulator's)", None),
        measured("  RSS", "MB", 1, worker.in_flight_rss_mb, peer.in_flight_rss_mb, "—", None),
        Row("1 GiB log: RSS growth, throughput", "bench/s3/run.sh", "—", "", "≤ 64 MB, ≥ 0.9x aws s3 cp",
            "see bench/s3"),
    ]
    return table


def notes(runs: tuple[Results, ...], options: argparse.Namespace) -> list[str]:
    loads = "; ".join(f"{results.label} {results.load:.1f}" for results in runs)
    lines = [f"load average (1 min) as each run began: {loads} (on {options.cpus} cores); other work on the "
             "machine shows in every figure."]
    if options.quick:
        lines.append("--quick: fewer jobs and pods than the targets name; the figures are indicative only.")
    for results in runs:
        if results.followed is not None:
            what, share = "followed pods", results.followed.window.simulator_ms_per_s / 1000
            if results.followed.streams < results.followed.pods:
                lines.append(f"{results.label}: {results.followed.streams:,} of {results.followed.pods:,} logs "
                             f"followed after {options.ramp_timeout} s; the figures are for those.")
        else:
            what, share = "dispatch", results.dispatch_simulator_share
            if not results.in_flight_unchanged:
                lines.append(f"{results.label}: objects changed during the in-flight window (not a quiet state).")
        if share >= SIMULATOR_LIMIT:
            lines.append(f"{results.label}: its simulator used {share:.0%} of a core during {what}; the "
                         "simulator, not the worker, limits that figure.")
        if results.replies_good < results.replies:
            example = f", e.g. {json.dumps(results.bad_reply)[:600]}" if results.bad_reply else ""
            lines.append(f"{results.label}: {results.replies - results.replies_good} of {results.replies} replies "
                         f"not succeeded with every log archived ({results.replies - results.replies_arrived} "
                         f"did not come){example}")
    return lines


def render(table: list[Row], notes_text: list[str]) -> str:
    all_cells = [HEADER] + [row.cells() for row in table]
    widths = [max(len(cells[i]) for cells in all_cells) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip() for cells in all_cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines + [""] + notes_text) + "\n"

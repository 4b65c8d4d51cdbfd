"""What the bench reads about a process from /proc: resident memory, CPU time, threads, and a
sampler that records memory over a whole run for the plot."""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LIBC = ctypes.CDLL(None, use_errno=True)


def status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {name}")


def rss_mb(pid: int) -> float:
    """Resident set size in MB (10^6 bytes, as the targets are stated)."""
    return status_field(pid, "VmRSS") * 1024 / 1e6


def threads(pid: int) -> int:
    return status_field(pid, "Threads")


def cpu_seconds(pid: int) -> float:
    """CPU time of the process itself, all its threads, to the nanosecond: /proc/PID/stat counts
    in clock ticks (10 ms), too coarse for a figure of 1 ms per second. A simulator's pod
    processes are not counted as the simulator's."""
    clock = ctypes.c_int()
    error = LIBC.clock_getcpuclockid(pid, ctypes.byref(clock))
    if error:
        raise OSError(error, f"clock_getcpuclockid({pid})")
    return time.clock_gettime(clock.value)


class CPUMeter:
    """CPU seconds a set of processes spent between `start` and `stop`, with the wall time."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.started = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def stop(self) -> tuple[dict[str, float], float]:
        """(CPU seconds per process, wall seconds) since the meter was made."""
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        return used, time.monotonic() - self.started


@dataclass
class RSSTrace:
    """RSS samples of one process over a run, and where each phase of the run began."""

    times: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    phases: list[tuple[float, str]] = field(default_factory=list)


class RSSSampler:
    """Samples a process's RSS every `interval` seconds on a thread of its own until stopped
    (or until the process is gone)."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.trace = RSSTrace()
        self.origin = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.thread.start()

    def phase(self, name: str) -> None:
        self.trace.phases.append((time.monotonic() - self.origin, name))

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                value = rss_mb(self.pid)
            except (OSError, RuntimeError):
                return
            self.trace.times.append(time.monotonic() - self.origin)
            self.trace.rss.append(value)

    def stop(self) -> RSSTrace:
        self.done.set()
        self.thread.join()
        return self.trace

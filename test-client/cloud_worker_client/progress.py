"""What the client shows on stderr while it works.

Phases (uploading, submitted, running, finished, downloading) are lines, wherever stderr goes.
On a terminal one more line is rewritten in place: the time waited, or a transfer's files and
bytes as they go. Redirected to a file, stderr gets no such line, only a "still waiting" line
every 10 s.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from .status_api import StatusAPI, StatusUnavailable

# How often the waiting display asks the worker's status API about the request.
STATUS_POLL_SECONDS = 2.0
# Without a terminal, how often a line says the client is still waiting.
PLAIN_WAIT_LINE_SECONDS = 10
# The fastest a transfer line is redrawn.
REDRAW_SECONDS = 0.1


class Console:
    """stderr: lines for everyone, one line rewritten in place on a terminal. Thread-safe
    (boto3 reports transfer progress from its worker threads)."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._live = False
        self._lock = threading.Lock()

    def say(self, message: str) -> None:
        """A line that stays."""
        if not self.quiet:
            self.error(message)

    def error(self, message: str) -> None:
        """A line that stays, even when quiet."""
        with self._lock:
            self._end_live()
            self.stream.write(message + "\n")
            self.stream.flush()

    def live(self, text: str) -> None:
        """The line rewritten in place (terminal only)."""
        if self.quiet or not self.tty:
            return
        with self._lock:
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()
            self._live = True

    def end_live(self) -> None:
        with self._lock:
            self._end_live()

    def _end_live(self) -> None:
        if self._live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._live = False


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class Transfer:
    """Files and bytes of one upload or download, on the live line (storage.TransferProgress)."""

    def __init__(self, console: Console, verb: str) -> None:
        self.console = console
        self.verb = verb
        self.files = self.total = self.done_files = self.done_bytes = 0
        self._drawn = 0.0
        self._lock = threading.Lock()

    def begin(self, files: int, total_bytes: int) -> None:
        self.files, self.total = files, total_bytes
        self._draw(force=True)

    def advance(self, transferred: int) -> None:
        with self._lock:
            self.done_bytes += transferred
        self._draw()

    def file_done(self) -> None:
        with self._lock:
            self.done_files += 1
        self._draw(force=True)

    def close(self) -> None:
        self.console.end_live()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        self.console.live(f"{self.verb} {self.done_files}/{self.files} files, "
                          f"{size(self.done_bytes)} of {size(self.total)}")


class WaitDisplay:
    """The progress callback of RpcClient.wait_for_reply: the request's phase, as the worker's
    status API tells it (when it answers), and the time waited."""

    def __init__(self, console: Console, request_id: str, status_api: StatusAPI | None) -> None:
        self.console = console
        self.request_id = request_id
        self.status_api = status_api
        self.phase = "submitted: waiting for a worker to take the request"
        self._polled = -STATUS_POLL_SECONDS

    def __call__(self, elapsed: float) -> None:
        if self.status_api is not None and elapsed - self._polled >= STATUS_POLL_SECONDS:
            self._polled = elapsed
            self._poll()
        seconds = int(elapsed)
        if self.console.tty:
            self.console.live(f"{self.phase}… {seconds}s")
        elif seconds and seconds % PLAIN_WAIT_LINE_SECONDS == 0:
            self.console.say(f"still waiting for the reply… {seconds}s")

    def _poll(self) -> None:
        assert self.status_api is not None
        try:
            entries = self.status_api.find(self.request_id)
        except StatusUnavailable:
            # Not this worker's status server, or none: the time waited is all there is to show.
            self.status_api = None
            return
        if not entries:
            return
        entry = entries[0]
        phase = (f"running: Kubernetes Job {entry.get('k8sJob')}" if entry.get("state") == "running"
                 else f"finished on the worker: {entry.get('state')}, waiting for the reply")
        if phase != self.phase:
            self.phase = phase
            self.console.say(phase)


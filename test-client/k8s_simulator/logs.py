"""Container logs as the kubelet keeps them: one file per container in the CRI format
(`<RFC3339Nano> <stream> <F|P> <text>`), rotated when it grows past a size, at most N files.
(The simulated container's stdout and stderr share one pipe, so every line is tagged stdout.)

As on a kubelet, reads serve the current file only, so what was rotated away is no longer
readable. A follow stream ends when the container exits, when the pod is deleted, and (by
default, `cut_on_rotate`) when the file is rotated, so clients must resume with `sinceTime`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .util import now_ns, parse_rfc3339_ns, rfc3339_nano


@dataclass
class LogOptions:
    follow: bool = False
    timestamps: bool = False
    since_ns: int | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None


@dataclass
class Entry:
    ts_text: str
    ts_ns: int
    stream: str
    full: bool
    content: bytes

    def render(self, timestamps: bool) -> bytes:
        body = self.content + (b"\n" if self.full else b"")
        return (self.ts_text.encode("ascii") + b" " + body) if timestamps else body


def parse_entry(line: bytes) -> Entry | None:
    if not line.endswith(b"\n"):
        return None
    parts = line[:-1].split(b" ", 3)
    if len(parts) < 3:
        return None
    ts_text = parts[0].decode("ascii", "replace")
    try:
        ts_ns = parse_rfc3339_ns(ts_text)
    except ValueError:
        return None
    content = parts[3] if len(parts) == 4 else b""
    return Entry(ts_text, ts_ns, parts[1].decode("ascii", "replace"), parts[2] == b"F", content)


class ContainerLog:
    """The log of one container; appended to by the kubelet, read by the log endpoint."""

    def __init__(self, path: Path, max_bytes: int, max_files: int = 5, cut_on_rotate: bool = True) -> None:
        self.path = path
        self.max_bytes = max(1024, max_bytes)
        self.max_files = max(1, max_files)
        self.cut_on_rotate = cut_on_rotate
        self.cond = threading.Condition()
        self.generation = 0  # bumped at each rotation
        self.closed = False  # the container exited (or the pod is gone)
        self.removed = False
        self.last_ns = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh: BinaryIO = open(path, "ab")
        self.size = self.fh.tell()
        self.closed_generation = 0

    def append(self, stream: str, data: bytes, full: bool) -> None:
        """One line (without its newline) written by the container."""
        with self.cond:
            if self.removed:
                return
            if self.fh.closed:
                self.fh = open(self.path, "ab")
            ts = max(now_ns(), self.last_ns + 1)
            self.last_ns = ts
            record = f"{rfc3339_nano(ts)} {stream} {'F' if full else 'P'} ".encode("ascii") + data + b"\n"
            self.fh.write(record)
            self.fh.flush()
            self.size += len(record)
            if self.size >= self.max_bytes:
                self._rotate()
            self.cond.notify_all()

    def _rotate(self) -> None:
        self.fh.close()
        keep = self.max_files - 1
        base = str(self.path)
        if keep <= 0:
            os.unlink(base)
        else:
            oldest = Path(f"{base}.{keep}")
            if oldest.exists():
                oldest.unlink()
            for i in range(keep - 1, 0, -1):
                src = Path(f"{base}.{i}")
                if src.exists():
                    src.rename(f"{base}.{i + 1}")
            os.rename(base, f"{base}.1")
        self.fh = open(self.path, "ab")
        self.size = 0
        self.generation += 1

    def close(self) -> None:
        """The container exited: follow streams end once they have read everything."""
        with self.cond:
            self.closed = True
            try:
                self.fh.close()  # finished pods keep no descriptor open
            except OSError:
                pass
            self.cond.notify_all()

    def reopen(self) -> None:
        """The container restarts in place (restartPolicy OnFailure): the log goes on."""
        with self.cond:
            self.closed = False
            if self.fh.closed and not self.removed:
                self.fh = open(self.path, "ab")

    def remove(self) -> None:
        """The pod is deleted: readers end, the files go."""
        with self.cond:
            self.removed = True
            self.closed = True
            try:
                self.fh.close()
            except OSError:
                pass
            self.cond.notify_all()

    def tail_text(self, max_lines: int, max_bytes: int) -> str:
        """The end of the log, for `FallbackToLogsOnError` termination messages."""
        entries = self._entries_now()
        chunk = b"".join(e.render(False) for e in entries[-max_lines:])
        return chunk[-max_bytes:].decode("utf-8", "replace")

    def _entries_now(self) -> list[Entry]:
        with self.cond:
            try:
                with open(self.path, "rb") as f:
                    data = f.read()
            except OSError:
                return []
        out = []
        for line in data.splitlines(keepends=True):
            entry = parse_entry(line)
            if entry is not None:
                out.append(entry)
        return out

    def read(self, opts: LogOptions) -> Iterator[bytes]:
        """The log as the endpoint serves it (chunks), following when asked."""
        remaining = opts.limit_bytes
        with self.cond:
            generation = self.generation
            try:
                f = open(self.path, "rb")
            except OSError:
                return
        try:
            # What is there now.
            entries: list[Entry] = []
            pending = b""
            while True:
                line = f.readline()
                if not line:
                    break
                if not line.endswith(b"\n"):
                    pending = line
                    break
                entry = parse_entry(line)
                if entry is not None:
                    entries.append(entry)
            if pending:
                f.seek(-len(pending), os.SEEK_CUR)
            if opts.since_ns is not None:
                entries = [e for e in entries if e.ts_ns >= opts.since_ns]
            if opts.tail_lines is not None:
                entries = entries[-opts.tail_lines:] if opts.tail_lines > 0 else []
            out = b"".join(e.render(opts.timestamps) for e in entries)
            if remaining is not None:
                out = out[:remaining]
                remaining -= len(out)
            if out:
                yield out
            if not opts.follow or (remaining is not None and remaining <= 0):
                return
            # Then what comes, until the container exits, the pod goes or the file rotates.
            while True:
                line = f.readline()
                if line and line.endswith(b"\n"):
                    entry = parse_entry(line)
                    if entry is None or (opts.since_ns is not None and entry.ts_ns < opts.since_ns):
                        continue
                    data = entry.render(opts.timestamps)
                    if remaining is not None:
                        data = data[:remaining]
                        remaining -= len(data)
                    yield data
                    if remaining is not None and remaining <= 0:
                        return
                    continue
                if line:
                    f.seek(-len(line), os.SEEK_CUR)
                with self.cond:
                    if self.removed:
                        return
                    if self.generation != generation:
                        rest = f.read()  # the renamed file may still hold lines not yet read
                        for raw in rest.splitlines(keepends=True):
                            entry = parse_entry(raw)
                            if entry is not None and (opts.since_ns is None or entry.ts_ns >= opts.since_ns):
                                yield entry.render(opts.timestamps)
                        if self.cut_on_rotate:
                            return
                        f.close()
                        f = open(self.path, "rb")
                        generation = self.generation
                        continue
                    if self.size == f.tell() and self.closed:
                        return
                    if self.size == f.tell():
                        self.cond.wait(1.0)
        finally:
            f.close()


class LogStore:
    """All container logs, by pod uid and container name."""

    def __init__(self, max_bytes: int, max_files: int = 5, cut_on_rotate: bool = True) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.cut_on_rotate = cut_on_rotate
        self.lock = threading.Lock()
        self.logs: dict[tuple[str, str], ContainerLog] = {}

    def open(self, pod_uid: str, container: str, path: Path) -> ContainerLog:
        with self.lock:
            log = self.logs.get((pod_uid, container))
            if log is None:
                log = ContainerLog(path, self.max_bytes, self.max_files, self.cut_on_rotate)
                self.logs[(pod_uid, container)] = log
            return log

    def get(self, pod_uid: str, container: str) -> ContainerLog | None:
        with self.lock:
            return self.logs.get((pod_uid, container))

    def remove_pod(self, pod_uid: str) -> None:
        with self.lock:
            keys = [k for k in self.logs if k[0] == pod_uid]
            logs = [self.logs.pop(k) for k in keys]
        for log in logs:
            log.remove()

"""The image map: which local command stands for which container image.

`images.json` holds `{"images": {"<image>": {"entrypoint": [...], "cmd": [...], "env": {...}}}}`.
An image matches by exact string, or by its name with `:latest` implied when untagged (and a
`docker.io/` or `docker.io/library/` prefix ignored). Relative paths in `entrypoint`/`cmd` that
name an existing file are resolved against the directory holding `images.json`. The file is
re-read when it changes.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Image:
    """What a container image runs: Docker's ENTRYPOINT and CMD, plus ENV."""

    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _candidates(image: str) -> list[str]:
    names = [image]
    stripped = image
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix):]
            break
    if "@" in stripped:
        stripped = stripped.split("@", 1)[0]
    names.append(stripped)
    last = stripped.rsplit("/", 1)[-1]
    if ":" not in last:
        names.append(stripped + ":latest")
    elif stripped.endswith(":latest"):
        names.append(stripped[: -len(":latest")])
    return names


class ImageMap:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.mtime = -1.0
        self.images: dict[str, Image] = {}

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if mtime == self.mtime:
            return
        with self.path.open("r", encoding="utf-8") as f:
            data = json.load(f)
        base = self.path.resolve().parent
        images: dict[str, Image] = {}
        for name, spec in (data.get("images") or {}).items():
            images[name] = Image(
                [self._resolve(base, a) for a in spec.get("entrypoint") or []],
                [self._resolve(base, a) for a in spec.get("cmd") or []],
                {str(k): str(v) for k, v in (spec.get("env") or {}).items()},
            )
        self.images = images
        self.mtime = mtime

    @staticmethod
    def _resolve(base: Path, arg: str) -> str:
        if arg and not os.path.isabs(arg) and not arg.startswith("-") and "/" in arg:
            candidate = base / arg
            if candidate.exists():
                return str(candidate)
        return arg

    def lookup(self, image: str) -> Image | None:
        with self.lock:
            self._load()
            for name in _candidates(image):
                if name in self.images:
                    return self.images[name]
            return None

"""Command-line argument checking: every bad argument is one line naming the option, exit 2.

argparse reports a bad value as ``argument --name: <message>``; the types below give it the
message. ``OneLineParser`` prints that line alone (no usage block) and exits with 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import pika

from .config import ClientConfig, redact_url

EXIT_USAGE = 2

N = TypeVar("N", int, float)

# Kubernetes' rule for environment variable names (C_IDENTIFIER plus '-' and '.').
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
# S3's rule for bucket names (the general-purpose bucket naming rules).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class UsageError(Exception):
    """A bad setting found after parsing (e.g. in an environment variable): exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prog: error: message (see prog --help)``."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _fail(message: str) -> NoReturn:
    raise argparse.ArgumentTypeError(message)


def non_empty(text: str) -> str:
    if not text.strip():
        _fail("must not be empty")
    return text


def _at_least_zero(text: str, parse: Callable[[str], N], what: str) -> N:
    try:
        value = parse(text)
    except ValueError:
        _fail(f"{text!r} is not {what}")
    if not value >= 0:
        _fail(f"{text} is negative")
    return value


def non_negative_int(text: str) -> int:
    return _at_least_zero(text, int, "a whole number")


def seconds(text: str) -> float:
    return _at_least_zero(text, float, "a number of seconds")


def amqp_url(text: str) -> str:
    """amqp://user:password@host:port/vhost or amqps://..., as pika will read it."""
    parts = urlsplit(text)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        _fail(f"{redact_url(text)!r} is not an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/%2F")
    try:
        pika.URLParameters(text)
        _ = parts.port
    except ValueError as exc:
        _fail(f"{redact_url(text)!r} is not a usable AMQP URL ({exc})")
    return text


def http_url(text: str) -> str:
    """http://host[:port][/path] or https://..."""
    parts = urlsplit(text)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        _fail(f"{text!r} is not an http:// or https:// URL such as http://127.0.0.1:8333")
    return text.rstrip("/")


def bucket_name(text: str) -> str:
    if not BUCKET_NAME.fullmatch(text) or ".." in text or _is_ip_address(text):
        _fail(f"{text!r} is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, '.', '-')")
    return text


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def key_value(text: str) -> tuple[str, str]:
    """NAME=VALUE (the value may be empty and may hold '=')."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        _fail(f"{text!r} is not NAME=VALUE")
    return name, value


def env_var(text: str) -> tuple[str, str]:
    name, value = key_value(text)
    if not ENV_NAME.fullmatch(name):
        _fail(f"{name!r} is not a valid environment variable name")
    return name, value


def string_list(text: str) -> list[str]:
    """A JSON array of strings ('["python3", "x.py"]'), or words split as a shell does
    ('python3 x.py')."""
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except ValueError as exc:
            _fail(f"not a JSON array of strings: {exc}")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail("not a JSON array of strings")
        words: list[str] = value
    else:
        try:
            words = shlex.split(text)
        except ValueError as exc:
            _fail(f"cannot split {text!r} into words: {exc}")
    if not words:
        _fail("must name at least one word")
    return words


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        _fail(f"{text} is not an existing folder")
    return path


def readable_file(text: str) -> Path:
    """A file to read, or '-' for standard input."""
    path = Path(text)
    if text != "-" and not path.is_file():
        _fail(f"{text} is not an existing file")
    return path


# MARK: - settings: the options over the environment over the defaults

# (setting, option's dest, check): settings whose value from the environment is checked too.
CHECKED_SETTINGS: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    ("amqp_url", "amqp_url", amqp_url),
    ("s3_endpoint", "s3_endpoint", http_url),
    ("status_url", "status_url", http_url),
)


def client_config(args: argparse.Namespace) -> ClientConfig:
    """The settings: each option given, else its environment variable, else the default. A bad
    value from the environment is a UsageError naming the variable."""

    def option(name: str) -> str | None:
        value: str | None = getattr(args, name, None)  # not every command has every option
        return value

    config = ClientConfig.from_env().with_overrides(
        amqp_url=option("amqp_url"),
        request_exchange=option("exchange"),
        request_queue=option("request_queue"),
        request_routing_key=option("routing_key"),
        s3_endpoint=option("s3_endpoint"),
        s3_access_key_id=option("s3_access_key_id"),
        s3_secret_access_key=option("s3_secret_access_key"),
        s3_region=option("s3_region"),
        status_url=option("status_url"),
    )
    for setting, dest, check in CHECKED_SETTINGS:
        variable = ClientConfig.source(setting)
        if option(dest) is None and variable is not None:
            try:
                check(getattr(config, setting))
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"environment variable {variable}: {exc}") from None
    return config

"""Every bad argument of cloud-worker-client: one line on stderr naming the option (or the
environment variable), exit status 2, never a traceback. No service is needed: each is turned
down before anything connects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_worker_client.arguments import client_config
from cloud_worker_client.cli import build_parser

TEST_CLIENT_DIR = Path(__file__).resolve().parents[2]
SUBMIT = ["submit", "--image", "busybox", "--job-name", "j", "--input-bucket", "in-bucket"]


def client(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_WORKER_", "AMQP_", "S3_"))}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(TEST_CLIENT_DIR)
    return subprocess.run([sys.executable, "-m", "cloud_worker_client", *args], capture_output=True, text=True,
                          env=full_env, timeout=60)


BAD_ARGUMENTS = [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
    (["submit", "--image", "x"], "the following arguments are required: --job-name, --input-bucket"),
    ([*SUBMIT, "--amqp-url", "notaurl"], "argument --amqp-url: 'notaurl' is not an AMQP URL"),
    ([*SUBMIT, "--amqp-url", "amqp://guest:secret@host:port/"], "argument --amqp-url: 'amqp://guest:***@host:port/'"),
    ([*SUBMIT, "--s3-endpoint", "localhost:8333"], "argument --s3-endpoint: 'localhost:8333' is not an http://"),
    ([*SUBMIT, "--status-url", "ftp://x"], "argument --status-url: 'ftp://x' is not an http://"),
    ([*SUBMIT, "--command", '["python3", 1]'], "argument --command: not a JSON array of strings"),
    ([*SUBMIT, "--command", '["python3",'], "argument --command: not a JSON array of strings"),
    ([*SUBMIT, "--command", "python3 'x.py"], "argument --command: cannot split"),
    ([*SUBMIT, "--command", ""], "argument --command: must name at least one word"),
    ([*SUBMIT, "--args", "a 'b"], "argument --args: cannot split"),
    ([*SUBMIT, "--env", "NOVALUE"], "argument --env: 'NOVALUE' is not NAME=VALUE"),
    ([*SUBMIT, "--env", "1 BAD=x"], "argument --env: '1 BAD' is not a valid environment variable name"),
    ([*SUBMIT, "--timeout-minutes", "ten"], "argument --timeout-minutes: 'ten' is not a whole number"),
    ([*SUBMIT, "--timeout-minutes", "-5"], "argument --timeout-minutes: -5 is negative"),
    ([*SUBMIT, "--backoff-limit", "1.5"], "argument --backoff-limit: '1.5' is not a whole number"),
    ([*SUBMIT, "--wait-seconds", "soon"], "argument --wait-seconds: 'soon' is not a number of seconds"),
    ([*SUBMIT, "--input-dir", "/no/such/folder"], "argument --input-dir: /no/such/folder is not an existing folder"),
    (["submit", "--image", "x", "--job-name", "j", "--input-bucket", "In_Bucket"],
     "argument --input-bucket: 'In_Bucket' is not a valid S3 bucket name"),
    ([*SUBMIT, "--output-bucket", "192.168.1.1"], "argument --output-bucket: '192.168.1.1' is not a valid S3 bucket"),
    (["submit", "--image", " ", "--job-name", "j", "--input-bucket", "in-bucket"], "argument --image: must not be empty"),
    ([*SUBMIT, "--unknown-flag"], "unrecognized arguments: --unknown-flag"),
    (["publish", "--body-file", "/no/such/file"], "argument --body-file: /no/such/file is not an existing file"),
    (["publish", "--body", "x", "--header", "novalue"], "argument --header: 'novalue' is not NAME=VALUE"),
    (["publish", "--body", "x", "--body-file", "-"], "argument --body-file: not allowed with argument --body"),
    (["cancel", ""], "argument target: must not be empty"),
    (["upload", "--bucket", "ok-bucket", "--dir", "/no/such/folder"], "argument --dir: /no/such/folder is not"),
    (["get", "x", "key"], "argument bucket: 'x' is not a valid S3 bucket name"),
    (["status"], "the following arguments are required: REQUEST"),
    (["logs", "abc"], "the following arguments are required: --bucket"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS, ids=[" ".join(a[-2:]) or "none" for a, _ in BAD_ARGUMENTS])
def test_bad_argument_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    completed = client(*args)
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert message in lines[0], lines[0]
    assert lines[0].startswith("cloud-worker-client")
    assert completed.stdout == ""


BAD_ENVIRONMENT = [
    ({"AMQP_URL": "notaurl"}, "environment variable AMQP_URL: 'notaurl' is not an AMQP URL"),
    ({"CLOUD_WORKER_AMQP_URL": "amqp://u:p@h:99999/"}, "environment variable CLOUD_WORKER_AMQP_URL:"),
    ({"S3_ENDPOINT": "127.0.0.1:8333"}, "environment variable S3_ENDPOINT: '127.0.0.1:8333' is not an http://"),
    ({"CLOUD_WORKER_STATUS_URL": "localhost"}, "environment variable CLOUD_WORKER_STATUS_URL:"),
]


@pytest.mark.parametrize(("env", "message"), BAD_ENVIRONMENT, ids=[next(iter(e)) for e, _ in BAD_ENVIRONMENT])
def test_bad_environment_variable_is_one_line_and_exit_2(env: dict[str, str], message: str) -> None:
    completed = client(*SUBMIT, env=env)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.splitlines() == [completed.stderr.strip()] and message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_an_option_wins_over_a_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the value used is checked: --amqp-url replaces a bad AMQP_URL."""
    monkeypatch.setenv("AMQP_URL", "notaurl")
    args = build_parser().parse_args([*SUBMIT, "--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2F"])
    assert client_config(args).amqp_url == "amqp://guest:guest@127.0.0.1:1/%2F"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("python3 x.py", ["python3", "x.py"]),
        ("sh -c 'echo hello world'", ["sh", "-c", "echo hello world"]),
        ('["python3", "x.py"]', ["python3", "x.py"]),
        ('  ["a b"]', ["a b"]),
    ],
)
def test_command_is_shell_words_or_a_json_array(text: str, words: list[str]) -> None:
    args = build_parser().parse_args([*SUBMIT, "--command", text, "--args", text])
    assert args.command == words and args.args == words


def test_env_and_header_pairs() -> None:
    args = build_parser().parse_args([*SUBMIT, "--env", "A=1", "--env", "B=x=y", "--env", "EMPTY="])
    assert dict(args.env) == {"A": "1", "B": "x=y", "EMPTY": ""}


def test_help_names_the_new_commands() -> None:
    completed = client("--help")
    assert completed.returncode == 0
    for command in ("submit", "status", "logs", "publish", "cancel", "upload", "download", "get"):
        assert command in completed.stdout
    for command in ("status", "logs"):
        assert client(command, "--help").returncode == 0

"""`python3 -m k8s_simulator`: parse flags, start the simulator, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .app import Config, Simulator
from .requestlog import DEFAULT_SIZE as REQUEST_LOG_SIZE
from .server import serve


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="python3 -m k8s_simulator",
                                description="Kubernetes API simulator (Jobs, Pods, ConfigMaps, Secrets).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8001, help="port to listen on, 0 for any (default 8001)")
    p.add_argument("--images", type=Path, help="image map JSON (image -> entrypoint/cmd)")
    p.add_argument("--state-dir", type=Path, default=Path(".k8s-simulator"),
                   help="where pod sandboxes and logs live (default ./.k8s-simulator)")
    p.add_argument("--log-rotate-bytes", type=int, default=10 * 1024 * 1024,
                   help="rotate a container log past this size (default 10 MiB)")
    p.add_argument("--log-max-files", type=int, default=5, help="log files kept per container (default 5)")
    p.add_argument("--cut-follow-on-rotate", dest="cut_follow", action="store_true", default=True,
                   help="end follow=true log streams at a rotation (default)")
    p.add_argument("--no-cut-follow-on-rotate", dest="cut_follow", action="store_false",
                   help="keep following into the new log file after a rotation")
    p.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", type=Path, help="private key of --tls-cert (PEM)")
    p.add_argument("--client-ca", type=Path, help="accept client certificates signed by this CA")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on API paths")
    p.add_argument("--backoff-base-seconds", type=float, default=10.0,
                   help="Job pod retry back-off base: base, 2*base, 4*base ... (default 10)")
    p.add_argument("--watch-history", type=int, default=1000,
                   help="change events kept for watches; older resourceVersions get 410 (default 1000)")
    p.add_argument("--bookmark-interval", type=float, default=5.0,
                   help="seconds of idleness before a watch BOOKMARK (default 5)")
    p.add_argument("--watch-timeout-min", type=float, default=300.0,
                   help="shortest server-side watch timeout when the client sets none (default 300 s)")
    p.add_argument("--watch-timeout-max", type=float, default=600.0,
                   help="longest server-side watch timeout when the client sets none (default 600 s)")
    p.add_argument("--expired-watch-as-event", action="store_true",
                   help="answer a watch from a too-old resourceVersion with 200 and an ERROR event "
                        "(as the watch cache does) instead of HTTP 410")
    p.add_argument("--request-log", type=int, default=REQUEST_LOG_SIZE,
                   help=f"API requests kept for GET /_sim/requests (default {REQUEST_LOG_SIZE})")
    p.add_argument("--verbose", action="store_true", help="one access-log line per request on stderr")
    p.add_argument("--parent-pid", type=int,
                   help="exit once this process is no longer the parent: a test harness that dies "
                        "without stopping its simulator does not leave it running")
    a = p.parse_args(argv)
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if a.client_ca and not a.tls_cert:
        p.error("--client-ca needs --tls-cert")
    return Config(
        host=a.host, port=a.port, images=a.images, state_dir=a.state_dir,
        log_rotate_bytes=a.log_rotate_bytes, log_max_files=a.log_max_files, cut_follow_on_rotate=a.cut_follow,
        tls_cert=a.tls_cert, tls_key=a.tls_key, client_ca=a.client_ca, token=a.token,
        backoff_base_seconds=a.backoff_base_seconds, history_size=a.watch_history,
        bookmark_interval_seconds=a.bookmark_interval, watch_timeout_min_seconds=a.watch_timeout_min,
        watch_timeout_max_seconds=max(a.watch_timeout_min, a.watch_timeout_max),
        expired_watch_as_event=a.expired_watch_as_event,
        request_log_size=a.request_log, verbose=a.verbose, parent_pid=a.parent_pid,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO if config.verbose else logging.WARNING,
                        format="k8s-simulator: %(levelname)s %(name)s: %(message)s")
    sim = Simulator(config)
    sim.start()
    try:
        server = serve(sim)
    except OSError as exc:
        print(f"k8s-simulator: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        sim.shutdown()
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    # A parent that starts us from a thread with signals blocked (Swift's Foundation.Process
    # on a dispatch worker does) passes that mask on; unblock so SIGTERM stops us.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"k8s-simulator listening on {config.scheme}://{config.host}:{config.port}", flush=True)
    while not stop.wait(1.0):
        if config.parent_pid is not None and os.getppid() != config.parent_pid:
            break
    sim.shutdown()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

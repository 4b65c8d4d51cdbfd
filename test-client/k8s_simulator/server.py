"""HTTP/1.1 front end: routing of the Kubernetes REST paths, authentication, injected faults,
request counting and the request log, chunked watch and log streams, and the `/_sim/` admin API."""

from __future__ import annotations

import json
import queue
import random
import select
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

from . import admin, discovery, errors
from .api import Api, Negotiated, Reply, check_content_type, negotiate, table_content_type
from .app import Simulator
from .logs import LogOptions
from .resources import JOBS, PODS, Resource, lookup
from .selectors import parse_field_selector, parse_label_selector
from .store import CUT, EXPIRED, Watcher
from .tables import table
from .util import dumps, now_ns, parse_rfc3339_ns


@dataclass
class Route:
    """A parsed API path."""

    template: str
    res: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    sub: str | None = None
    watch_path: bool = False
    special: str | None = None  # discovery document or openapi path


def route(path: str) -> Route | None:
    parts = [unquote(p) for p in path.strip("/").split("/") if p != ""]
    if not parts:
        return Route("/", special="root")
    top = "/" + "/".join(parts)
    if top in ("/version", "/api", "/apis", "/healthz", "/livez", "/readyz", "/openapi/v3", "/openapi/v2"):
        return Route(top, special=top)
    if parts[:2] == ["openapi", "v3"]:
        return Route("/openapi/v3/{path}", special="openapi:" + "/".join(parts[2:]))
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest, prefix = "", parts[1], parts[2:], f"/api/{parts[1]}"
    elif parts[0] == "apis" and len(parts) == 2:
        return Route(f"/apis/{parts[1]}", special="group:" + parts[1])
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest, prefix = parts[1], parts[2], parts[3:], f"/apis/{parts[1]}/{parts[2]}"
    else:
        return None
    if not rest:
        return Route(prefix, special="resources:" + group if version == "v1" else None)
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
        prefix += "/watch"
        if not rest:
            return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        res = lookup(group, version, rest[2])
        if res is None or not res.namespaced or len(rest) > 5:
            return None
        name = rest[3] if len(rest) > 3 else None
        sub = rest[4] if len(rest) > 4 else None
        tmpl = f"{prefix}/namespaces/{{ns}}/{res.plural}" + ("/{name}" if name else "") + (f"/{sub}" if sub else "")
        return Route(tmpl, res, rest[1], name, sub, watch)
    res = lookup(group, version, rest[0])
    if res is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if name is not None and res.namespaced:
        return None
    tmpl = f"{prefix}/{res.plural}" + ("/{name}" if name else "") + (f"/{sub}" if sub else "")
    return Route(tmpl, res, None, name, sub, watch)


def is_watch(r: Route, query: dict[str, str]) -> bool:
    """A watch: the legacy `/watch/` path, or `watch=true` on a list or get."""
    return r.watch_path or query.get("watch") in ("1", "true", "True")


def verb_of(method: str, r: Route | None, query: dict[str, str]) -> str | None:
    """The Kubernetes (RBAC) verb of a request, as `_serve` will treat it: a pod's log is a
    `get` of `pods/log`, a GET with `watch=true` is a `watch`. None for paths that name no
    resource (discovery, openapi) or that the server refuses."""
    if r is None or r.res is None:
        return None
    if method in ("GET", "HEAD"):
        if is_watch(r, query):
            return "watch"
        return "list" if r.name is None else "get"
    if method == "POST":
        return "create" if r.name is None else None
    if method == "DELETE":
        return "deletecollection" if r.name is None else "delete"
    return {"PUT": "update", "PATCH": "patch"}.get(method) if r.name is not None else None


class StreamCut(Exception):
    """Close the connection without a terminating chunk."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-simulator"
    sys_version = ""
    server: "SimServer"

    # --- plumbing ----------------------------------------------------------------------------------

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.sim.config.verbose:
            sys.stderr.write("k8s-simulator: %s - %s\n" % (self.address_string(), format % args))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.sim.config.verbose:
            elapsed = (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000
            sys.stderr.write(f"k8s-simulator: {self.command} {self.path} {code} {elapsed:.1f}ms\n")

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else None

    def send_response(self, code: int, message: str | None = None) -> None:
        entry = getattr(self, "_entry", None)
        if entry is not None:
            self.server.sim.requests.set_code(entry, code)
        super().send_response(code, message)

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, code: int, body: Any, headers: dict[str, str] | None = None,
                   content_type: str = "application/json") -> None:
        self._send(code, dumps(body), content_type, headers)

    def _send_error(self, exc: errors.ApiError) -> None:
        self._send_json(exc.code, exc.status(), exc.headers)

    def _start_stream(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _client_gone(self) -> bool:
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                return sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # --- dispatch ----------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._started = time.monotonic()
        self._entry = None
        sim = self.server.sim
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if url.path.startswith("/_sim/") or url.path == "/_sim":
            self._admin(url.path, raw, query)
            return
        try:
            if not self._authenticated():
                raise errors.unauthorized()
            r = route(url.path)
            key = f"{self.command} {r.template if r else url.path}"
            sim.stats.count(key)
            self._entry = sim.requests.record(
                self.command, url.path, query, verb_of(self.command, r, query),
                r.res.plural if r and r.res else None, r.namespace if r else None, r.name if r else None,
                r.sub if r else None, self.headers.get("User-Agent"), raw)
            decision = sim.faults.decide(self.command, url.path)
            if decision.latency_s > 0:
                time.sleep(decision.latency_s)
            if decision.error is not None:
                raise decision.error
            if r is None:
                raise errors.page_not_found()
            self._serve(r, query, raw)
        except errors.ApiError as exc:
            self._send_error(exc)
        except StreamCut:
            self._abort()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # an unexpected bug must still answer like a server
            import traceback

            traceback.print_exc()
            try:
                self._send_error(errors.internal_error(str(exc)))
            except OSError:
                self.close_connection = True

    def _authenticated(self) -> bool:
        config = self.server.sim.config
        if not config.token and not config.client_ca:
            return True
        auth = self.headers.get("Authorization", "")
        if config.token and auth == f"Bearer {config.token}":
            return True
        if config.client_ca and isinstance(self.connection, ssl.SSLSocket):
            try:
                if self.connection.getpeercert():
                    return True
            except ValueError:
                pass
        return False

    def _serve(self, r: Route, query: dict[str, str], raw: bytes | None) -> None:
        api = self.server.api
        method = self.command
        if r.special is not None:
            if method not in ("GET", "HEAD"):
                raise errors.method_not_allowed()
            self._special(r.special)
            return
        res = r.res
        assert res is not None
        if method in ("POST", "PUT"):
            check_content_type(self.headers.get("Content-Type"))
        accept = negotiate(self.headers.get("Accept"))
        watching = is_watch(r, query)
        if res.namespaced and r.namespace is not None and r.name is None and method == "POST":
            self._reply(api.create(res, r.namespace, raw, query))
            return
        if r.name is None:
            if method == "GET" or method == "HEAD":
                if watching:
                    self._watch(res, r, query, accept)
                else:
                    self._reply(api.list(res, r.namespace, query, accept))
                return
            if method == "POST" and not res.namespaced:
                self._reply(api.create(res, None, raw, query))
                return
            if method == "DELETE":
                self._reply(api.delete_collection(res, r.namespace, raw, query))
                return
            raise errors.method_not_allowed()
        ns = r.namespace or ""
        if r.sub == "log":
            if res is not PODS or method != "GET":
                raise errors.method_not_allowed()
            self._logs(ns, r.name, query)
            return
        if r.sub not in (None, "status"):
            raise errors.page_not_found()
        if method in ("GET", "HEAD"):
            if watching:
                query = dict(query)
                query["fieldSelector"] = f"metadata.name={r.name}"
                self._watch(res, r, query, accept)
                return
            self._reply(api.get(res, ns, r.name, query, accept))
        elif method == "PUT":
            self._reply(api.update(res, ns, r.name, r.sub, raw, query))
        elif method == "PATCH":
            self._reply(api.patch(res, ns, r.name, r.sub, raw, self.headers.get("Content-Type", ""), query))
        elif method == "DELETE" and r.sub is None:
            self._reply(api.delete(res, ns, r.name, raw, query))
        else:
            raise errors.method_not_allowed()

    def _reply(self, reply: Reply) -> None:
        if self._entry is not None and self._entry.get("verb") == "create" and reply.code == 201:
            self.server.sim.requests.set_created(self._entry, reply.body)
        self._send_json(reply.code, reply.body, reply.headers, reply.content_type)

    def _special(self, what: str) -> None:
        config = self.server.sim.config
        if what == "/version":
            self._send_json(200, discovery.VERSION)
        elif what == "/api":
            self._send_json(200, discovery.api_versions(f"{config.host}:{self.server.server_address[1]}"))
        elif what == "/apis":
            self._send_json(200, discovery.api_groups())
        elif what in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
        elif what == "root":
            paths = ["/api", "/api/v1", "/apis", "/apis/batch", "/apis/batch/v1", "/healthz", "/livez",
                     "/openapi/v3", "/readyz", "/version"]
            self._send_json(200, {"paths": paths})
        elif what == "/openapi/v3":
            self._send_json(200, discovery.openapi_index())
        elif what.startswith("openapi:"):
            path = what.split(":", 1)[1]
            if path not in discovery.OPENAPI_PATHS:
                raise errors.page_not_found()
            body = discovery.OPENAPI_PATHS[path].read_bytes()
            self._send(200, body, "application/json",
                       {"Etag": '"' + discovery.openapi_hash(path) + '"'})
        elif what.startswith("resources:"):
            doc = discovery.resource_list(what.split(":", 1)[1])
            if doc is None:
                raise errors.page_not_found()
            self._send_json(200, doc)
        elif what.startswith("group:"):
            doc = discovery.api_group(what.split(":", 1)[1])
            if doc is None:
                raise errors.page_not_found()
            self._send_json(200, doc)
        else:
            raise errors.page_not_found()

    # --- watch -------------------------------------------------------------------------------------

    def _watch(self, res: Resource, r: Route, query: dict[str, str], accept: Negotiated) -> None:
        sim = self.server.sim
        config = sim.config
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), None if res.plural == "events" else res.field_labels)
        initial = query.get("sendInitialEvents") == "true"
        rv = None if initial else query.get("resourceVersion")
        allow_bookmarks = query.get("allowWatchBookmarks") in ("1", "true", "True")
        timeout_text = query.get("timeoutSeconds")
        if timeout_text:
            timeout = float(timeout_text)
        else:
            timeout = random.uniform(config.watch_timeout_min_seconds, config.watch_timeout_max_seconds)
        try:
            watcher = sim.store.watch(res, r.namespace, labels, fields, rv)
        except errors.ApiError as exc:
            if exc.code == 410 and config.expired_watch_as_event:
                self._start_stream("application/json")
                self._chunk(dumps({"type": "ERROR", "object": exc.status()}))
                self._end_stream()
                return
            raise
        sim.stats.watch_started(r.template)
        content_type = table_content_type(accept.table) if accept.table else "application/json"
        try:
            self._start_stream(content_type)
            self._pump_watch(res, watcher, accept, query, allow_bookmarks, initial, timeout)
        finally:
            sim.store.unwatch(watcher)
            sim.stats.watch_ended()

    def _event(self, res: Resource, kind: str, obj: Any, accept: Negotiated, query: dict[str, str]) -> bytes:
        if accept.table and kind in ("ADDED", "MODIFIED", "DELETED"):
            obj = table(res, [obj], obj["metadata"].get("resourceVersion"),
                        query.get("includeObject") or "Metadata", accept.table)
        elif kind in ("ADDED", "MODIFIED", "DELETED") and accept.partial:
            obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        elif kind in ("ADDED", "MODIFIED", "DELETED") and "kind" not in obj:
            obj = {"kind": res.kind, "apiVersion": res.api_version, **obj}
        return dumps({"type": kind, "object": obj})

    @staticmethod
    def _bookmark(res: Resource, rv: int, initial_end: bool = False) -> dict[str, Any]:
        """A BOOKMARK object, shaped as the API server serialises an empty typed object."""
        meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj: dict[str, Any] = {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}
        if res is PODS:
            obj.update(spec={"containers": None}, status={})
        elif res is JOBS:
            obj.update(spec={"template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}}},
                       status={})
        return obj

    def _pump_watch(self, res: Resource, w: Watcher, accept: Negotiated, query: dict[str, str],
                    allow_bookmarks: bool, initial: bool, timeout: float) -> None:
        sim = self.server.sim
        interval = sim.config.bookmark_interval_seconds
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + interval
        if initial:
            # sendInitialEvents: the synthetic ADDED events, then a bookmark marking their end.
            while True:
                try:
                    item = w.queue.get_nowait()
                except queue.Empty:
                    break
                if item is CUT or item is EXPIRED:
                    w.queue.put(item)
                    break
                kind, obj, _rv = item  # type: ignore[misc]
                self._chunk(self._event(res, kind, obj, accept, query))
            self._chunk(dumps({"type": "BOOKMARK", "object": self._bookmark(res, w.last_rv, True)}))
        while True:
            now = time.monotonic()
            if now >= deadline:
                if allow_bookmarks:
                    rv = sim.store.idle_bookmark_rv(w)
                    if rv is not None:
                        self._chunk(dumps({"type": "BOOKMARK", "object": self._bookmark(res, rv)}))
                self._end_stream()
                return
            wait = min(deadline - now, 1.0)
            if allow_bookmarks:
                wait = min(wait, max(0.01, next_bookmark - now))
            try:
                item = w.queue.get(timeout=max(0.01, wait))
            except queue.Empty:
                if self._client_gone():
                    raise StreamCut()
                if allow_bookmarks and time.monotonic() >= next_bookmark:
                    rv = sim.store.idle_bookmark_rv(w)
                    if rv is not None:
                        self._chunk(dumps({"type": "BOOKMARK", "object": self._bookmark(res, rv)}))
                    next_bookmark = time.monotonic() + interval
                continue
            if item is CUT:
                raise StreamCut()
            if item is EXPIRED:
                status = errors.gone("The resourceVersion for the provided watch is too old.").status()
                self._chunk(dumps({"type": "ERROR", "object": status}))
                self._end_stream()
                return
            kind, obj, _rv = item  # type: ignore[misc]
            self._chunk(self._event(res, kind, obj, accept, query))
            next_bookmark = time.monotonic() + interval

    # --- logs --------------------------------------------------------------------------------------

    def _logs(self, ns: str, name: str, query: dict[str, str]) -> None:
        sim = self.server.sim
        pod = sim.store.get(PODS, ns, name)
        containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container") or ""
        if not container:
            if len(containers) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]")
            container = containers[0]
        if container not in containers:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        if query.get("previous") in ("true", "1"):
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        state = next((s.get("state") or {} for s in statuses if s.get("name") == container), {})
        clog = sim.logs.get(pod["metadata"]["uid"], container)
        if "waiting" in state or clog is None or not state:
            reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        opts = LogOptions(follow=query.get("follow") in ("true", "1"),
                          timestamps=query.get("timestamps") in ("true", "1"))
        try:
            if query.get("sinceTime"):
                opts.since_ns = parse_rfc3339_ns(query["sinceTime"])
            elif query.get("sinceSeconds"):
                seconds = int(query["sinceSeconds"])
                if seconds < 1:
                    raise errors.invalid_object("PodLogOptions", "", "", [errors.invalid("sinceSeconds", seconds, "must be greater than 0")])
                opts.since_ns = now_ns() - seconds * 1_000_000_000
            if query.get("tailLines"):
                opts.tail_lines = int(query["tailLines"])
            if query.get("limitBytes"):
                opts.limit_bytes = int(query["limitBytes"])
        except ValueError as exc:
            raise errors.bad_request(f"invalid log options: {exc}") from None
        chunks: Iterator[bytes] = clog.read(opts)
        if not opts.follow:
            self._send(200, b"".join(chunks), "text/plain")
            return
        sim.stats.log_started()
        try:
            self._start_stream("text/plain")
            for data in chunks:
                self._chunk(data)
            self._end_stream()
        finally:
            sim.stats.log_ended()

    # --- admin -------------------------------------------------------------------------------------

    def _admin(self, path: str, raw: bytes | None, query: dict[str, str]) -> None:
        code, body = admin.handle(self.server.sim, self.command, path, raw, query)
        if isinstance(body, str):
            self._send(code, body.encode(), "text/plain; charset=utf-8")
        else:
            self._send_json(code, body)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, sim: Simulator, ssl_context: ssl.SSLContext | None = None) -> None:
        self.sim = sim
        self.api = Api(sim)
        self.ssl_context = ssl_context
        super().__init__((sim.config.host, sim.config.port), Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


def make_ssl_context(sim: Simulator) -> ssl.SSLContext | None:
    config = sim.config
    if not config.tls_cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(config.tls_cert), str(config.tls_key) if config.tls_key else None)
    if config.client_ca:
        ctx.load_verify_locations(str(config.client_ca))
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def serve(sim: Simulator) -> SimServer:
    """Bind and start serving on a background thread."""
    server = SimServer(sim, make_ssl_context(sim))
    sim.config.port = server.server_address[1]
    sim.kubelet.api_port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


__all__ = ["Handler", "Route", "SimServer", "route", "serve", "verb_of"]

"""What every provider sandbox shares: a threaded HTTP server on loopback, switchable faults, admin endpoints.

A sandbox is an :class:`App` (``handle(request) -> Response``) run by :class:`SandboxServer`, in-process
(``with SandboxServer(app) as server: server.url``) or as a process (``serve_forever``).

Faults (:class:`Fault`), chosen per request by operation name, count or probability:

* ``delay`` — wait ``seconds``, then answer normally (the request is processed after the wait);
* ``drop`` — close the connection without an answer; nothing is processed;
* ``error500`` — answer HTTP 500; nothing is processed;
* ``rate_limit`` — answer HTTP 429 with ``Retry-After: <retry_after>``; nothing is processed;
* ``commit_drop`` — process and commit, then close the connection without an answer
  ("timeout after commit": the client never learns the outcome);
* ``commit_delay`` — process and commit, then answer only after ``seconds`` (after the client's timeout).

``commit_items`` (batch operations) commits only the first N items, then drops the connection (a crash
in the middle of a batch). A rule with ``kinds=[…]`` picks one of them at random each time it fires.

Admin endpoints (never faulted): ``GET|POST|DELETE /_sandbox/faults``, ``GET /_sandbox/stats``,
``GET /_sandbox/state``, ``POST /_sandbox/reset``. They want the server's token in an ``X-Sandbox-Token``
header (``SandboxServer.admin_token``: generated at start unless given; ``admin=False`` turns them off);
in-process tests use the app's Python API (``app.faults``, ``app.reset()``…) instead.

A safe loopback server: bodies over ``max_body`` (2 MB) get 413, a body that does not arrive within
``body_timeout`` seconds (a Content-Length larger than the body) 408 and the connection is closed;
malformed or too deeply nested JSON gets a 400 JSON answer (:func:`parse_json`), never a traceback.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import random
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_log = logging.getLogger("vn_einvoice.sandbox")

FAULT_KINDS = ("delay", "drop", "error500", "rate_limit", "commit_drop", "commit_delay")
ADMIN_HEADER = "X-Sandbox-Token"
MAX_BODY = 2 * 1024 * 1024  # bytes
BODY_TIMEOUT = 10.0  # seconds for a whole request body to arrive
MAX_JSON_DEPTH = 64


def parse_json(body: bytes | str):
    """JSON of a request body; ValueError (with a short reason) when it is not UTF-8, malformed or nested
    deeper than MAX_JSON_DEPTH."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as e:
        raise ValueError(f"malformed JSON: {e}") from None
    level, depth = [data], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        level = [v for x in level if isinstance(x, (dict, list)) for v in (x.values() if isinstance(x, dict) else x)
                 if isinstance(v, (dict, list))]
    return data


# --- requests and responses -----------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    raw_query: str = ""  # the query string as sent (``?WSDL`` has no value, so no key in ``query``)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def form(self) -> dict[str, str]:
        """Query parameters, overridden by a form body."""
        params = dict(self.query)
        if self.content_type == "application/x-www-form-urlencoded" and self.body:
            params.update({k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace"),
                                                         keep_blank_values=True).items()})
        return params

    def cookies(self) -> dict[str, str]:
        out = {}
        for part in self.headers.get("cookie", "").split(";"):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj, status: int = 200, headers: dict | None = None) -> Response:
        return cls(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"),
                   {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


class Drop(Exception):
    """Raised by an app to close the connection without answering (after committing what it did)."""


# --- faults ---------------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str = "delay"  # one of FAULT_KINDS (or "mix" with kinds=[…])
    op: str = "*"  # operation name, or "*" for every operation
    times: int | None = None  # fire at most this many times
    every: int | None = None  # fire on every n-th matching request
    after: int = 0  # let the first n matching requests through
    probability: float | None = None  # fire at random with this probability
    seconds: float = 1.0  # delay / commit_delay
    retry_after: float = 1.0  # rate_limit
    commit_items: int | None = None  # batch: commit only the first n items, then drop
    kinds: tuple[str, ...] = ()  # pick one of these kinds at random
    seen: int = 0  # matching requests so far
    fired: int = 0

    def __post_init__(self):
        if isinstance(self.kinds, str) or not isinstance(self.kinds, (list, tuple)):
            raise ValueError("kinds is a list of fault kinds")
        self.kinds = tuple(self.kinds)
        for name in ("times", "every", "commit_items"):
            if getattr(self, name) is not None:
                setattr(self, name, int(getattr(self, name)))
        self.after = int(self.after)
        self.seconds, self.retry_after = float(self.seconds), float(self.retry_after)
        if self.probability is not None:
            self.probability = float(self.probability)
        for kind in self.kinds or (self.kind,):
            if kind not in FAULT_KINDS and kind != "mix":
                raise ValueError(f"unknown fault kind {kind!r}: one of {', '.join(FAULT_KINDS)}")

    @classmethod
    def from_dict(cls, data: dict) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        known = {f.name for f in fields(cls)} - {"seen", "fired"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["kinds"] = list(self.kinds)
        return out


@dataclass(frozen=True)
class Decision:
    kind: str
    seconds: float = 0.0
    retry_after: float = 0.0
    commit_items: int | None = None


class Faults:
    """Fault rules, checked in order for each request; the first that fires decides. Thread-safe."""

    def __init__(self, rules=(), seed: int | None = None):
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._random = random.Random(seed)
        for rule in rules:
            self.add(rule)

    def add(self, rule: Fault | dict | None = None, **kwargs) -> Fault:
        rule = rule if isinstance(rule, Fault) else Fault.from_dict({**(rule or {}), **kwargs})
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._random = random.Random(seed)

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, op: str) -> Decision | None:
        with self._lock:
            for rule in self._rules:
                if rule.op not in ("*", op):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.times is not None and rule.fired >= rule.times):
                    continue
                if rule.every and (rule.seen - rule.after) % rule.every:
                    continue
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                kind = self._random.choice(rule.kinds) if rule.kinds else rule.kind
                return Decision(kind, rule.seconds, rule.retry_after, rule.commit_items)
        return None


# --- the app interface and the server -------------------------------------------------------------


class App:
    """A provider simulator. Subclasses implement :meth:`handle` and :meth:`operation`."""

    def __init__(self, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.stats: Counter = Counter()
        self.stats_lock = threading.Lock()

    def operation(self, request: Request) -> str:
        """Name of the operation a request calls (for faults and stats)."""
        return request.path

    def handle(self, request: Request, decision: Decision | None) -> Response:
        raise NotImplementedError

    def snapshot(self) -> dict:
        return {}

    def reset(self) -> None:
        with self.stats_lock:
            self.stats.clear()

    def count(self, op: str) -> None:
        with self.stats_lock:
            self.stats[op] += 1

    def admin(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/_sandbox/faults":
            if request.method == "GET":
                return Response.json([r.to_dict() for r in self.faults.rules])
            if request.method == "DELETE":
                self.faults.clear()
                return Response.json({"ok": True})
            data = parse_json(request.body or b"{}")
            if isinstance(data, dict) and "faults" in data:
                if data.get("replace", True):
                    self.faults.clear()
                if "seed" in data:
                    self.faults.seed(data["seed"])
                data = data["faults"]
            rules = [Fault.from_dict(rule) for rule in (data if isinstance(data, list) else [data])]
            for rule in rules:  # all checked first: a bad one adds none
                self.faults.add(rule)
            return Response.json([r.to_dict() for r in self.faults.rules])
        if path == "/_sandbox/stats":
            with self.stats_lock:
                return Response.json(dict(self.stats))
        if path == "/_sandbox/state":
            return Response.json(self.snapshot())
        if path == "/_sandbox/reset" and request.method == "POST":
            self.reset()
            return Response.json({"ok": True})
        return Response.json({"error": "unknown admin path"}, 404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vn-einvoice-sandbox/1.0"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def setup(self):
        self.timeout = self.server.idle_timeout  # type: ignore[attr-defined] # no connection idles forever
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code="-", size="-"):  # the path only: no query string in logs
        _log.debug("%s %s %s -> %s", self.address_string(), self.command, urlsplit(self.path).path, code)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        _log.debug("%s %s", self.address_string(), format % args)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self._headers_buffer.extend((b"\r\n", response.body))  # one write: no Nagle/delayed-ACK stall
            self.flush_headers()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _refuse(self, status: int, message: str, data: str) -> None:
        """Answer an unreadable request and close the connection (what is left of its body is not read)."""
        response = Response.json({"code": status, "message": message, "data": data}, status, {"Connection": "close"})
        self._send(response)
        self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body, within the size cap and the time limit; None after answering an error."""
        server: _Server = self.server  # type: ignore[assignment]
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(411, "LENGTH_REQUIRED", "Content-Length is required")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            self._refuse(400, "BAD_REQUEST", "invalid Content-Length")
            return None
        if length > server.max_body:
            self._refuse(413, "PAYLOAD_TOO_LARGE", f"request body over {server.max_body} bytes")
            return None
        chunks, remaining, deadline = [], length, time.monotonic() + server.body_timeout
        try:
            while remaining:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(remaining, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            self.connection.settimeout(self.timeout)
        except TimeoutError:
            self.connection.settimeout(self.timeout)
            self._refuse(408, "REQUEST_TIMEOUT", f"request body not received within {server.body_timeout:g} s")
            return None
        except OSError:  # the client went away
            self.close_connection = True
            return None
        if remaining:
            self._refuse(400, "BAD_REQUEST", "request body shorter than its Content-Length")
            return None
        return b"".join(chunks)

    def _admin(self, app: App, request: Request) -> Response:
        token = self.server.admin_token  # type: ignore[attr-defined]
        if token is None:
            return Response.json({"error": "the sandbox's control endpoints are off"}, 404)
        given = request.headers.get(ADMIN_HEADER.lower(), "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
            return Response.json({"error": f"the sandbox's {ADMIN_HEADER} header is missing or wrong"}, 401)
        try:
            return app.admin(request)
        except (ValueError, TypeError) as e:
            return Response.json({"error": str(e)}, 400)

    def _serve(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        request = Request(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, body, parts.query)
        if parts.path.startswith("/_sandbox/"):
            self._send(self._admin(app, request))
            return
        op = app.operation(request)
        app.count(op)
        decision = app.faults.pick(op)
        if decision is not None:
            app.count(f"fault:{decision.kind}")
            if decision.kind == "delay":
                time.sleep(decision.seconds)
            elif decision.kind == "drop":
                self._drop()
                return
            elif decision.kind == "error500":
                self._send(Response.json({"timestamp": int(time.time() * 1000), "status": 500,
                                          "error": "Internal Server Error", "path": parts.path}, 500))
                return
            elif decision.kind == "rate_limit":
                self._send(Response.json({"code": 429, "message": "TOO_MANY_REQUESTS",
                                          "data": "Too Many Requests"}, 429,
                                         {"Retry-After": f"{decision.retry_after:g}"}))
                return
        try:
            response = app.handle(request, decision)
        except Drop:
            self._drop()
            return
        except Exception:  # a sandbox bug must not kill the server
            _log.exception("sandbox error on %s", parts.path)
            response = Response.json({"code": 500, "message": "GENERAL", "data": "Internal Server Error"}, 500)
        if decision is not None and decision.kind == "commit_drop":
            self._drop()
            return
        if decision is not None and decision.kind == "commit_delay":
            time.sleep(decision.seconds)
        self._send(response)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    admin_token: str | None = None
    max_body = MAX_BODY
    body_timeout = BODY_TIMEOUT
    idle_timeout = 300.0  # seconds a connection may wait for its next request (line and headers)

    def handle_error(self, request, client_address):  # quiet on clients that went away
        _log.debug("connection error from %s", client_address, exc_info=True)


class SandboxServer:
    """Serve an :class:`App` on ``host:port`` (port 0: a free one). A context manager runs it in a thread.

    ``admin_token``: what the control endpoints want in ``X-Sandbox-Token`` (default: a random one, read it
    from :attr:`admin_token`); ``admin=False`` turns them off. ``max_body`` bytes and ``body_timeout``
    seconds bound what a request body may cost."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0, *, admin_token: str | None = None,
                 admin: bool = True, max_body: int = MAX_BODY, body_timeout: float = BODY_TIMEOUT):
        self.app = app
        self._server = _Server((host, port), _Handler)
        self._server.app = app  # type: ignore[attr-defined]
        self._server.admin_token = (admin_token or secrets.token_urlsafe(24)) if admin else None
        self._server.max_body, self._server.body_timeout = max_body, body_timeout
        self._thread: threading.Thread | None = None

    @property
    def admin_token(self) -> str | None:
        """The token of the control endpoints (``X-Sandbox-Token``), None when they are off."""
        return self._server.admin_token

    @property
    def admin_headers(self) -> dict[str, str]:
        """Headers for a control request: ``requests.get(server.url + "/_sandbox/stats", headers=…)``."""
        return {ADMIN_HEADER: self._server.admin_token or ""}

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=f"sandbox:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""Local fake gateways that behave as the real ones do, at the edge of the machine: they listen on a port,
answer the real protocol, fail, throttle and hang on demand, and remember what they received — repeats of a
delivery key dropped, as a keyed gateway does, and counted."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    """What goes wrong, at random or for a while: a share of 500s, of hangs longer than the client waits,
    throttling (429 with Retry-After) past a rate, or everything down."""

    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 12.0
    per_second: float | None = None  # above this many messages a second: throttled
    down: bool = False
    seed: int = 7
    _rng: random.Random = field(init=False)
    _window: list[float] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        if self.down:
            return "down"
        if self.per_second is not None:
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.per_second:
                return "throttle"
            self._window.append(now)
        roll = self._rng.random()
        if roll < self.error_rate:
            return "error"
        if roll < self.error_rate + self.hang_rate:
            return "hang"
        return None


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float


class FakeGateway:
    """A gateway on 127.0.0.1: `handle(received) -> (status, headers, body)` speaks its protocol."""

    def __init__(self, handle: Callable[[FakeGateway, Received], tuple[int, dict[str, str], Any]],
                 faults: Faults | None = None) -> None:
        self.handle, self.faults = handle, faults or Faults()
        self.received: list[Received] = []  # every message taken, repeats dropped
        self.keys: dict[str, int] = {}  # delivery key -> times it came
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body: Any = json.loads(raw or b"null")
                elif "form" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = raw.decode(errors="replace")
                url = urlsplit(self.path)
                got = Received(url.path, parse_qs(url.query), dict(self.headers), body, time.time())
                status, headers, answer = gateway.answer(got)
                payload = answer if isinstance(answer, bytes) else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _serve
            do_GET = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a hanging answer: the real gateway does not tell it either

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, got: Received) -> tuple[int, dict[str, str], Any]:
        fault = self.faults.draw()
        if fault == "down":
            return 503, {}, {"error": "service unavailable"}
        if fault == "error":
            return 500, {}, {"error": "internal error"}
        if fault == "throttle":
            return 429, {"Retry-After": "1"}, {"error": "too many requests"}
        if fault == "hang":
            time.sleep(self.faults.hang_seconds)
        return self.handle(self, got)

    def take(self, key: str | None, got: Received) -> bool:
        """Keep a message; false when its key came before (a repeat, dropped)."""
        with self.lock:
            if key:
                self.keys[key] = self.keys.get(key, 0) + 1
                if self.keys[key] > 1:
                    return False
            self.received.append(got)
            return True

    @property
    def repeats(self) -> int:
        return sum(n - 1 for n in self.keys.values())

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_sms(faults: Faults | None = None) -> FakeGateway:
    """The generic SMS gateway: POST {to, text, id[, template, params]}, 200 {"id": …}; it keeps the id."""

    def handle(gw: FakeGateway, got: Received) -> tuple[int, dict[str, str], Any]:
        body = got.body if isinstance(got.body, dict) else {}
        if not body.get("to") or not body.get("text"):
            return 400, {}, {"error": "to and text are required"}
        gw.take(body.get("id"), got)
        return 200, {}, {"id": f"m{len(gw.received)}"}

    return FakeGateway(handle, faults)

"""Serving with worker processes (`gridops serve --workers N`): an asyncio loop per worker.

Every request but one runs the Flask app on a pool of threads (a2wsgi), as a threaded server
would. The live feed is the exception: a page keeps it open for hours, and a thread per open
page is what froze the API at 48 pages. Its request still goes through Flask first — the guard,
the parsing of Last-Event-ID, the headers and every refusal are the app's, as on any route —
and when the view accepts it, it hands the stream to the worker's hub (gridops.incidents.hub)
instead of answering; this adapter then writes the hub's events to the client from the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask

from gridops.access.cache import Credential, Principals
from gridops.access.policy import Principal
from gridops.incidents.hub import Hub, Settings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STREAM_PATH = "/api/v1/stream"
SWITCH_INTERVAL = 0.001  # seconds
HUB_KEY = "gridops.hub"  # in the ASGI scope of a stream request: the hub the view may hand it to
HANDOFF_KEY = "gridops.handoff"  # set there by the view that accepted the stream


@dataclass(frozen=True)
class Handoff:
    """What the view decided about an accepted stream: for whom, and from which event."""

    principal: Principal
    credential: Credential
    after: int | None


def hub_of(environ: dict[str, Any]) -> Hub | None:
    """The hub a stream request may be handed to (None under a threaded server or the test client)."""
    scope = environ.get("asgi.scope")
    return scope.get(HUB_KEY) if scope is not None else None


def hand_off(environ: dict[str, Any], handoff: Handoff) -> None:
    environ["asgi.scope"][HANDOFF_KEY] = handoff


class Server:
    """The ASGI application of one worker process."""

    def __init__(self, app: Flask, threads: int = 16) -> None:
        # The loop thread writes each event to hundreds of sockets in one burst; a request thread that
        # wants the GIL back after a database round trip would wait the default 5 ms for each hand-over.
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.app = app
        self.wsgi: Any = WSGIMiddleware(app, workers=threads)  # type: ignore[arg-type]  # typed by a2wsgi for its own message types
        cfg = app.config
        principals: Principals = app.extensions["gridops.principals"]
        self.hub = Hub(app.extensions["gridops.db"], principals.recheck, Settings(
            heartbeat=cfg["STREAM_HEARTBEAT_SECONDS"], recheck=cfg["STREAM_RECHECK_SECONDS"],
            poll=cfg["STREAM_POLL_SECONDS"], max_listeners=cfg["STREAM_MAX_CLIENTS"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and scope["path"] == STREAM_PATH and scope["method"] == "GET":
            await self._stream(scope, receive, send)
        else:
            await self.wsgi(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.hub.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, HUB_KEY: self.hub}
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.wsgi(scope, receive, keep)  # the app's answer: a refusal, or headers and a handoff
        handoff: Handoff | None = scope.get(HANDOFF_KEY)
        if handoff is None:
            for message in answer:
                await send(message)
            return
        listener = await self.hub.subscribe(handoff.principal, handoff.credential, handoff.after)
        start = answer[0]
        start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]

        def gone(_: asyncio.Future[Message]) -> None:
            listener.end("client gone")

        watcher = asyncio.ensure_future(_disconnect(receive))
        watcher.add_done_callback(gone)
        try:
            await send(start)
            await send(_body(f"retry: 2000\n: gridops live feed, after event {listener.after}\n\n"))
            async for text in self.hub.events(listener):
                if watcher.done():
                    break
                await send(_body(text))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away mid-write
            pass
        finally:
            watcher.remove_done_callback(gone)
            watcher.cancel()
            self.hub.unsubscribe(listener)


def _body(text: str) -> Message:
    return {"type": "http.response.body", "body": text.encode(), "more_body": True}


async def _disconnect(receive: Receive) -> Message:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return message

"""The live feed for thousands of open pages: one asyncio loop per process holds every stream.

A stream held by a request thread costs a thread for as long as the page is open; 48 open maps
used to take every thread of three gunicorn workers and freeze the API. Here an open stream is a
queue and a small task. The hub reads each batch of new events once, with the facts that decide
who may hear of it (stream.read_batch), and hands each listener what it may see; a new listener
that resumes from an older event catches up from the database on its own, then joins the others.

Wakeups: on PostGIS one LISTEN connection per process (a NOTIFY is sent on commit by the
database, so every process on every machine sharing the database hears it), with a slow poll
beside it in case a notification is lost while that connection reconnects; on SpatiaLite a poll.

Who a listener is gets asked again every `recheck` seconds for all listeners at once (one query
whatever their number): a revoked user, or a signed-out page, gets `ended` and the stream closes.
A listener whose client reads too slowly to keep up is ended too ("lagging"): its client
reconnects with Last-Event-ID and catches up from the database, so nobody waits for it.

Database work runs on the hub's own two threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from sqlalchemy.orm import Session

from gridops.access.cache import Credential
from gridops.access.policy import Principal
from gridops.core.db import POSTGIS, Database
from gridops.incidents.stream import CHANNEL, Batch, last_id, read_batch, sse

log = logging.getLogger(__name__)
T = TypeVar("T")

Recheck = Callable[[Session, Sequence[Credential]], list[Principal | None]]
_END = None  # the last item a listener's queue holds
SLICE = 64  # listeners woken at a time before the loop lets everything else that is ready run


@dataclass(frozen=True)
class Settings:
    heartbeat: float = 15.0  # a keep-alive comment after this long with nothing to say (proxies close idle lines)
    recheck: float = 5.0  # how soon a revoked user's stream ends
    poll: float = 0.5  # SpatiaLite: how often to look for new events
    safety_poll: float = 5.0  # PostGIS: look even without a notification, in case one was lost
    backlog: int = 1000  # events a listener may fall behind by before it is ended as lagging
    max_listeners: int = 10_000  # per process; beyond this a new stream is refused (503)


@dataclass(eq=False)
class Listener:
    """One open stream: who it is for, the id it has heard up to, and what is waiting to be sent."""

    principal: Principal
    credential: Credential
    after: int
    backlog: int
    live: bool = False  # caught up: the hub's batches reach it
    ended: bool = False
    last_put: float = field(default_factory=time.monotonic)
    _waiting: deque[str | None] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, text: str) -> bool:
        if self.ended:
            return False
        if len(self._waiting) >= self.backlog:
            self.end("lagging")
            return False
        self._waiting.append(text)
        self._ready.set()
        self.last_put = time.monotonic()
        return True

    def end(self, reason: str) -> None:
        """The last thing this stream says (it always fits: the backlog bounds events, not this)."""
        if self.ended:
            return
        self.ended = True
        self._waiting.append(f'event: ended\ndata: {{"reason": "{reason}"}}\n\n')
        self._waiting.append(_END)
        self._ready.set()

    async def get(self) -> str | None:
        while not self._waiting:
            self._ready.clear()
            await self._ready.wait()
        return self._waiting.popleft()


class Hub:
    """Per process and per event loop: every open stream of this process."""

    def __init__(self, db: Database, recheck: Recheck, settings: Settings | None = None) -> None:
        self.db = db
        self._recheck = recheck
        self.settings = settings or Settings()
        self.listeners: set[Listener] = set()
        self.last = 0  # every live listener has been handed everything up to this id
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gridops-hub")
        self._woken = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._catching_up: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
        self._started = False
        self._start_lock = asyncio.Lock()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _in_session(self, fn: Callable[[Session], T]) -> T:
        with self.db.session() as session:
            return fn(session)

    @property
    def full(self) -> bool:
        return len(self.listeners) >= self.settings.max_listeners

    async def start(self) -> None:
        async with self._start_lock:
            if self._started:
                return
            self.last = await self._run(self._in_session, last_id)
            self._tasks = [asyncio.create_task(self._pump(), name="gridops-hub-pump"),
                           asyncio.create_task(self._tick(), name="gridops-hub-tick")]
            if self.db.backend == POSTGIS:
                self._tasks.append(asyncio.create_task(self._listen(), name="gridops-hub-listen"))
            self._started = True

    async def stop(self) -> None:
        for listener in list(self.listeners):
            listener.end("server stopping")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def subscribe(self, principal: Principal, credential: Credential, after: int | None) -> Listener:
        """A new listener from `after` (None: from now); it catches up on its own if it starts behind."""
        await self.start()
        start = self.last if after is None else after
        listener = Listener(principal, credential, start, self.settings.backlog)
        self.listeners.add(listener)
        if start >= self.last:
            listener.live = True
        else:
            task = asyncio.create_task(self._catch_up(listener), name="gridops-hub-catch-up")
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        listener.ended = True
        self.listeners.discard(listener)

    async def events(self, listener: Listener) -> AsyncIterator[str]:
        """What to send to the listener's client, until its stream ends."""
        try:
            while True:
                text = await listener.get()
                if text is _END:
                    return
                yield text
        finally:
            self.unsubscribe(listener)

    async def _catch_up(self, listener: Listener) -> None:
        try:
            while not listener.ended:
                batch = await self._run(self._in_session, lambda s: read_batch(s, listener.after))
                for event in batch.for_(listener.principal):
                    if not listener.put(sse(event)):
                        return
                listener.after = max(listener.after, batch.after)
                # on the loop, between the hub's own batches: nothing can slip between the two cursors
                if not batch.full and listener.after >= self.last:
                    listener.live = True
                    return
        except Exception:  # the database is away: the client reconnects and resumes with Last-Event-ID
            log.warning("a live-feed listener could not catch up", exc_info=True)
            listener.end("server busy")

    async def _dispatch(self, batch: Batch) -> None:
        # First: a listener that finishes catching up while this batch is being handed out must find
        # the batch still ahead of it (and read it itself), or it would go live without it.
        self.last = max(self.last, batch.after)
        texts: dict[int, str] = {}  # each event written out once, however many hear it
        async for listener in _in_slices(list(self.listeners)):
            if not listener.live or listener.ended:
                continue
            for event in batch.for_(listener.principal):
                if event["id"] <= listener.after:
                    continue
                text = texts.get(event["id"])
                if text is None:
                    text = texts[event["id"]] = sse(event)
                if not listener.put(text):
                    break
            listener.after = max(listener.after, batch.after)

    async def _pump(self) -> None:
        waits = self.settings.safety_poll if self.db.backend == POSTGIS else self.settings.poll
        while True:
            try:
                await asyncio.wait_for(self._woken.wait(), timeout=waits)
            except TimeoutError:
                pass
            self._woken.clear()
            try:
                while True:
                    batch = await self._run(self._in_session, lambda s: read_batch(s, self.last))
                    if batch.events or batch.after > self.last:
                        await self._dispatch(batch)
                    if not batch.full:
                        break
            except Exception:
                log.warning("the live feed could not read new events; trying again", exc_info=True)
                await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        url = self.db.url
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    host=url.host or "localhost", port=url.port or 5432, user=url.username, password=url.password,
                    dbname=url.database, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._woken.set()  # anything committed while we were away
                    async for _ in conn.notifies():
                        self._woken.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # the server went away: the safety poll carries on until we are back
                log.warning("live-feed listener lost its connection; retrying", exc_info=True)
                await asyncio.sleep(2.0)

    async def _tick(self) -> None:
        """Keep-alives, and asking again who each listener is."""
        checked = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, self.settings.heartbeat, self.settings.recheck))
            now = time.monotonic()
            async for listener in _in_slices(list(self.listeners)):
                if now - listener.last_put >= self.settings.heartbeat:
                    listener.put(": keep-alive\n\n")
            if now - checked >= self.settings.recheck and self.listeners:
                checked = now
                await self._confirm()

    async def _confirm(self) -> None:
        listeners = [x for x in self.listeners if not x.ended]
        try:
            who = await self._run(self._in_session, lambda s: self._recheck(s, [x.credential for x in listeners]))
        except Exception:  # asked again next time; nobody is let in meanwhile who was not already
            log.warning("the live feed could not recheck its listeners", exc_info=True)
            return
        for listener, now_who in zip(listeners, who, strict=True):
            if now_who is None:
                listener.end("signed out or revoked")
            else:
                listener.principal = now_who  # a changed role or ground applies at once


async def _in_slices(listeners: list[Listener]) -> AsyncIterator[Listener]:
    """Each listener in turn, yielding to the loop every SLICE of them.

    Waking a listener queues its write; one event for 700 open pages of a worker would queue 700
    writes ahead of the answer to a /healthz or a locate that finished on a request thread meanwhile
    (the loop runs what is ready in order). Between slices those answers go out."""
    for k, listener in enumerate(listeners):
        if k and k % SLICE == 0:
            await asyncio.sleep(0)
        yield listener

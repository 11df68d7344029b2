"""The live feed: every state change, to every process's clients, resumable.

Events are rows of stream_event, written by the database itself for every row
added to an incident's history (a trigger, migration 0005), in the same
transaction as the change they describe: a client never hears of a change that
was rolled back, and every process sees every other's events. Their ids are the
Server-Sent Events ids: a client that reconnects with Last-Event-ID misses
nothing. On PostGIS a NOTIFY (sent on commit, by another trigger) wakes waiting
streams at once; on SpatiaLite they poll.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import Principal, can_see
from gridops.core.db import POSTGIS, Database
from gridops.core.models import Area, Incident, StreamEvent

log = logging.getLogger(__name__)
CHANNEL = "gridops_events"
NOTIFICATION = "notification"  # a message for one person (migration 0022), heard only by them
BATCH = 500
RECHECK_SECONDS = 5.0  # how soon a revoked user's open stream ends


class Wakeup:
    """Per process: one LISTEN connection (PostGIS) that wakes every waiting stream."""

    def __init__(self, db: Database, poll_seconds: float = 0.5) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._cond = threading.Condition()
        self._generation = 0
        self._listener: threading.Thread | None = None
        self._lock = threading.Lock()

    def _listen(self) -> None:
        url = self.db.url
        while not getattr(self.db, "disposed", False):
            try:
                with psycopg.connect(host=url.host or "localhost", port=url.port or 5432, user=url.username,
                                     password=url.password, dbname=url.database, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not getattr(self.db, "disposed", False):
                        for _ in conn.notifies(timeout=1.0):  # wakes each second to see whether the app is gone
                            with self._cond:
                                self._generation += 1
                                self._cond.notify_all()
            except Exception:  # the server went away: streams fall back to polling until we are back
                if getattr(self.db, "disposed", False):
                    return
                log.warning("stream listener lost its connection; retrying", exc_info=True)
                threading.Event().wait(2.0)

    def wait(self, seen: int, timeout: float) -> int:
        """Block until something may have happened since generation `seen`, or the timeout."""
        if self.db.backend == POSTGIS and self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._listener = threading.Thread(target=self._listen, name="gridops-stream-listener", daemon=True)
                    self._listener.start()
        with self._cond:
            limit = min(timeout, self.poll_seconds) if self.db.backend != POSTGIS else timeout
            if self._generation == seen:
                self._cond.wait(limit)
            return self._generation

    @property
    def generation(self) -> int:
        return self._generation


def last_id(session: Session) -> int:
    return session.scalar(select(StreamEvent.id).order_by(StreamEvent.id.desc()).limit(1)) or 0


@dataclass(slots=True)
class Facts:
    """What deciding who may hear of an incident's event needs, read once per batch for every
    listener (policy.IncidentFacts, the grid, and the residents whose reports were merged into it)."""

    assignee_id: int | None
    reporter_user_id: int | None
    department_code: str | None
    grid_code: str | None
    followers: frozenset[int]


@dataclass(frozen=True)
class Batch:
    """The next stored events after some id, each with its incident's facts (None: not about an
    incident, everyone may hear it), and the id to resume after."""

    events: list[tuple[dict[str, Any], Facts | Addressee | None]]
    after: int
    full: bool  # more may be waiting

    def for_(self, principal: Principal) -> list[dict[str, Any]]:
        return [event for event, facts in self.events if facts is None or visible(principal, facts)]


@dataclass(frozen=True, slots=True)
class Addressee:
    """Whom a `notification` event is for (migration 0022): that person's pages hear it, nobody else's —
    not staff, who see every incident but not everyone's messages."""

    worker_id: int | None
    user_id: int | None


def visible(principal: Principal, facts: Facts | Addressee) -> bool:
    if isinstance(facts, Addressee):
        return principal.user_id == facts.user_id or (principal.worker_id is not None and principal.worker_id == facts.worker_id)
    return can_see(principal, facts, facts.grid_code, joined=principal.user_id in facts.followers)


def read_batch(session: Session, after: int, limit: int = BATCH) -> Batch:
    """Three queries whatever the batch holds: the events, their incidents with their grids, and who
    follows the incidents through a merged report."""
    rows = list(session.scalars(select(StreamEvent).where(StreamEvent.id > after).order_by(StreamEvent.id).limit(limit)))
    if not rows:
        return Batch([], after, False)
    ids = {r.incident_id for r in rows if r.incident_id is not None}
    followers: dict[int, set[int]] = {}
    facts: dict[int, Facts] = {}
    if ids:
        merged = select(Incident.merged_into_id, Incident.reporter_user_id).where(
            Incident.merged_into_id.in_(ids), Incident.status == "merged", Incident.reporter_user_id.is_not(None))
        for into, reporter in session.execute(merged):
            if into is not None and reporter is not None:
                followers.setdefault(into, set()).add(reporter)
        found = select(Incident.id, Incident.assignee_id, Incident.reporter_user_id, Incident.department_code, Area.code) \
            .outerjoin(Area, Area.id == Incident.grid_id).where(Incident.id.in_(ids))
        for iid, assignee, reporter, department, grid in session.execute(found):
            facts[iid] = Facts(assignee, reporter, department, grid, frozenset(followers.get(iid, ())))
    events: list[tuple[dict[str, Any], Facts | Addressee | None]] = []
    for row in rows:
        if row.incident_id is not None and row.incident_id not in facts:
            continue  # its incident is gone: nobody may hear of it
        event = {"id": row.id, "event": row.kind, "data": {**(row.data or {}), "at": row.at.isoformat()}}
        if row.kind == NOTIFICATION:
            events.append((event, _addressee(row.data or {})))
            continue
        events.append((event, facts.get(row.incident_id) if row.incident_id is not None else None))
    return Batch(events, rows[-1].id, len(rows) == limit)


def _addressee(data: dict[str, Any]) -> Addressee:
    def person(key: str) -> int | None:
        value = data.get(key)
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None
    return Addressee(person("worker_id"), person("user_id"))


def events_after(session: Session, after: int, principal: Principal) -> tuple[list[dict[str, Any]], int]:
    """The next events the principal may see, and the id to resume after."""
    batch = read_batch(session, after)
    return batch.for_(principal), batch.after


def sse(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: {event['event']}\ndata: {json.dumps(event['data'], ensure_ascii=False)}\n\n"


def stream(db: Database, wakeup: Wakeup, principal: Principal, after: int | None, heartbeat: float = 15.0,
           stop_after: float | None = None, confirm: Callable[[Session], Principal | None] | None = None,
           recheck: float = RECHECK_SECONDS) -> Iterator[str]:
    """Server-Sent Events from `after` (default: from now), with keep-alive comments.

    `confirm` asks again, every `recheck` seconds, who the caller is now: a user revoked (or signed
    out) meanwhile gets an `ended` event and the stream closes; a changed role or ground applies at once.
    """
    started = time.monotonic()
    checked = started
    if after is None:
        with db.session() as session:
            after = last_id(session)
    yield f"retry: 2000\n: gridops live feed, after event {after}\n\n"
    generation = wakeup.generation
    quiet_since = time.monotonic()
    while stop_after is None or time.monotonic() - started < stop_after:
        with db.session() as session:
            if confirm is not None and time.monotonic() - checked >= recheck:
                checked = time.monotonic()
                now_who = confirm(session)
                if now_who is None:
                    yield 'event: ended\ndata: {"reason": "signed out or revoked"}\n\n'
                    return
                principal = now_who
            events, after = events_after(session, after, principal)
        for event in events:
            yield sse(event)
        if events:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= heartbeat:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        generation = wakeup.wait(generation, min(heartbeat, recheck) if confirm is not None else heartbeat)

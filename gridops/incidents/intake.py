"""Reports in, many per transaction: placed, checked for duplicates, routed and stored.

Under load most of a report's cost was per-transaction overhead: a connection
check-out, a dozen statements, a commit. Here the reports that arrive together
are taken in together (group commit): each process has one writer thread that
drains the queue of submissions and stores them all in one transaction with a
few multi-row statements — while each request still gets its own answer only
after its report is committed, and each report is decided exactly as if it had
come alone (a later report in the batch sees the earlier ones as open incidents
to merge into and as work already handed out).

Nothing lost, nothing doubled: an Idempotency-Key's record is written in the
same transaction as the report. A key already stored replays its answer; the
same key twice in one batch is decided once. If the batch transaction fails —
another process committed the same key first, or anything unexpected — every
submission is retried alone in its own transaction, so one bad report can never
fail the others.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m
from gridops.geo.errors import GeoError
from gridops.geo.hexes import cell_of

from gridops.core import clock
from gridops.access.users import Principal, Unauthorized
from gridops.core.bulk import bulk_cursor, insert_rows, insert_tables
from gridops.core.db import POSTGIS, Database
from gridops.core.errors import Conflict, GridopsError, InvalidParameter
from gridops.boundaries.geocoder import LocationQuery
from gridops.incidents.idempotency import replay
from gridops.incidents.records import CHANNELS, Context, NewReport, actor_label
from gridops.core.models import (
    Attachment,
    Building,
    Household,
    IdempotencyRecord,
    Incident,
    IncidentEvent,
    IncidentFollower,
    Notification,
    Task,
)
from gridops.incidents.photos import discard, store
from gridops.reference.data import ROUTING_STAMP, USERS_STAMP, CategoryRef, Reference, stamps
from gridops.incidents.routing import OPEN, Ground, Route, WorkLoad, route

log = logging.getLogger(__name__)
MAX_BATCH = 64
WRITER_IDLE_SECONDS = 2.0  # after this long with no report the writer gives its connection back


@dataclass
class Submission:
    """One report as a request hands it over: what, by whom, and the key that makes it happen once."""

    new: NewReport
    actor: Principal | None
    key: str | None = None
    fingerprint: str = ""
    method: str = "POST"
    path: str = ""
    token_hash: str | None = None  # the actor's token, confirmed again in the storing transaction


@dataclass
class Outcome:
    status: int = 201
    answer: dict[str, Any] | None = None
    error: BaseException | None = None
    replayed: bool = False
    written: list[str] = field(default_factory=list)  # photo files this submission wrote

    def result(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return self.answer


# --- deciding ---------------------------------------------------------------------


@dataclass
class _Placed:
    """A report decided but not yet stored."""

    sub: Submission
    category: CategoryRef
    answer: dict[str, Any]
    version_id: int
    grid_id: int
    micro_grid_id: int | None
    codes: dict[str, str]
    lon: float
    lat: float
    due: datetime
    chosen: Route
    dupes: list[dict[str, Any]]
    target_id: int | None = None  # merged into a stored incident
    target_new: _Placed | None = None  # merged into an earlier report of this batch
    merge_distance_m: float | None = None
    building_id: int | None = None
    household_id: int | None = None
    incident_id: int | None = None
    event_id: int | None = None
    outcome: Outcome | None = None

    @cached_property
    def geom(self):
        """The position as stored (one WKB for the incident, its first event and its task)."""
        return from_shape(Point(self.lon, self.lat), srid=STORAGE_SRID)


def _validate(ref: Reference, new: NewReport) -> CategoryRef:
    category = ref.category(new.category)
    if category is None or not category.active:
        known = sorted(c.code for c in ref.categories.values() if c.active)
        raise InvalidParameter("category", f"unknown category {new.category!r}; categories: {', '.join(known)}.", allowed=known)
    if new.channel not in CHANNELS:
        raise InvalidParameter("channel", f"channel must be one of {', '.join(CHANNELS)}; got {new.channel!r}.", allowed=list(CHANNELS))
    if (new.x is None) != (new.y is None):
        missing = "lat" if new.y is None else "lon"
        raise InvalidParameter(missing, f"`{missing}` is required with `{'lon' if missing == 'lat' else 'lat'}`.")
    if new.x is None and not (new.building or new.household or new.address):
        raise InvalidParameter("location", "a report needs a location: lon and lat (with crs), or a building, household or address.")
    return category


@dataclass(frozen=True)
class _Open:
    """An open incident a new report may duplicate, with what a merge into it inherits."""

    id: int
    category: str
    reported_at: datetime
    lon: float
    lat: float
    assignee_id: int | None
    tier: str
    department_code: str | None
    due_at: datetime


def _box(lon: float, lat: float, radius_m: float) -> str:
    pad = radius_m / 90_000.0  # degrees, generously: a prefilter, the metres come next
    return f"POLYGON(({lon - pad} {lat - pad},{lon + pad} {lat - pad},{lon + pad} {lat + pad},{lon - pad} {lat + pad},{lon - pad} {lat - pad}))"


def _open_nearby(session: Session, placed: list[_Placed], now: datetime) -> list[_Open]:
    """The stored open incidents any report of the batch may duplicate: one query for the batch."""
    wanted = [p for p in placed if p.category.dedupe_radius_m and p.category.dedupe_window_hours]
    if not wanted:
        return []
    if session.get_bind().dialect.name == "postgresql":
        with bulk_cursor(session) as cursor:
            cursor.execute(_PG_NEARBY, {
                "cats": [p.category.code for p in wanted],
                "since": [now - timedelta(hours=p.category.dedupe_window_hours) for p in wanted],
                "x0": [p.lon - _pad(p) for p in wanted], "y0": [p.lat - _pad(p) for p in wanted],
                "x1": [p.lon + _pad(p) for p in wanted], "y1": [p.lat + _pad(p) for p in wanted],
                "open": list(OPEN),
            })
            rows = cursor.fetchall()
        return [_Open(iid, cat, reported, x, y, assignee, tier, dept, due) for iid, cat, reported, x, y, assignee, tier, dept, due in rows]
    terms = [
        and_(Incident.category_code == p.category.code,
             Incident.reported_at >= now - timedelta(hours=p.category.dedupe_window_hours),
             func.ST_Intersects(Incident.location, func.ST_GeomFromText(_box(p.lon, p.lat, p.category.dedupe_radius_m), STORAGE_SRID)))
        for p in wanted
    ]
    rows = session.execute(
        select(Incident.id, Incident.category_code, Incident.reported_at, Incident.location, Incident.assignee_id, Incident.tier,
               Incident.department_code, Incident.due_at)
        .where(Incident.status.in_(OPEN), Incident.merged_into_id.is_(None), or_(*terms))
    ).all()
    found = []
    for iid, cat, reported, location, assignee, tier, dept, due in rows:
        point = to_shape(location)
        found.append(_Open(iid, cat, reported, point.x, point.y, assignee, tier, dept, due))
    return found


def _pad(p: _Placed) -> float:
    return p.category.dedupe_radius_m / 90_000.0  # degrees, generously: a prefilter, the metres come next


# One text for every batch size (psycopg and the server keep it prepared): each report's
# category, window and box, joined to the open incidents through the spatial index.
_PG_NEARBY = f"""
SELECT DISTINCT i.id, i.category_code, i.reported_at, ST_X(i.location), ST_Y(i.location), i.assignee_id, i.tier,
       i.department_code, i.due_at
FROM unnest(CAST(%(cats)b AS varchar[]), CAST(%(since)b AS timestamptz[]), CAST(%(x0)b AS float8[]), CAST(%(y0)b AS float8[]),
            CAST(%(x1)b AS float8[]), CAST(%(y1)b AS float8[])) AS q(cat, since, x0, y0, x1, y1)
JOIN incident i ON i.category_code = q.cat AND i.reported_at >= q.since
 AND i.location && ST_MakeEnvelope(q.x0, q.y0, q.x1, q.y1, {STORAGE_SRID})
WHERE i.status = ANY(CAST(%(open)b AS varchar[])) AND i.merged_into_id IS NULL
"""


def _duplicates(candidates: list[_Open], category: CategoryRef, lon: float, lat: float, now: datetime) -> list[tuple[dict[str, Any], _Open]]:
    """Open incidents of the same category within the category's radius and time window, nearest first."""
    if not category.dedupe_radius_m or not category.dedupe_window_hours:
        return []
    since = now - timedelta(hours=category.dedupe_window_hours)
    same = [c for c in candidates if c.category == category.code and c.reported_at >= since]
    if not same:
        return []
    dist = distances_m(lon, lat, [c.lon for c in same], [c.lat for c in same])
    found = [({"id": c.id, "distance_m": round(float(d), 1), "reported_at": c.reported_at.isoformat()}, c)
             for c, d in zip(same, dist, strict=True) if d <= category.dedupe_radius_m]
    return sorted(found, key=lambda fc: (fc[0]["distance_m"], fc[0]["id"]))


def _batch_duplicates(earlier: list[_Placed], category: CategoryRef, lon: float, lat: float) -> list[tuple[float, _Placed]]:
    """Earlier reports of this batch that this one duplicates (they are open and brand new)."""
    if not category.dedupe_radius_m or not category.dedupe_window_hours:
        return []
    same = [p for p in earlier if p.category.code == category.code and p.target_id is None and p.target_new is None]
    if not same:
        return []
    dist = distances_m(lon, lat, [p.lon for p in same], [p.lat for p in same])
    return sorted(((float(d), p) for d, p in zip(dist, same, strict=True) if d <= category.dedupe_radius_m),
                  key=lambda dp: dp[0])


def _place(session: Session, ctx: Context, ref: Reference, sub: Submission, now: datetime) -> _Placed:
    """Checked and placed: its category, its grid and micro-grid, its time limit."""
    new = sub.new
    category = _validate(ref, new)
    answer, version = ctx.geocoder.place(
        LocationQuery(x=new.x, y=new.y, crs=new.crs, building=new.building, household=new.household, address=new.address),
        lambda: nullcontext(session), session,
    )
    areas = answer["layers"][ctx.geocoder.primary_layer]["areas"]
    codes = {level: a["code"] for level, a in areas.items()}
    due = ref.calendar(ctx.timezone).due(now, category.time_limit_minutes, category.working_time)
    placed = _Placed(sub, category, answer, version.info.id, version.area_id(codes["grid"]),
                     version.area_id(codes.get("micro_grid")), codes, answer["location"]["lon"], answer["location"]["lat"],
                     due, Route(None, "", "grid"), [])
    if "building" in answer:
        placed.building_id = session.scalar(select(Building.id).where(Building.code == answer["building"]["code"]))
        if "household" in answer:
            placed.household_id = session.scalar(select(Household.id).where(Household.code == answer["household"]["code"]))
    return placed


def _decide(session: Session, ctx: Context, ref: Reference, load: WorkLoad, p: _Placed, now: datetime,
            candidates: list[_Open], earlier: list[_Placed]) -> None:
    """Merged into an open incident (stored, or earlier in this batch), or routed to a worker."""
    stored = _duplicates(candidates, p.category, p.lon, p.lat, now)
    p.dupes = [d for d, _ in stored]
    fresh = _batch_duplicates(earlier, p.category, p.lon, p.lat)
    if fresh and (not stored or fresh[0][0] < stored[0][0]["distance_m"]):
        distance, target = fresh[0]
        p.target_new, p.merge_distance_m = target, distance
        p.chosen = Route(target.chosen.worker_id, "", target.chosen.tier, target.chosen.department_code)
        p.due = target.due
    elif stored:
        found, target = stored[0]
        p.target_id = target.id
        p.chosen = Route(target.assignee_id, f"duplicate of incident {target.id} ({found['distance_m']:.0f} m away)",
                         target.tier, target.department_code)
        p.due = target.due_at
    else:
        ground = Ground(p.codes["grid"], p.codes.get("community"), p.codes.get("street"))
        p.chosen = route(session, ref, p.category, ground, now, tz=ctx.timezone, lon=p.lon, lat=p.lat,
                         layer=ctx.geocoder.primary_layer, load=load)
        load.hand(p.chosen.worker_id)


# --- storing ----------------------------------------------------------------------


def _local_day(t: datetime, tz: str):
    return t.astimezone(ZoneInfo(tz)).date()


def _incident_row(p: _Placed, now: datetime, tz: str) -> dict[str, Any]:
    new, original = p.sub.new, p.answer["original"]
    merged = p.target_id is not None or p.target_new is not None
    description = new.description
    return {
        "category_code": p.category.code, "description": description, "status": "merged" if merged else "reported",
        "urgency": p.category.urgency, "channel": new.channel, "reporter_name": new.reporter_name,
        "reporter_contact": new.reporter_contact, "location": p.geom,
        "original_x": original.get("x"), "original_y": original.get("y"), "original_crs": original.get("crs"),
        "address_text": new.address, "location_status": p.answer["status"], "snap_distance_m": p.answer["distance_m"] or None,
        "boundary_version_id": p.version_id, "grid_id": p.grid_id, "micro_grid_id": p.micro_grid_id,
        "building_id": p.building_id, "household_id": p.household_id,
        "reported_at": now, "reported_day": _local_day(now, tz), "due_at": p.due, "updated_at": now, "lock_version": 1,
        "token": new.token,
        "reporter_user_id": p.sub.actor.user_id if p.sub.actor and p.sub.actor.role == "resident" else None,
        "assignee_id": p.chosen.worker_id, "routing_reason": _reason(p), "department_code": p.chosen.department_code,
        "tier": p.chosen.tier, "h3_cell": cell_of(p.lon, p.lat), "merged_into_id": p.target_id if p.target_id is not None else (p.target_new.incident_id if p.target_new else None),
    }


def _reason(p: _Placed) -> str:
    if p.target_new is not None:  # its id is known only once it is stored
        return f"duplicate of incident {p.target_new.incident_id} ({p.merge_distance_m:.0f} m away)"
    return p.chosen.reason


def _candidates(p: _Placed, now: datetime) -> list[dict[str, Any]]:
    found = list(p.dupes)
    if p.target_new is not None:
        found.insert(0, {"id": p.target_new.incident_id, "distance_m": round(p.merge_distance_m, 1), "reported_at": now.isoformat()})
    return found


def _answer(p: _Placed, ref: Reference, now: datetime, photos: list[dict[str, Any]]) -> dict[str, Any]:
    row_target = p.target_id if p.target_id is not None else (p.target_new.incident_id if p.target_new else None)
    worker = ref.workers.get(p.chosen.worker_id) if p.chosen.worker_id is not None else None
    return {
        "id": p.incident_id,
        "status": "merged" if row_target is not None else "reported",
        "token": p.sub.new.token,
        "category": {"code": p.category.code, "name": p.category.name, "urgency": p.category.urgency,
                     "time_limit_minutes": p.category.time_limit_minutes, "working_time": p.category.working_time},
        "location": p.answer["location"],
        "original": p.answer["original"],
        "location_status": p.answer["status"],
        "distance_m": p.answer["distance_m"],
        "grid": p.answer["grid"],
        "micro_grid": p.answer["micro_grid"],
        "boundary_version": p.answer["boundary_version"],
        "reported_at": now.isoformat(),
        "due_at": p.due.isoformat(),
        "assignee": {"code": worker.code, "name": worker.name, "role": worker.role} if worker else None,
        "department": p.chosen.department_code,
        "tier": p.chosen.tier,
        "routing_reason": _reason(p),
        "merged_into": row_target,
        "duplicates": _candidates(p, now),
        "photos": photos,
    }


def _insert_returning_ids(session: Session, model, rows: list[dict[str, Any]]) -> list[int]:
    return insert_rows(session, model.__table__, rows, ids=True)


def _store(session: Session, ctx: Context, ref: Reference, placed: list[_Placed], now: datetime) -> None:
    """Every decided report, in few statements: the incidents (reports merging into an earlier one of
    the batch go in a second round, once that one has its id), then everything that hangs from
    them — first events, merges, followers, tasks, notifications, photos, idempotency records —
    together (one statement on PostGIS)."""
    first = [p for p in placed if p.target_new is None]
    second = [p for p in placed if p.target_new is not None]
    for group in (first, second):
        for p, iid in zip(group, _insert_returning_ids(session, Incident, [_incident_row(p, now, ctx.timezone) for p in group]), strict=True):
            p.incident_id = iid

    events: list[dict[str, Any]] = []
    for p in placed:
        new = p.sub.new
        events.append({"incident_id": p.incident_id, "seq": 1, "at": now, "action": "report", "from_status": None,
                       "to_status": "reported", "actor_id": p.sub.actor.worker_id if p.sub.actor else None,
                       "actor_label": actor_label(p.sub.actor), "note": new.description, "data": {"channel": new.channel},
                       "location": p.geom})
    if any(p.sub.new.photos for p in placed):  # the photos name their event: its id is needed first
        for p, eid in zip(placed, _insert_returning_ids(session, IncidentEvent, events), strict=True):
            p.event_id = eid
        events = []
    merges = [p for p in placed if p.target_id is not None or p.target_new is not None]
    target_of = {id(p): (p.target_id if p.target_id is not None else p.target_new.incident_id) for p in merges}
    events += [
        {"incident_id": p.incident_id, "seq": 2, "at": now, "action": "merge", "from_status": "reported", "to_status": "merged",
         "actor_id": None, "actor_label": actor_label(None), "note": _reason(p),
         "data": {"into": target_of[id(p)], "candidates": _candidates(p, now)}, "location": None} for p in merges
    ]
    followers = [{"incident_id": target_of[id(p)], "name": p.sub.new.reporter_name, "contact": p.sub.new.reporter_contact,
                  "source_incident_id": p.incident_id, "added_at": now} for p in merges]

    routed = [p for p in placed if p.target_id is None and p.target_new is None and p.chosen.worker_id is not None]
    tasks = [{"kind": "incident", "title": f"{p.category.name}: {p.sub.new.description or ''}"[:256], "status": "open",
              "incident_id": p.incident_id, "worker_id": p.chosen.worker_id, "area_code": p.codes["grid"],
              "location": p.geom, "due_at": p.due, "created_at": now} for p in routed]
    notifications = [{"worker_id": p.chosen.worker_id, "incident_id": p.incident_id, "kind": "assigned",
                      "message": f"new report {p.incident_id}: {p.category.name}", "created_at": now} for p in routed]

    attachments = []
    for p in placed:
        shown = []
        for photo in p.sub.new.photos:
            path, wrote = store(photo, ctx.instance_path)
            if wrote:
                p.outcome.written.append(path)
            attachments.append({"incident_id": p.incident_id, "event_id": p.event_id, "sha256": photo.sha256,
                                "content_type": photo.content_type, "size_bytes": photo.size, "path": path, "created_at": now})
            shown.append({"sha256": photo.sha256, "content_type": photo.content_type, "size": photo.size})
        p.outcome.answer = _answer(p, ref, now, shown)

    keys = [{"key": p.sub.key, "method": p.sub.method, "path": p.sub.path, "request_hash": p.sub.fingerprint,
             "status_code": p.outcome.status, "response_body": json.dumps(p.outcome.answer, ensure_ascii=False, default=str),
             "created_at": now} for p in placed if p.sub.key is not None]
    insert_tables(session, [(IncidentEvent.__table__, events), (IncidentFollower.__table__, followers), (Task.__table__, tasks),
                            (Notification.__table__, notifications), (Attachment.__table__, attachments),
                            (IdempotencyRecord.__table__, keys)])


def _replay(record_hash: str, status: int, body: str, sub: Submission) -> Outcome:
    try:
        status, answer = replay(record_hash, status, body, sub.fingerprint)
    except Conflict as err:
        return Outcome(error=err)
    return Outcome(status=status, answer=answer, replayed=True)


def _likely_assignees(ref: Reference, layer: str, placed: list[_Placed], now: datetime) -> set[int]:
    """Who a batch's reports will most likely go to: their grids' teams, their departments' staff."""
    ids: set[int] = set()
    for p in placed:
        if p.category.handler == "department":
            ids.update(ref.staff("department_staff", p.category.department_code))
        else:
            ids.update(ref.assigned(layer, [p.codes["grid"]], ("primary", "backup", "leader"), now))
    return ids


def _confirm_signed_in(session: Session, ctx: Context, subs: list[Submission], stamp: int) -> list[Submission | Outcome]:
    """Each submission's user as this transaction sees them: a token revoked (or a role changed)
    since the request read it counts as of now, not as of then."""
    hashes = {s.token_hash for s in subs if s.token_hash is not None}
    if not hashes or ctx.principals is None:
        return list(subs)
    now_known = ctx.principals.confirm(session, hashes, stamp)
    out: list[Submission | Outcome] = []
    for s in subs:
        if s.token_hash is None:
            out.append(s)
        elif now_known[s.token_hash] is None:
            out.append(Outcome(error=Unauthorized("the token is not valid (unknown, or the user was deactivated).")))
        else:
            out.append(replace(s, actor=now_known[s.token_hash]))
    return out


def take_in(session: Session, ctx: Context, subs: list[Submission]) -> list[Outcome]:
    """Decide and store a batch of reports in the caller's transaction; one outcome per submission.

    A report that is refused (bad category, outside the service area, …) gets its
    error as its outcome and stores nothing; the others are not affected.
    """
    now = clock.utcnow()
    stamp = stamps(session)
    ref = ctx.references.current(session, stamp.get(ROUTING_STAMP, 0))
    subs = _confirm_signed_in(session, ctx, subs, stamp.get(USERS_STAMP, 0))
    keys = sorted({s.key for s in subs if isinstance(s, Submission) and s.key is not None})
    known = {r.key: r for r in session.connection().execute(
        select(IdempotencyRecord.key, IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response_body)
        .where(IdempotencyRecord.key.in_(keys)))} if keys else {}
    outcomes: list[Outcome | None] = []
    placed: list[_Placed] = []
    first_with_key: dict[str, _Placed] = {}
    echoes: list[tuple[int, Submission, _Placed]] = []  # the same key again in this batch: answered as the first
    for sub in subs:
        if isinstance(sub, Outcome):  # its token no longer signs anyone in
            outcomes.append(sub)
            continue
        if sub.key is not None and sub.key in known:
            r = known[sub.key]
            outcomes.append(_replay(r.request_hash, r.status_code, r.response_body, sub))
            continue
        if sub.key is not None and sub.key in first_with_key:
            echoes.append((len(outcomes), sub, first_with_key[sub.key]))
            outcomes.append(None)
            continue
        try:
            p = _place(session, ctx, ref, sub, now)
        except (GridopsError, GeoError) as err:
            outcomes.append(Outcome(error=err))
            continue
        p.outcome = Outcome()
        placed.append(p)
        outcomes.append(p.outcome)
        if sub.key is not None:
            first_with_key[sub.key] = p
    if placed:
        candidates = _open_nearby(session, placed, now)
        load = WorkLoad(session)
        load.prefetch(_likely_assignees(ref, ctx.geocoder.primary_layer, placed, now))
        for k, p in enumerate(placed):  # in arrival order: each sees the ones before it
            _decide(session, ctx, ref, load, p, now, candidates, placed[:k])
        try:
            _store(session, ctx, ref, placed, now)
        except BaseException:
            discard([f for p in placed for f in p.outcome.written], ctx.instance_path)
            raise
    for k, sub, first in echoes:
        outcomes[k] = _replay(first.sub.fingerprint, first.outcome.status, json.dumps(first.outcome.answer, default=str), sub)
    return outcomes


def report(session: Session, ctx: Context, new: NewReport, actor: Principal | None) -> dict[str, Any]:
    """One report, in the caller's transaction (the CLI, Open311 and tests call this; requests queue)."""
    out = take_in(session, ctx, [Submission(new, actor)])[0]
    ctx.written.extend(out.written)
    return out.result()


# --- the writer -------------------------------------------------------------------


class IntakeQueue:
    """Per process: submissions in, one writer thread storing them in batches, answers out."""

    def __init__(self, db: Database, context: Callable[[], Context], max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.context = context
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Submission, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._conn = None  # the writer's own connection while reports keep coming (PostGIS)

    def submit(self, sub: Submission, timeout: float = 60.0) -> Outcome:
        """Queue a report and wait until it is committed (or refused); its outcome."""
        self._ensure_writer()
        future: Future[Outcome] = Future()
        self._queue.put((sub, future))
        return future.result(timeout)

    def _ensure_writer(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.SimpleQueue() if self._pid != os.getpid() else self._queue
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="gridops-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=WRITER_IDLE_SECONDS)
            except queue.Empty:
                self._release()  # quiet: the connection goes back to the pool
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = self._write([s for s, _ in batch])
            except BaseException as exc:  # never leave a request waiting
                log.exception("intake writer failed")
                outcomes = [Outcome(error=exc) for _ in batch]
            for (_, future), out in zip(batch, outcomes, strict=True):
                future.set_result(out)

    def _write(self, subs: list[Submission]) -> list[Outcome]:
        ctx = self.context()
        try:
            return self._transaction(ctx, subs)
        except Exception:
            if len(subs) == 1:
                return [self._alone(ctx, subs[0])]
            log.info("a batch of %d reports failed; storing them one by one", len(subs), exc_info=True)
            return [self._alone(ctx, s) for s in subs]

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A unit of work on the writer's own connection, kept from batch to batch while reports keep
        coming: checking one out of the pool costs a ping (a round trip) per batch. A connection that
        failed is dropped and the next batch opens a fresh one."""
        if self.db.backend != POSTGIS or self.db.disposed:
            self._release()
            with self.db.session() as session:
                yield session
            return
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._release()
            self._conn = self.db.engine.connect()
        session = Session(bind=self._conn, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            try:
                session.rollback()
            except Exception:  # the connection itself is gone
                pass
            self._release()
            raise
        finally:
            session.close()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a connection the server already dropped
                log.debug("closing the intake writer's connection failed", exc_info=True)

    def _transaction(self, ctx: Context, subs: list[Submission]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            with self._session() as session:
                outcomes = take_in(session, ctx, subs)
        except BaseException:
            discard([p for o in outcomes for p in o.written], ctx.instance_path)
            raise
        for o in outcomes:
            if o.error is not None or o.replayed:
                discard(o.written, ctx.instance_path)
        return outcomes

    def _alone(self, ctx: Context, sub: Submission) -> Outcome:
        try:
            return self._transaction(ctx, [sub])[0]
        except IntegrityError as exc:
            lost_race = exc
        except Exception as exc:  # the request answers 500 and the error is logged; the others go on
            return Outcome(error=exc)
        # another process stored this key first: its answer is ours
        if sub.key is not None:
            with self.db.session() as session:
                r = session.get(IdempotencyRecord, sub.key)
                if r is not None:
                    return _replay(r.request_hash, r.status_code, r.response_body, sub)
        return Outcome(error=lost_race)

"""Storing a decided batch: the incidents, then everything that hangs from them — first events,
merges, followers, tasks, notifications, photos, idempotency records — in few statements
(one multi-table statement on PostGIS, gridops.core.bulk), and each report's answer."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from gridops.geo.hexes import cell_of

from gridops.access.policy import OWN
from gridops.core.bulk import insert_rows, insert_tables
from gridops.core.models import (
    Attachment,
    Base,
    Department,
    IdempotencyRecord,
    Incident,
    IncidentEvent,
    IncidentFollower,
    Notification,
    Task,
)
from gridops.incidents.context import Context
from gridops.incidents.events import actor_label
from gridops.incidents.intake.decide import Placed
from gridops.incidents.news import GROUND_LEVELS, fields, follow_token
from gridops.incidents.photos import store as store_photo
from gridops.messages.kinds import DEFAULT_LANG, KINDS, builtin
from gridops.messages.templates import render
from gridops.reference.data import Reference


def _local_day(t: datetime, tz: str) -> date:
    return t.astimezone(ZoneInfo(tz)).date()


def _incident_row(p: Placed, now: datetime, tz: str) -> dict[str, Any]:
    new, original = p.sub.new, p.answer["original"]
    merged = p.merged
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
        "accept_due_at": None if merged else p.accept_due, "limit_minutes": p.category.time_limit_minutes,
        "verify_limit_minutes": p.category.verify_limit_minutes, "limit_working": p.category.working_time,
        "token": p.token, "reporter_user_id": p.reporter_user_id,
        "warn_at": None if merged else p.warn_at, "warned_pct": 0,
        "assignee_id": p.chosen.worker_id, "routing_reason": _reason(p), "department_code": p.chosen.department_code,
        "tier": p.chosen.tier, "h3_cell": cell_of(p.lon, p.lat), "merged_into_id": p.merged_into,
    }


def _reason(p: Placed) -> str:
    if p.target_new is not None:  # its id is known only once it is stored
        return f"duplicate of incident {p.target_new.incident_id} ({p.merge_distance_m:.0f} m away)"
    return p.chosen.reason


def _candidates(p: Placed, now: datetime) -> list[dict[str, Any]]:
    found = list(p.dupes)
    if p.target_new is not None:
        assert p.merge_distance_m is not None  # decided together with target_new
        found.insert(0, {"id": p.target_new.incident_id, "distance_m": round(p.merge_distance_m, 1), "reported_at": now.isoformat()})
    return found


def _answer(p: Placed, ref: Reference, now: datetime, photos: list[dict[str, Any]]) -> dict[str, Any]:
    row_target = p.merged_into
    worker = ref.workers.get(p.chosen.worker_id) if p.chosen.worker_id is not None else None
    return {
        "id": p.incident_id,
        "status": "merged" if row_target is not None else "reported",
        "token": p.token,
        "category": {"code": p.category.code, "name": p.category.name, "urgency": p.category.urgency,
                     "time_limit_minutes": p.category.time_limit_minutes, "working_time": p.category.working_time,
                     "accept_limit_minutes": p.category.accept_limit_minutes,
                     "verify_limit_minutes": p.category.verify_limit_minutes},
        "location": p.answer["location"],
        "original": p.answer["original"],
        "location_status": p.answer["status"],
        "distance_m": p.answer["distance_m"],
        "grid": p.answer["grid"],
        "micro_grid": p.answer["micro_grid"],
        "boundary_version": p.answer["boundary_version"],
        "reported_at": now.isoformat(),
        "due_at": p.due.isoformat(),
        "accept_due_at": p.accept_due.isoformat() if p.accept_due and row_target is None else None,
        "assignee": {"code": worker.code, "name": worker.name, "role": worker.role} if worker else None,
        "department": p.chosen.department_code,
        "tier": p.chosen.tier,
        "routing_reason": _reason(p),
        "merged_into": row_target,
        "duplicates": _candidates(p, now),
        "photos": photos,
    }


def _news(session: Session, ctx: Context, ref: Reference, routed: list[Placed], now: datetime) -> list[dict[str, Any]]:
    """The new tasks' messages, as the steps write them (gridops.incidents.news), from what the batch holds: its worker
    is told of a new task; a department's order goes to every one of its staff."""
    departments = ({code: name for code, name in session.execute(select(Department.code, Department.name))}
                   if any(p.chosen.department_code for p in routed) else {})
    rows = []
    for p in routed:
        dept = p.chosen.department_code
        assert p.incident_id is not None  # stored above
        building = p.answer.get("building") or {}
        data = fields(incident=p.incident_id, category=p.category.name, category_en=p.category.name_en,
                      address=p.sub.new.address or building.get("address"), grid=(p.answer.get("grid") or {}).get("name", ""),
                      ground=[p.codes[level] for level in GROUND_LEVELS if level in p.codes], due=p.due, tz=ctx.timezone,
                      department=departments.get(dept, dept) if dept else None, reason=p.chosen.reason)
        kind = "department_order" if dept and p.chosen.tier == "district" else "assigned"
        told = [p.chosen.worker_id]
        if kind == "department_order":
            told += [w for w in ref.staff("department_staff", dept) if w != p.chosen.worker_id]
        message = render(builtin(kind, DEFAULT_LANG), data)
        rows += [{"worker_id": wid, "incident_id": p.incident_id, "kind": kind, "message": message, "data": data,
                  "urgent": KINDS[kind].urgent, "created_at": now} for wid in told]
    return rows


def _table(model: type[Base]) -> Table:
    """A model's table: each model names a __tablename__, so it is a Table (the stubs allow any FromClause)."""
    return cast(Table, model.__table__)


def _insert_returning_ids(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> list[int]:
    return insert_rows(session, _table(model), rows, ids=True)


def store(session: Session, ctx: Context, ref: Reference, placed: list[Placed], now: datetime) -> None:
    """Every decided report, in few statements: the incidents (reports merging into an earlier one of
    the batch go in a second round, once that one has its id), then everything that hangs from
    them — first events, merges, followers, tasks, notifications, photos, idempotency records —
    together (one statement on PostGIS)."""
    for p in placed:
        p.reporter_user_id = p.sub.actor.user_id if p.sub.actor and p.sub.actor.policy.sees == OWN else None
        p.token = follow_token(p.sub.new.token, p.reporter_user_id, p.sub.new.reporter_contact)
    first = [p for p in placed if p.target_new is None]
    second = [p for p in placed if p.target_new is not None]
    for group in (first, second):
        ids = _insert_returning_ids(session, Incident, [_incident_row(p, now, ctx.timezone) for p in group])
        for p, iid in zip(group, ids, strict=True):
            p.incident_id = iid

    events: list[dict[str, Any]] = []
    for p in placed:
        new = p.sub.new
        data: dict[str, Any] = {"channel": new.channel}
        if new.accuracy_m is not None:
            data["accuracy_m"] = round(new.accuracy_m, 1)  # how sure the phone was of where it was
        events.append({"incident_id": p.incident_id, "seq": 1, "at": now, "device_at": new.device_at, "action": "report",
                       "from_status": None, "to_status": "reported", "actor_id": p.sub.actor.worker_id if p.sub.actor else None,
                       "actor_label": actor_label(p.sub.actor), "note": new.description, "data": data,
                       "location": p.geom})
    if any(p.sub.new.photos for p in placed):  # the photos name their event: its id is needed first
        for p, eid in zip(placed, _insert_returning_ids(session, IncidentEvent, events), strict=True):
            p.event_id = eid
        events = []
    merges = [p for p in placed if p.merged]
    target_of = {id(p): p.merged_into for p in merges}
    events += [
        {"incident_id": p.incident_id, "seq": 2, "at": now, "device_at": None,
         "action": "merge", "from_status": "reported", "to_status": "merged",
         "actor_id": None, "actor_label": actor_label(None), "note": _reason(p),
         "data": {"into": target_of[id(p)], "candidates": _candidates(p, now)}, "location": None} for p in merges
    ]
    followers = [{"incident_id": target_of[id(p)], "name": p.sub.new.reporter_name, "contact": p.sub.new.reporter_contact,
                  "source_incident_id": p.incident_id, "added_at": now} for p in merges]

    routed = [p for p in placed if not p.merged and p.chosen.worker_id is not None]
    tasks = [{"kind": "incident", "title": f"{p.category.name}: {p.sub.new.description or ''}"[:256], "status": "open",
              "incident_id": p.incident_id, "worker_id": p.chosen.worker_id, "area_code": p.codes["grid"],
              "location": p.geom, "due_at": p.due, "created_at": now} for p in routed]
    notifications = _news(session, ctx, ref, routed, now)

    attachments = []
    for p in placed:
        assert p.outcome is not None  # take() gives each placed report its outcome before storing
        photos = []
        for photo in p.sub.new.photos:
            path, wrote = store_photo(photo, ctx.instance_path)
            if wrote:
                p.outcome.written.append(path)
            attachments.append({"incident_id": p.incident_id, "event_id": p.event_id, "sha256": photo.sha256,
                                "content_type": photo.content_type, "size_bytes": photo.size, "path": path, "created_at": now})
            photos.append({"sha256": photo.sha256, "content_type": photo.content_type, "size": photo.size})
        p.outcome.answer = _answer(p, ref, now, photos)

    # the keyed reports' answers, to replay (`is not None` filters nothing: every placed report has its outcome, asserted above)
    outcomes = [(p, p.outcome) for p in placed if p.sub.key is not None and p.outcome is not None]
    keys = [{"key": p.sub.key, "method": p.sub.method, "path": p.sub.path, "request_hash": p.sub.fingerprint,
             "status_code": outcome.status, "response_body": json.dumps(outcome.answer, ensure_ascii=False, default=str),
             "created_at": now} for p, outcome in outcomes]
    insert_tables(session, [(_table(IncidentEvent), events), (_table(IncidentFollower), followers), (_table(Task), tasks),
                            (_table(Notification), notifications), (_table(Attachment), attachments),
                            (_table(IdempotencyRecord), keys)])

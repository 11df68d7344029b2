"""Patrol visits (走访): people who need regular visits, and the visit tasks their workers get.

A register lists who needs visiting — an elderly person living alone, a
left-behind child, a disabled resident — at which door, how often. The
scheduler turns each register whose next visit falls within the horizon into
one task for the grid worker who answers for that door's grid (the backup when
there is no primary); a register never has two open visits at once, so running
it again (every sweep does) changes nothing. Someone newly registered is visited
soon — their first visit is due within FIRST_VISIT_DAYS, not a whole interval
later. A visit not recorded by the end of its day is overdue like any task: the sweeper tells the worker. Recording a
visit closes the task, with the worker's note and position, and sets the date
the next one is counted from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.access.masking import mask_id_number, mask_phone
from gridops.access.policy import KEEP_REGISTERS, READ_REGISTERS, SEE_ID_NUMBERS, Forbidden, Principal, role, role_term
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound, TooFar
from gridops.core.models import Building, Household, Notification, PatrolRegister, Task, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.idempotency import Once, answered, remember
from gridops.incidents.loop import TASK_ACTIVE
from gridops.incidents.news import when
from gridops.messages.outbox import enqueue
from gridops.reference.data import Reference

# kinds of people visited, with their name and the default interval in days
KINDS: dict[str, tuple[str, int]] = {
    "elderly_alone": ("独居老人", 7),
    "left_behind_child": ("留守儿童", 14),
    "disabled": ("残疾人", 14),
    "special_care": ("特殊关爱对象", 30),
    "low_income": ("低保户", 30),
    "key_person": ("重点人员", 14),
}
DAY_START, DAY_END = time(9, 0), time(23, 59)
FIRST_VISIT_DAYS = 3  # a new register's first visit: from the day it is made, due by the end of the third


def next_visit_from(reg: PatrolRegister, tz: ZoneInfo) -> datetime:
    """When the next visit may be made: at once for someone just registered, else one interval after the last;
    after a pause, not before the city's day after it."""
    due = reg.created_at if reg.last_visit_at is None else reg.last_visit_at + timedelta(days=reg.interval_days)
    if reg.paused_until is not None:
        back = datetime.combine(reg.paused_until + timedelta(days=1), time(0, 0), tz)
        due = max(due, back)
    return due


def _visit_days(reg: PatrolRegister) -> int:
    """How many days a visit has: a first visit (or the first after a pause) a few (the interval, when it is
    shorter), any other its day."""
    first = reg.last_visit_at is None or reg.paused_until is not None
    return min(FIRST_VISIT_DAYS, reg.interval_days) if first else 1


@dataclass(frozen=True)
class Scheduled:
    created: list[int]
    unassigned: list[int]  # registers whose grid has no worker to send


def schedule_visits(session: Session, ctx: Context, now: datetime | None = None, horizon_days: float = 1.0,
                    only: list[int] | None = None) -> Scheduled:
    """A visit task for every active register (or those `only`) whose next visit is due within the horizon and that
    has none open."""
    now = now or clock.now()
    tz = ZoneInfo(ctx.timezone)
    busy = set(session.scalars(select(Task.patrol_id).where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE),
                                                            Task.patrol_id.is_not(None))))
    ref = ctx.references.current(session)
    created, unassigned = [], []
    for reg, b_code, b_loc, b_address in session.execute(
        select(PatrolRegister, Building.code, Building.location, Building.address)
        .join(Building, Building.id == PatrolRegister.building_id)
        .where(PatrolRegister.active.is_(True), *([PatrolRegister.id.in_(only)] if only is not None else []))
        .order_by(PatrolRegister.id)
    ):
        if reg.id in busy:
            continue
        due_from = next_visit_from(reg, tz)
        if due_from > now + timedelta(days=horizon_days):
            continue
        day = max(due_from, now).astimezone(tz).date()
        last_day = day + timedelta(days=_visit_days(reg) - 1)
        point = to_point(b_loc)
        grid = _grid_at(session, ctx, point.x, point.y)
        worker = _visitor(ref, ctx, grid, now)
        if worker is None:
            unassigned.append(reg.id)
            continue
        scheduled = datetime.combine(day, DAY_START, tz)
        title = f"走访{KINDS.get(reg.kind, (reg.kind,))[0]} {reg.person or b_code}"
        task = Task(kind="patrol", title=title[:256], status="open", worker_id=worker, area_code=grid,
                    building_id=reg.building_id, household_id=reg.household_id, location=b_loc,
                    scheduled_for=scheduled.astimezone(now.tzinfo), due_at=datetime.combine(last_day, DAY_END, tz).astimezone(now.tzinfo),
                    created_at=now, patrol_id=reg.id)
        session.add(task)
        session.flush()
        created.append(task.id)
        enqueue(session, "visit_due", at=now, worker_id=worker, data=visit_fields(task, reg, b_address or b_code, ctx.timezone))
    return Scheduled(created, unassigned)


def visit_fields(task: Task, reg: PatrolRegister, address: str, tz: str) -> dict[str, Any]:
    """What a visit's message says: who is visited (the register's kind, in Chinese), where, by when."""
    return {"task": task.id, "register": KINDS.get(reg.kind, (reg.kind,))[0], "register_code": reg.kind, "person": reg.person or "",
            "address": address, **when(task.due_at, tz), "ground": [task.area_code] if task.area_code else []}


def tell_overdue_visits(session: Session, ctx: Context, now: datetime) -> list[int]:
    """Each visit not recorded by its end told to its worker, once (the messages of past sweeps name their task)."""
    overdue = list(session.execute(
        select(Task, PatrolRegister, Building.address, Building.code)
        .join(PatrolRegister, PatrolRegister.id == Task.patrol_id).join(Building, Building.id == PatrolRegister.building_id)
        .where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE), Task.due_at < now)))
    if not overdue:
        return []
    since = min(t.due_at for t, _, _, _ in overdue if t.due_at is not None)
    told = {(n.worker_id, (n.data or {}).get("task")) for n in session.scalars(
        select(Notification).where(Notification.kind == "visit_overdue", Notification.created_at >= since))}
    done = []
    for task, reg, address, code in overdue:
        if (task.worker_id, task.id) not in told:
            enqueue(session, "visit_overdue", at=now, worker_id=task.worker_id, data=visit_fields(task, reg, address or code, ctx.timezone))
            done.append(task.id)
    return done


def record_visit(session: Session, ctx: Context, task_id: int, principal: Principal, *, note: str | None,
                 lon: float | None, lat: float | None, away_reason: str | None = None, device_at: datetime | None = None,
                 once: Once | None = None) -> dict[str, Any]:
    """The worker was there: the task is done, the register counts its next visit from now.

    A visit proves itself by the worker's position at the door (within the check-in radius). One
    made otherwise (a phone call, the person in hospital) says why, and the measures count it apart."""
    device_at = clock.device_time(device_at)
    task = session.get(Task, task_id, with_for_update=True)
    again = answered(session, once)
    if again is not None:
        return dict(again)
    if task is None or task.kind != "patrol" or not (task.worker_id == principal.worker_id or principal.is_staff
                                                      or (principal.can(KEEP_REGISTERS) and principal.covers(task.area_code))):
        raise NotFound(Say("no patrol visit %(task_id)s that is yours.", task_id=task_id))
    if task.status not in TASK_ACTIVE:
        raise Conflict(Say("visit %(task_id)s is %(status)s; only an open visit can be recorded.",
                           task_id=task_id, status=task.status), status_now=task.status)
    if not (note or "").strip():
        raise InvalidParameter("note", Say("say how the visit went (a note), e.g. 身体状况良好."))
    assert note is not None  # refused just above
    if (lon is None) != (lat is None):
        raise InvalidParameter("lat" if lat is None else "lon", Say("send both lon and lat, or neither."))
    away_reason = (away_reason or "").strip() or None
    if lon is None and away_reason is None:
        raise InvalidParameter("lon", Say("a visit is recorded at the door: send your position (lon, lat), or `away_reason` "
                                      "saying why it was not made there (电话回访, 住院探视 …)."))
    now = clock.now()
    distance = None
    if lon is not None and lat is not None:  # both or neither (refused above)
        here = to_point(task.location) if task.location is not None else None
        distance = round(float(distances_m(lon, lat, here.x, here.y)[0]), 1) if here is not None else None
        if distance is not None and distance > ctx.checkin_max_m and away_reason is None:
            raise TooFar(Say("you are %(distance)s m from the door of visit %(task_id)s; record it within %(checkin_max_m)s "
                             "m, or give `away_reason`.",
                             distance=format(distance, ",.0f"), task_id=task_id, checkin_max_m=format(ctx.checkin_max_m, "g")),
                                 distance_m=distance)
        if principal.worker_id is not None:
            worker = session.get(Worker, principal.worker_id)
            assert worker is not None  # a user's worker_id is a foreign key to the worker
            worker.last_position, worker.last_seen_at = from_shape(Point(lon, lat), srid=STORAGE_SRID), now
    task.status, task.completed_at, task.away_reason, task.device_at = "done", now, away_reason, device_at
    task.note = note.strip() + (f" (recorded {distance:,.0f} m from the door)" if distance is not None else "")
    register = session.get(PatrolRegister, task.patrol_id) if task.patrol_id else None
    if register is not None:
        register.last_visit_at = now
        register.paused_until = None  # the first visit after a pause is made: the interval counts again
    session.flush()
    next_at = (now + timedelta(days=register.interval_days)).isoformat() if register is not None else None
    answer = {"id": task.id, "status": task.status, "completed_at": now.isoformat(),
              "device_at": device_at.isoformat() if device_at else None, "distance_m": distance,
              "note": task.note, "away_reason": away_reason, "next_visit_from": next_at}
    remember(session, once, 200, answer, now)
    return answer


def registers(session: Session, ctx: Context, principal: Principal | None, area: str | None = None) -> list[dict[str, Any]]:
    """The registers of the ground this user answers for (staff and the command line: all, or `area`)."""
    if principal is not None and not principal.can(READ_REGISTERS):
        raise Forbidden(Say("a %(role)s does not keep patrol registers.", role=role_term(principal.role)))
    visits = {pid: (tid, due) for pid, tid, due in session.execute(
        select(Task.patrol_id, Task.id, Task.due_at)
        .where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE), Task.patrol_id.is_not(None)))}
    out = []
    for reg, b_code, address, location, h_code in session.execute(
        select(PatrolRegister, Building.code, Building.address, Building.location, Household.code)
        .join(Building, Building.id == PatrolRegister.building_id)
        .outerjoin(Household, Household.id == PatrolRegister.household_id)
        .where(PatrolRegister.active.is_(True)).order_by(PatrolRegister.id)
    ):
        point = to_point(location)
        grid = _grid_at(session, ctx, point.x, point.y)
        mine = principal is None or principal.is_staff or principal.covers(grid)
        if mine and (area is None or (grid or "").startswith(area)):
            out.append(_shown(reg, principal, b_code, address, h_code, grid, visits.get(reg.id), ZoneInfo(ctx.timezone)))
    return out


def view(session: Session, ctx: Context, reg: PatrolRegister, principal: Principal | None) -> dict[str, Any]:
    building = session.get(Building, reg.building_id)
    assert building is not None  # reg.building_id is a NOT NULL foreign key
    household = session.get(Household, reg.household_id) if reg.household_id else None
    point = to_point(building.location)
    visit = session.execute(select(Task.id, Task.due_at).where(Task.patrol_id == reg.id, Task.status.in_(TASK_ACTIVE)).limit(1)).first()
    return _shown(reg, principal, building.code, building.address, household.code if household else None,
                  _grid_at(session, ctx, point.x, point.y), (visit[0], visit[1]) if visit else None, ZoneInfo(ctx.timezone))


def _shown(reg: PatrolRegister, principal: Principal | None, building: str, address: str | None, household: str | None,
           grid: str | None, visit: tuple[int, datetime | None] | None, tz: ZoneInfo) -> dict[str, Any]:
    """A register as this user may see it: phone numbers and ID numbers masked unless their work needs them."""
    shown_to = principal.policy if principal else role("admin")  # the CLI: the office itself
    return {
        "id": reg.id, "kind": reg.kind, "kind_name": KINDS.get(reg.kind, (reg.kind,))[0], "person": reg.person,
        "phone": reg.phone if shown_to.can(READ_REGISTERS) else mask_phone(reg.phone),
        "id_number": reg.id_number if shown_to.can(SEE_ID_NUMBERS) else mask_id_number(reg.id_number),
        "household": household, "building": building, "address": address, "grid": grid, "interval_days": reg.interval_days,
        "last_visit_at": reg.last_visit_at.isoformat() if reg.last_visit_at else None,
        "next_visit_from": next_visit_from(reg, tz).isoformat(), "active": bool(reg.active),
        "paused_until": reg.paused_until.isoformat() if reg.paused_until else None,
        "open_visit": {"task": visit[0], "due_at": visit[1].isoformat() if visit[1] else None} if visit else None,
    }


def grid_of(session: Session, ctx: Context, building_id: int) -> str | None:
    """The grid a building's door is in today."""
    location = session.scalar(select(Building.location).where(Building.id == building_id))
    assert location is not None  # the callers found the building
    point = to_point(location)
    return _grid_at(session, ctx, point.x, point.y)


def _grid_at(session: Session, ctx: Context, lon: float, lat: float) -> str | None:
    """The grid a door is in today (boundaries change: a register keeps its door, not its grid)."""
    index = ctx.geocoder.versions(None, session)[ctx.geocoder.primary_layer].index
    areas, _, _ = index.locate_one(lon, lat)
    col = index.levels.index("grid")
    return index.codes[areas[col]] if areas[col] >= 0 else None


def _visitor(ref: Reference, ctx: Context, grid: str | None, now: datetime) -> int | None:
    if grid is None:
        return None
    layer = ctx.geocoder.primary_layer
    for duties in (("primary",), ("backup",), ("leader",)):
        found = ref.assigned(layer, [grid], duties, now)
        if found:
            return found[0]
    return None

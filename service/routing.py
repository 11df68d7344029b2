"""Who answers for it (分格发令，部门执行): the person a report goes to, and why.

A grid-team report goes to the grid's own worker on shift; else its backup on
shift; else its grid leader on shift; else the nearest worker of the community
who is on shift (along the streets where the network is loaded); among equals,
the one with the least open work. A department's report goes to that
department's staff on shift. With nobody on shift it still goes to the person
who answers for the ground, and the reason says they are off shift. Every
decision carries its reason, so staff can see why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.crs import local_projection
from geo.network import StreetNetwork

from .models import Assignment, CalendarDay, Category, Incident, Layer, Shift, Worker

# statuses in which an incident is someone's open work
OPEN = ("reported", "accepted", "assessed", "dispatched", "in_progress", "resolved", "returned", "verified", "escalated")
# the escalation ladder ("小事不出网格、大事不出社区、矛盾不上交")
LADDER = ("grid", "grid_leader", "community", "street", "district")


@dataclass(frozen=True)
class Route:
    worker_id: int | None
    reason: str
    tier: str
    department_code: str | None = None


@dataclass(frozen=True)
class Ground:
    """The areas a report lies in: its grid and the codes above it."""

    grid: str
    community: str | None
    street: str | None


def ground_of(grid_code: str, ancestors: dict[str, str]) -> Ground:
    return Ground(grid_code, ancestors.get("community"), ancestors.get("street"))


# --- shifts -------------------------------------------------------------------


def _day_kinds(session: Session, days: Iterable[date]) -> dict[date, str]:
    rows = session.execute(select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day.in_(list(days)))).all()
    return dict(rows)


def on_shift(session: Session, worker_ids: list[int], at: datetime, tz: str) -> set[int]:
    """Which of these workers are on duty at `at` (local shifts; public holidays are worked as Sundays,
    make-up workdays 调休 as Mondays; a shift ending before it starts runs past midnight)."""
    if not worker_ids:
        return set()
    local = at.astimezone(ZoneInfo(tz))
    today, yesterday = local.date(), local.date() - timedelta(days=1)
    kinds = _day_kinds(session, [today, yesterday])

    def weekday(d: date) -> int:
        kind = kinds.get(d)
        return 6 if kind == "holiday" else 0 if kind == "workday" else d.weekday()

    now = local.time()
    shifts = session.execute(
        select(Shift.worker_id, Shift.weekday, Shift.start_time, Shift.end_time).where(Shift.worker_id.in_(worker_ids))
    ).all()
    on = set()
    for wid, wd, start, end in shifts:
        if end > start:
            if wd == weekday(today) and start <= now < end:
                on.add(wid)
        else:  # overnight: from start today, or until end this morning (yesterday's shift)
            if (wd == weekday(today) and now >= start) or (wd == weekday(yesterday) and now < end):
                on.add(wid)
    return on


def open_work(session: Session, worker_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Incident.assignee_id, func.count(Incident.id))
        .where(Incident.assignee_id.in_(worker_ids), Incident.status.in_(OPEN))
        .group_by(Incident.assignee_id)
    ).all()
    counts = dict.fromkeys(worker_ids, 0)
    counts.update({wid: n for wid, n in rows})
    return counts


# --- choosing ----------------------------------------------------------------


def _assigned(session: Session, layer: str, codes: list[str], duties: tuple[str, ...], at: datetime) -> list[int]:
    rows = session.scalars(
        select(Assignment.worker_id)
        .join(Layer, Layer.id == Assignment.layer_id)
        .join(Worker, Worker.id == Assignment.worker_id)
        .where(
            Layer.code == layer, Assignment.area_code.in_(codes), Assignment.duty.in_(duties),
            Assignment.valid_from <= at, (Assignment.valid_to.is_(None)) | (Assignment.valid_to > at), Worker.active.is_(True),
        )
    )
    return list(dict.fromkeys(rows))


def _least_loaded(session: Session, candidates: list[int]) -> int:
    load = open_work(session, candidates)
    return min(candidates, key=lambda w: (load[w], w))


def route(
    session: Session,
    category: Category,
    ground: Ground,
    at: datetime,
    *,
    tz: str,
    lon: float,
    lat: float,
    layer: str = "grid",
    tier: str = "grid",
    exclude: Iterable[int] = (),
    network: StreetNetwork | None = None,
) -> Route:
    """The person for a report at `tier` of the ladder, and the reason."""
    exclude = set(exclude)

    def pick(ids: list[int], reason: str, require_shift: bool = True) -> Route | None:
        ids = [w for w in ids if w not in exclude]
        if require_shift:
            ids = sorted(on_shift(session, ids, at, tz))
        if not ids:
            return None
        return Route(_least_loaded(session, ids), reason, tier)

    if category.handler == "department" or tier == "district":
        dept = category.department_code
        staff = list(session.scalars(
            select(Worker.id).where(Worker.active.is_(True), Worker.role == "department_staff", Worker.department_code == dept)
        )) if dept else []
        if staff:
            found = pick(staff, f"department {dept}: staff on shift") or pick(staff, f"department {dept}: nobody on shift, least loaded", False)
            if found:
                return Route(found.worker_id, found.reason, "district", dept)
        supervisors = list(session.scalars(select(Worker.id).where(Worker.active.is_(True), Worker.role == "supervisor")))
        found = pick(supervisors, "district: command centre on shift") or pick(supervisors, "district: command centre", False)
        return Route(found.worker_id if found else None, found.reason if found else "nobody to take it at the district", "district", dept)

    if tier == "grid":
        primary = _assigned(session, layer, [ground.grid], ("primary",), at)
        backup = _assigned(session, layer, [ground.grid], ("backup",), at)

        def why(passed: list[int]) -> str:  # why the people tried first were passed over
            return "declined" if passed and all(w in exclude for w in passed) else "off shift"

        for ids, reason in (
            (primary, "grid worker on shift"),
            (backup, f"backup: primary {why(primary)}"),
            (_assigned(session, layer, [ground.grid], ("leader",), at), f"grid leader: grid workers {why(primary + backup)}"),
        ):
            found = pick(ids, reason)
            if found:
                return found
        nearest = _nearest_in_community(session, layer, ground, at, tz, lon, lat, exclude, network)
        if nearest:
            return nearest
        found = pick(primary, "nobody on shift: the grid's own worker", False)
        return found or Route(None, "nobody answers for this grid", tier)

    codes = {"grid_leader": [ground.grid], "community": [ground.community], "street": [ground.street]}[tier]
    duties = ("leader",) if tier == "grid_leader" else ("primary",)
    ids = _assigned(session, layer, [c for c in codes if c], duties, at)
    label = {"grid_leader": "grid leader", "community": "community staff", "street": "street staff"}[tier]
    found = pick(ids, f"escalated to the {label} on shift") or pick(ids, f"escalated to the {label} (off shift)", False)
    return found or Route(None, f"nobody answers at the {tier} tier", tier)


def _nearest_in_community(
    session: Session, layer: str, ground: Ground, at: datetime, tz: str, lon: float, lat: float,
    exclude: set[int], network: StreetNetwork | None,
) -> Route | None:
    if not ground.community:
        return None
    ids = session.scalars(
        select(Assignment.worker_id).join(Layer, Layer.id == Assignment.layer_id)
        .where(Layer.code == layer, Assignment.area_code.startswith(ground.community), Assignment.valid_to.is_(None))
    )
    candidates = sorted(on_shift(session, [w for w in set(ids) if w not in exclude], at, tz))
    rows = session.execute(select(Worker.id, Worker.last_position).where(Worker.id.in_(candidates), Worker.last_position.is_not(None))).all()
    if not rows:
        return None
    places = [(p.x, p.y) for p in (to_shape(pos) for _, pos in rows)]
    if network is not None:
        dist = network.distances_from(lon, lat, places)
        how = "along the streets"
    else:
        proj = local_projection((lon, lat, lon, lat))
        x0, y0 = proj.xy_to_metric(np.array([lon]), np.array([lat]))
        xs, ys = proj.xy_to_metric(np.array([p[0] for p in places]), np.array([p[1] for p in places]))
        dist = list(np.hypot(xs - x0[0], ys - y0[0]))
        how = "straight"
    load = open_work(session, [wid for wid, _ in rows])
    best = min(range(len(rows)), key=lambda k: (round(dist[k]), load[rows[k][0]], rows[k][0]))
    if dist[best] == float("inf"):
        return None
    return Route(rows[best][0], f"nearest on shift in the community: {dist[best]:,.0f} m {how}", "grid")

"""What routing reads on every report, held in memory: categories, the holiday
calendar, workers, assignments, shifts and the street network.

A report used to cost a dozen queries for data that changes a few times a day.
Now each process keeps one immutable `Reference` and checks a single row, the
reference stamp, which database triggers change whenever any of that data
changes (migration 0004) — so a planner's new assignment or a changed shift is
seen by the very next report in every process, and the cost of a report is one
small query for all of it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.network import StreetNetwork

from gridops.core.models import Assignment, CalendarDay, Category, Layer, Road, Shift, Worker
from gridops.core.stamps import read_stamp
from gridops.reference.calendar import WorkCalendar


@dataclass(frozen=True)
class CategoryRef:
    """An incident category as routing and deadlines need it (a detached copy of the row)."""

    code: str
    name: str
    name_en: str
    group_code: str | None
    urgency: str
    time_limit_minutes: int
    working_time: bool
    handler: str
    department_code: str | None
    dedupe_radius_m: float | None
    dedupe_window_hours: float | None
    active: bool


@dataclass(frozen=True)
class WorkerRef:
    id: int
    code: str
    name: str
    role: str
    department_code: str | None
    active: bool


@dataclass(frozen=True)
class AssignmentRef:
    id: int
    worker_id: int
    layer: str
    area_code: str
    duty: str
    valid_from: datetime
    valid_to: datetime | None

    def valid(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or self.valid_to > at)


@dataclass(frozen=True)
class Reference:
    stamp: int
    categories: dict[str, CategoryRef]
    day_kinds: dict[date, str]  # holiday, workday (调休)
    workers: dict[int, WorkerRef]
    assignments: tuple[AssignmentRef, ...]
    shifts: dict[int, tuple[tuple[int, time, time], ...]]  # worker -> (weekday, start, end)
    network: StreetNetwork | None
    roads: tuple[int, int]  # (count, max id): whether the network must be rebuilt
    _calendars: dict[str, WorkCalendar] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _by_area(self) -> dict[tuple[str, str], tuple[AssignmentRef, ...]]:
        grouped: dict[tuple[str, str], list[AssignmentRef]] = defaultdict(list)
        for a in self.assignments:
            grouped[(a.layer, a.area_code)].append(a)
        return {k: tuple(v) for k, v in grouped.items()}

    def category(self, code: str | None) -> CategoryRef | None:
        return self.categories.get(code) if code else None

    def calendar(self, tz: str) -> WorkCalendar:
        found = self._calendars.get(tz)
        if found is None:
            found = self._calendars[tz] = WorkCalendar.from_days(tz, self.day_kinds.items())
        return found

    def _active(self, worker_id: int) -> bool:
        w = self.workers.get(worker_id)
        return w is not None and w.active

    def assigned(self, layer: str, codes: list[str], duties: tuple[str, ...], at: datetime) -> list[int]:
        """Active workers with one of `duties` on one of these areas at `at`, in assignment order."""
        found = [
            a for code in codes for a in self._by_area.get((layer, code), ())
            if a.duty in duties and a.valid(at) and self._active(a.worker_id)
        ]
        return list(dict.fromkeys(a.worker_id for a in sorted(found, key=lambda a: a.id)))

    def assigned_under(self, layer: str, prefix: str, at: datetime) -> list[int]:
        """Active workers assigned to any area whose code starts with `prefix` (a community's grids)."""
        found = [a for a in self.assignments if a.layer == layer and a.area_code.startswith(prefix) and a.valid(at)
                 and self._active(a.worker_id)]
        return list(dict.fromkeys(a.worker_id for a in sorted(found, key=lambda a: a.id)))

    def staff(self, role: str, department: str | None = None) -> list[int]:
        return sorted(w.id for w in self.workers.values()
                      if w.active and w.role == role and (department is None or w.department_code == department))

    def weekday(self, day: date) -> int:
        """The weekday a day is worked as: public holidays as Sundays, make-up days 调休 as Mondays."""
        kind = self.day_kinds.get(day)
        return 6 if kind == "holiday" else 0 if kind == "workday" else day.weekday()

    def on_shift(self, worker_ids: list[int], at: datetime, tz: str) -> set[int]:
        """Which of these workers are on duty at `at` (a shift ending before it starts runs past midnight)."""
        local = at.astimezone(ZoneInfo(tz))
        today, yesterday = local.date(), local.date() - timedelta(days=1)
        wd_today, wd_yesterday, now = self.weekday(today), self.weekday(yesterday), local.time()
        on = set()
        for wid in worker_ids:
            for wd, start, end in self.shifts.get(wid, ()):
                if end > start:
                    if wd == wd_today and start <= now < end:
                        on.add(wid)
                elif (wd == wd_today and now >= start) or (wd == wd_yesterday and now < end):
                    on.add(wid)
        return on


def _network(session: Session, previous: Reference | None) -> tuple[StreetNetwork | None, tuple[int, int]]:
    count, top = session.execute(select(func.count(Road.id), func.max(Road.id))).one()
    roads = (int(count or 0), int(top or 0))
    if previous is not None and previous.roads == roads:
        return previous.network, roads
    rows = session.scalars(select(Road.geom.ST_AsBinary())).all()
    network = StreetNetwork.from_lines(list(shapely.from_wkb([bytes(r) for r in rows]))) if rows else None
    return network, roads


def load_reference(session: Session, stamp: int, previous: Reference | None = None) -> Reference:
    categories = {
        c.code: CategoryRef(c.code, c.name, c.name_en, c.group_code, c.urgency, c.time_limit_minutes, bool(c.working_time),
                            c.handler, c.department_code, c.dedupe_radius_m, c.dedupe_window_hours, bool(c.active))
        for c in session.scalars(select(Category))
    }
    workers = {
        r.id: WorkerRef(r.id, r.code, r.name, r.role, r.department_code, bool(r.active))
        for r in session.execute(select(Worker.id, Worker.code, Worker.name, Worker.role, Worker.department_code, Worker.active))
    }
    assignments = tuple(
        AssignmentRef(*row) for row in session.execute(
            select(Assignment.id, Assignment.worker_id, Layer.code, Assignment.area_code, Assignment.duty,
                   Assignment.valid_from, Assignment.valid_to)
            .join(Layer, Layer.id == Assignment.layer_id).order_by(Assignment.id)
        )
    )
    shifts: dict[int, list[tuple[int, time, time]]] = defaultdict(list)
    for wid, wd, start, end in session.execute(select(Shift.worker_id, Shift.weekday, Shift.start_time, Shift.end_time)):
        shifts[wid].append((wd, start, end))
    network, roads = _network(session, previous)
    return Reference(
        stamp=stamp,
        categories=categories,
        day_kinds=dict(session.execute(select(CalendarDay.day, CalendarDay.kind)).all()),
        workers=workers,
        assignments=assignments,
        shifts={k: tuple(v) for k, v in shifts.items()},
        network=network,
        roads=roads,
    )


class References:
    """One process's copy of the reference data, re-read when the stamp moves."""

    def __init__(self) -> None:
        self._current: Reference | None = None
        self._lock = threading.Lock()

    def current(self, session: Session, stamp: int | None = None) -> Reference:
        """The reference data as this session sees it (one query when nothing has changed;
        none when the caller read the stamp in this transaction)."""
        stamp = read_stamp(session) if stamp is None else stamp
        ref = self._current
        if ref is not None and ref.stamp == stamp:
            return ref
        with self._lock:
            ref = self._current
            if ref is None or ref.stamp != stamp:
                ref = load_reference(session, stamp, ref)
                self._current = ref
        return ref

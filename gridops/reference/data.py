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

from gridops.core import clock
from gridops.core.errors import ConfigError
from gridops.core.models import Assignment, CalendarDay, Category, Department, Layer, Road, RosterDay, Shift, Worker
from gridops.core.stamps import read_stamp
from gridops.reference.calendar import DEFAULT_WINDOWS, BadOfficeHours, Windows, WorkCalendar, parse_windows

DAYS_BACK = 7  # days of rota changes kept in memory before today (a night shift reaches into the next day)


@dataclass(frozen=True)
class CategoryRef:
    """An incident category as routing and deadlines need it (a detached copy of the row)."""

    code: str
    name: str
    name_en: str
    group_code: str | None
    urgency: str
    time_limit_minutes: int  # handle (处置): from the report to its resolution
    working_time: bool  # every stage's limit counts working hours only
    handler: str
    department_code: str | None
    dedupe_radius_m: float | None
    dedupe_window_hours: float | None
    active: bool
    accept_limit_minutes: int | None = None  # accept (受理): from the report; none, no limit of its own
    verify_limit_minutes: int | None = None  # verify (核查): from the resolution


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
    # (worker, day) -> the windows worked that day instead of the week's; () for a day off (leave, a swap)
    roster_days: dict[tuple[int, date], Windows] = field(default_factory=dict)
    department_hours: dict[str, Windows] = field(default_factory=dict)  # departments with office hours of their own
    office_hours: Windows = DEFAULT_WINDOWS  # the city's (GRIDOPS_OFFICE_HOURS)
    _calendars: dict[tuple[str, Windows], WorkCalendar] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _by_area(self) -> dict[tuple[str, str], tuple[AssignmentRef, ...]]:
        grouped: dict[tuple[str, str], list[AssignmentRef]] = defaultdict(list)
        for a in self.assignments:
            grouped[(a.layer, a.area_code)].append(a)
        return {k: tuple(v) for k, v in grouped.items()}

    def category(self, code: str | None) -> CategoryRef | None:
        return self.categories.get(code) if code else None

    def calendar(self, tz: str, windows: Windows | None = None) -> WorkCalendar:
        """Working days and office hours: the city's, or those given (a department's)."""
        key = (tz, windows or self.office_hours)
        found = self._calendars.get(key)
        if found is None:
            found = self._calendars[key] = WorkCalendar.from_days(tz, self.day_kinds.items(), key[1])
        return found

    def due(self, tz: str, category: CategoryRef, start: datetime, minutes: int, working_time: bool | None = None) -> datetime:
        """When a stage's limit of `minutes` from `start` runs out, counted as the category counts it (working
        time in its department's hours, or the clock). `working_time` is the incident's own (as reported),
        where it differs from the category's today."""
        working = category.working_time if working_time is None else working_time
        return self.calendar(tz, self.hours_for(category)).due(start, minutes, working)

    def hours_for(self, category: CategoryRef) -> Windows:
        """The office hours a category's working-time limit counts: its department's own, else the city's."""
        if category.handler == "department" and category.department_code in self.department_hours:
            return self.department_hours[category.department_code]
        return self.office_hours

    def hours_of(self, worker_id: int) -> Windows:
        w = self.workers.get(worker_id)
        dept = w.department_code if w is not None else None
        return self.department_hours.get(dept, self.office_hours) if dept else self.office_hours

    def windows_on(self, worker_id: int, day: date) -> Windows:
        """The windows a worker works on a day: that day's own (none on leave), else their weekly rota's for the
        weekday the day is worked as, else — someone with no rota at all — office hours on working days."""
        own = self.roster_days.get((worker_id, day))
        if own is not None:
            return own
        week = self.shifts.get(worker_id)
        if week is None:
            return self.hours_of(worker_id) if self.is_workday(day) else ()
        wd = self.weekday(day)
        return tuple((start, end) for d, start, end in week if d == wd)

    def is_workday(self, day: date) -> bool:
        kind = self.day_kinds.get(day)
        return kind == "workday" or (kind != "holiday" and day.weekday() < 5)

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
        now = local.time()
        on = set()
        for wid in worker_ids:
            if any(start <= now < end if end > start else now >= start for start, end in self.windows_on(wid, today)):
                on.add(wid)
            elif any(end < start and now < end for start, end in self.windows_on(wid, yesterday)):  # last night's shift
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


def load_reference(session: Session, stamp: int, previous: Reference | None = None,
                   office_hours: Windows = DEFAULT_WINDOWS) -> Reference:
    categories = {
        c.code: CategoryRef(c.code, c.name, c.name_en, c.group_code, c.urgency, c.time_limit_minutes, bool(c.working_time),
                            c.handler, c.department_code, c.dedupe_radius_m, c.dedupe_window_hours, bool(c.active),
                            c.accept_limit_minutes, c.verify_limit_minutes)
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
    since = clock.now().date() - timedelta(days=DAYS_BACK)
    days: dict[tuple[int, date], list[tuple[time, time]]] = defaultdict(list)
    for row in session.execute(
            select(RosterDay.worker_id, RosterDay.day, RosterDay.start_time, RosterDay.end_time)
            .where(RosterDay.day >= since).order_by(RosterDay.worker_id, RosterDay.day, RosterDay.start_time)):
        slot = days[(row.worker_id, row.day)]  # an `off` row leaves the day with no window
        if row.start_time is not None and row.end_time is not None:
            slot.append((row.start_time, row.end_time))
    hours = {}
    for code, raw in session.execute(select(Department.code, Department.office_hours).where(Department.office_hours.is_not(None))):
        try:
            hours[code] = parse_windows(raw or "")
        except BadOfficeHours:  # checked when stored; a hand-edited row falls back to the city's
            continue
    return Reference(
        stamp=stamp,
        categories=categories,
        day_kinds=dict(session.execute(select(CalendarDay.day, CalendarDay.kind)).all()),
        workers=workers,
        assignments=assignments,
        shifts={k: tuple(v) for k, v in shifts.items()},
        network=network,
        roads=roads,
        roster_days={k: tuple(v) for k, v in days.items()},
        department_hours=hours,
        office_hours=office_hours,
    )


def office_hours_setting(raw: str) -> Windows:
    """The city's office hours from configuration, or a start-up error naming the setting."""
    try:
        return parse_windows(raw)
    except BadOfficeHours as err:
        raise ConfigError(f"GRIDOPS_OFFICE_HOURS={raw!r}: {err}") from None


class References:
    """One process's copy of the reference data, re-read when the stamp moves."""

    def __init__(self, office_hours: Windows = DEFAULT_WINDOWS) -> None:
        self._current: Reference | None = None
        self._lock = threading.Lock()
        self.office_hours = office_hours

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
                ref = load_reference(session, stamp, ref, self.office_hours)
                self._current = ref
        return ref

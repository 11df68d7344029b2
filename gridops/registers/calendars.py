"""The holiday calendar: public holidays and make-up workdays (调休), a year at a time.

Each December the State Council publishes next year's holidays; the district admin types them into
a small file (one day a row: date, kind, name) and imports it. A year's import replaces that year's
days (a corrected file is imported again), the whole file or nothing, one audit row per year. Days
are also set and cleared one at a time. A year with no calendar is not an error: working-time
limits count Monday to Friday until it arrives, and `gridops db check` and the admin page warn.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_CITY, READ_PEOPLE, Principal, require_permission
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import CalendarDay
from gridops.core.timeparse import BadValue, parse_date
from gridops.core.words import Say
from gridops.registers.audit import record_change
from gridops.registers.files import refuse, write_csv

KIND = "calendar"
# what a file may call each kind (the State Council's notice says 放假 and 上班)
KINDS = {"holiday": "holiday", "休": "holiday", "放假": "holiday", "假": "holiday",
         "workday": "workday", "班": "workday", "上班": "workday", "调休上班": "workday"}
KIND_NAMES = {"holiday": ("节假日", "holiday"), "workday": ("调休上班", "make-up workday")}
MAX_ROWS = 2000


@dataclass(frozen=True)
class Imported:
    years: list[int]  # the years the file replaced whole
    days: int
    replaced: int  # days of those years there were before
    merged_years: list[int]  # years the file touched at their edge only: its days set, the others kept


def days(session: Session, who: Principal | None, year: int) -> dict[str, Any]:
    """A year's exceptions to the Monday–Friday week, and whether it has a calendar at all."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
    rows = session.scalars(select(CalendarDay).where(_of_year(year))
                           .order_by(CalendarDay.day)).all()
    return {"year": year, "has_calendar": bool(rows), "days": [_view(r) for r in rows]}


def years(session: Session) -> list[int]:
    """The years that have a calendar (at least one day set)."""
    return sorted({d.year for d in session.scalars(select(CalendarDay.day))})  # a few dozen rows a year


def missing_years(session: Session, today: date | None = None) -> list[int]:
    """This year and next, where they have no calendar: deadlines there count weekdays only."""
    today = today or clock.now().date()
    have = set(years(session))
    return [y for y in (today.year, today.year + 1) if y not in have]


def import_days(session: Session, who: Principal | None, text: str, *, note: str | None = None) -> Imported:
    """Read a file of `date,kind[,name]` rows and replace the calendar of each year it gives whole.

    The State Council's notice for a year spills into the next and the last (元旦 2019: 2018-12-29 a make-up
    workday, 12-30 and 12-31 off): a year the file holds only a few days of — under half as many as its
    fullest year — keeps the rest of its calendar, those days set one by one."""
    _may_keep(who)
    parsed = _parse(text)
    by_year: dict[int, list[tuple[date, str, str | None]]] = {}
    for day, kind, name in parsed:
        by_year.setdefault(day.year, []).append((day, kind, name))
    fullest = max((len(rows) for rows in by_year.values()), default=0)
    replaced = 0
    whole: list[int] = []
    merged: list[int] = []
    for year, rows in sorted(by_year.items()):
        if len(rows) * 2 < fullest:
            merged.append(year)
            for d, k, n in rows:
                set_day(session, who, d, k, n, note=note)
            continue
        whole.append(year)
        old = session.scalars(select(CalendarDay).where(_of_year(year)).order_by(CalendarDay.day)).all()
        replaced += len(old)
        before = {r.day.isoformat(): _kind_and_name(r.kind, r.name) for r in old} or None
        session.execute(delete(CalendarDay).where(_of_year(year)))
        session.add_all([CalendarDay(day=d, kind=k, name=n) for d, k, n in rows])
        after = {d.isoformat(): _kind_and_name(k, n) for d, k, n in rows}
        record_change(session, who, KIND, str(year), "import", before, after, note=note)
    session.flush()
    return Imported(whole, len(parsed), replaced, merged)


def set_day(session: Session, who: Principal | None, day: date, kind: str, name: str | None = None, *,
            note: str | None = None) -> dict[str, Any]:
    """Make one day a holiday or a make-up workday (a late change to the notice)."""
    _may_keep(who)
    if kind not in KINDS:
        raise InvalidParameter("kind", Say("kind must be holiday or workday; got %(kind)r.", kind=kind), allowed=["holiday", "workday"])
    kind = KINDS[kind]
    row = session.get(CalendarDay, day)
    before = {"kind": row.kind, "name": row.name} if row else None
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name)
        session.add(row)
    else:
        row.kind, row.name = kind, name
    session.flush()
    record_change(session, who, KIND, day.isoformat(), "set", before, {"kind": kind, "name": name}, note=note)
    return _view(row)


def clear_day(session: Session, who: Principal | None, day: date, *, note: str | None = None) -> None:
    """A day goes back to what its weekday makes it."""
    _may_keep(who)
    row = session.get(CalendarDay, day)
    if row is None:
        raise NotFound(Say("%(value)s is not in the calendar: it is an ordinary %(value2)s.",
                           value=day.isoformat(), value2='weekend day' if day.weekday() > 4 else 'weekday'))
    record_change(session, who, KIND, day.isoformat(), "clear", {"kind": row.kind, "name": row.name}, None, note=note)
    session.delete(row)
    session.flush()


def export_days(session: Session, year: int | None = None) -> str:
    """The calendar as the import reads it (date,kind,name), to correct and import again."""
    stmt = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(_of_year(year))
    return write_csv(("date", "kind", "name"), [{"date": r.day.isoformat(), "kind": r.kind, "name": r.name}
                                                 for r in session.scalars(stmt)])


def _of_year(year: int) -> ColumnElement[bool]:
    return CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def _may_keep(who: Principal | None) -> None:
    if who is not None:
        require_permission(who, KEEP_CITY)


def _kind_and_name(kind: str, name: str | None) -> str:
    return f"{kind}:{name}" if name else kind


def _view(row: CalendarDay) -> dict[str, Any]:
    names = KIND_NAMES.get(row.kind, (row.kind, row.kind))
    return {"date": row.day.isoformat(), "kind": row.kind, "kind_name": names[0], "name": row.name,
            "weekday": row.day.isoweekday()}


def _rows(text: str) -> Iterable[tuple[int, list[str]]]:
    """Non-empty rows with their line numbers; a header row (date,…) and # comments are skipped."""
    for number, cells in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in ("date", "日期"):
            continue
        yield number, cells


def _parse(text: str) -> list[tuple[date, str, str | None]]:
    problems: list[dict[str, Any]] = []
    parsed: list[tuple[date, str, str | None]] = []
    seen: dict[date, int] = {}
    for number, cells in _rows(text):
        if len(parsed) + len(problems) >= MAX_ROWS:
            raise InvalidParameter("file", Say("a calendar file has at most %(max_rows)s rows.", max_rows=MAX_ROWS))
        if len(cells) < 2:
            problems.append({"row": number, "field": "kind", "detail": "a row is date,kind[,name]: the kind is missing."})
            continue
        try:
            day = parse_date(cells[0], "date")
        except BadValue as e:
            problems.append({"row": number, "field": "date", "detail": e.message})
            continue
        kind = KINDS.get(cells[1].lower(), KINDS.get(cells[1]))
        if kind is None:
            problems.append({"row": number, "field": "kind", "detail": f"kind is holiday (休) or workday (班); got {cells[1]!r}."})
            continue
        if day in seen:
            problems.append({"row": number, "field": "date", "detail": f"{day.isoformat()} is also on row {seen[day]}."})
            continue
        if kind == "workday" and day.weekday() < 5:
            problems.append({"row": number, "field": "kind",
                             "detail": f"{day.isoformat()} is a weekday: a make-up workday (调休) is a Saturday or Sunday."})
            continue
        seen[day] = number
        parsed.append((day, kind, (cells[2] if len(cells) > 2 else "") or None))
    if problems:
        raise refuse(problems)
    if not parsed:
        raise InvalidParameter("file", Say("the file holds no days: one row per day, date,kind[,name] (2027-02-06,holiday,春节)."))
    return parsed

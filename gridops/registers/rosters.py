"""Rosters (排班): the weekly on-duty windows of each worker, and the days that differ from them — a day's
own windows, leave (请假), a swap (换班) — read by routing at the next report, in every process.

A worker's week is replaced as a whole (the rota a community admin draws is a week), audited as the
old week and the new. A day of its own replaces that day's windows of the week; leave is a run of days
with none; a swap gives each of two workers the other's windows of one day. A window that ends before
it starts runs past midnight (a night shift). Someone with no rota at all is on duty in office hours
(the city's, or their department's own).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_CITY, Principal, require_permission
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Department, RosterDay, Shift, Task, Worker
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.loop import TASK_ACTIVE
from gridops.reference.calendar import BadOfficeHours, format_windows, parse_windows
from gridops.registers.audit import record_change
from gridops.registers.people import kept_worker, seen_worker

KIND = "roster"
KIND_DEPARTMENT = "department"
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
REASONS = {"change": ("调整", "changed"), "leave": ("请假", "leave"), "swap": ("换班", "swap")}
MAX_LEAVE_DAYS = 366


def week(session: Session, who: Principal | None, code: str) -> list[dict[str, Any]]:
    """A worker's weekly rota, as routing reads it."""
    return week_of(session, seen_worker(session, who, code).id)


def week_of(session: Session, worker_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(Shift).where(Shift.worker_id == worker_id).order_by(Shift.weekday, Shift.start_time))
    return [_view(s.weekday, s.start_time, s.end_time) for s in rows]


def set_week(session: Session, who: Principal | None, code: str, windows: list[dict[str, Any]], *,
             note: str | None = None) -> list[dict[str, Any]]:
    """Replace a worker's weekly rota: each window a weekday (0 = Monday) and a start and end (HH:MM)."""
    worker = kept_worker(session, who, code)
    parsed = sorted({_window(k, w) for k, w in enumerate(windows)})
    for (wd, start, end), (wd2, start2, _) in zip(parsed, parsed[1:], strict=False):
        if wd == wd2 and end > start and start2 < end:
            raise InvalidParameter("shifts", Say("two windows overlap on %(weekdays)s: %(start)s–%(end)s and from %(start2)s.",
                                                 weekdays=WEEKDAYS[wd], start=format(start, "%H:%M"), end=format(end, "%H:%M"),
                                                     start2=format(start2, "%H:%M")))
    before = week_of(session, worker.id)
    session.execute(delete(Shift).where(Shift.worker_id == worker.id))
    session.add_all([Shift(worker_id=worker.id, weekday=wd, start_time=start, end_time=end) for wd, start, end in parsed])
    session.flush()
    after = week_of(session, worker.id)
    record_change(session, who, KIND, code, "set", {"week": before}, {"week": after}, note=note)
    return after


def _window(k: int, w: dict[str, Any]) -> tuple[int, time, time]:
    field = f"shifts[{k}]"
    wd = w.get("weekday")
    if not isinstance(wd, int) or isinstance(wd, bool) or not 0 <= wd <= 6:
        raise InvalidParameter(field, Say("%(field)s.weekday is 0 (Monday) to 6 (Sunday); got %(wd)r.", field=field, wd=wd))
    start, end = _clock(w.get("start"), f"{field}.start"), _clock(w.get("end"), f"{field}.end")
    if start == end:
        raise InvalidParameter(field, Say("%(field)s starts and ends at %(start)s: give a window of some length.",
                                          field=field, start=format(start, "%H:%M")))
    return wd, start, end


def _clock(raw: Any, field: str) -> time:
    if isinstance(raw, time):
        return raw
    try:
        return time.fromisoformat(str(raw).strip())
    except ValueError:
        raise InvalidParameter(field, Say("%(field)s is a time of day like 08:30; got %(raw)r.", field=field, raw=raw)) from None


def _view(wd: int, start: time, end: time) -> dict[str, Any]:
    return {"weekday": wd, "weekday_name": WEEKDAYS[wd], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


# --- days that differ from the week ------------------------------------------------------------------


def days_of(session: Session, who: Principal | None, code: str, since: date, until: date) -> list[dict[str, Any]]:
    """The days of [since, until] on which a worker's rota differs from their week, each with its windows."""
    worker = seen_worker(session, who, code)
    return _days(session, worker.id, since, until)


def set_day(session: Session, who: Principal | None, code: str, day: date, windows: list[dict[str, Any]], *,
            reason: str = "change", note: str | None = None) -> dict[str, Any]:
    """A day's own windows instead of the week's (none: a day off)."""
    if reason not in REASONS:
        raise InvalidParameter("reason", Say("reason is one of %(reasons)s; got %(reason)r.",
                                             reasons=', '.join(REASONS), reason=reason))
    worker = kept_worker(session, who, code)
    parsed = _day_windows(windows)
    before = _days(session, worker.id, day, day)
    _replace(session, worker.id, day, parsed, reason)
    after = _days(session, worker.id, day, day)
    record_change(session, who, KIND, code, "set_day", {"day": day, "was": before}, {"day": day, "now": after}, note=note,
                  keep=("day",))
    return after[0]


def clear_day(session: Session, who: Principal | None, code: str, day: date, *, note: str | None = None) -> None:
    """The day follows the week again."""
    worker = kept_worker(session, who, code)
    before = _days(session, worker.id, day, day)
    if not before:
        raise NotFound(Say("%(code)s has no change to their rota on %(day)s: that day follows their week.", code=code, day=day),
                       field="day")
    session.execute(delete(RosterDay).where(RosterDay.worker_id == worker.id, RosterDay.day == day))
    record_change(session, who, KIND, code, "clear_day", {"day": day, "was": before}, None, note=note)


def leave(session: Session, who: Principal | None, code: str, first: date, last: date, *,
          note: str | None = None) -> dict[str, Any]:
    """Leave (请假) from `first` to `last`: no window on those days, so reports go to the backup or leader on shift.
    Their open tasks stay theirs (the answer counts them, for whoever reassigns them)."""
    if last < first:
        raise InvalidParameter("last", Say("the leave ends (%(last)s) before it starts (%(first)s).", last=last, first=first))
    if (last - first).days + 1 > MAX_LEAVE_DAYS:
        raise InvalidParameter("last", Say("a leave is at most %(max_leave_days)s days; for longer, deactivate the worker.",
                                           max_leave_days=MAX_LEAVE_DAYS))
    worker = kept_worker(session, who, code)
    replaced = _days(session, worker.id, first, last)  # the days of their own it overwrites, for the trail
    day = first
    while day <= last:
        _replace(session, worker.id, day, (), "leave")
        day += timedelta(days=1)
    record_change(session, who, KIND, code, "leave", {"days": replaced} if replaced else None, {"first": first, "last": last},
                  note=note)
    open_tasks = session.scalar(select(func.count(Task.id)).where(Task.worker_id == worker.id, Task.status.in_(TASK_ACTIVE)))
    return {"worker": code, "first": first.isoformat(), "last": last.isoformat(), "days": (last - first).days + 1,
            "open_tasks": int(open_tasks or 0)}


def swap(session: Session, ctx: Context, who: Principal | None, day: date, a: str, b: str, *,
         note: str | None = None) -> list[dict[str, Any]]:
    """Two workers swap a day (换班): each works the other's windows of that day, as routing reads them now
    (that day's own, else their week's, else office hours)."""
    if a == b:
        raise InvalidParameter("with", Say("a swap is between two different workers."))
    wa, wb = kept_worker(session, who, a), kept_worker(session, who, b)
    ref = ctx.references.current(session)
    windows_a, windows_b = ref.windows_on(wa.id, day), ref.windows_on(wb.id, day)
    if windows_a == windows_b:
        raise InvalidParameter("with", Say("%(a)s and %(b)s work the same windows on %(day)s: there is nothing to swap.",
                                           a=a, b=b, day=day))
    _replace(session, wa.id, day, windows_b, "swap", wb.id)
    _replace(session, wb.id, day, windows_a, "swap", wa.id)
    after = [_days(session, wa.id, day, day)[0], _days(session, wb.id, day, day)[0]]
    for code, other, mine in ((a, b, after[0]), (b, a, after[1])):
        record_change(session, who, KIND, code, "swap", {"day": day, "windows": _plain(windows_a if code == a else windows_b)},
                      {"day": day, "with": other, "windows": mine["windows"]}, note=note, keep=("day",))
    return after


def _replace(session: Session, worker_id: int, day: date, windows: tuple[tuple[time, time], ...], reason: str,
             swap_with: int | None = None) -> None:
    session.execute(delete(RosterDay).where(RosterDay.worker_id == worker_id, RosterDay.day == day))
    if windows:
        session.add_all([RosterDay(worker_id=worker_id, day=day, kind="shift", start_time=s, end_time=e, reason=reason,
                                   swap_with_id=swap_with) for s, e in windows])
    else:
        session.add(RosterDay(worker_id=worker_id, day=day, kind="off", reason=reason, swap_with_id=swap_with))
    session.flush()


def _day_windows(windows: list[dict[str, Any]]) -> tuple[tuple[time, time], ...]:
    parsed = sorted({(_clock(w.get("start"), f"shifts[{k}].start"), _clock(w.get("end"), f"shifts[{k}].end"))
                     for k, w in enumerate(windows)})
    for k, (start, end) in enumerate(parsed):
        if start == end:
            raise InvalidParameter("shifts", Say("a window starts and ends at %(start)s: give a window of some length.",
                                                 start=format(start, "%H:%M")))
        if k + 1 < len(parsed) and (end <= start or parsed[k + 1][0] < end):
            raise InvalidParameter("shifts", Say("two windows overlap: %(start)s–%(end)s and from %(parsed)s.",
                                                 start=format(start, "%H:%M"), end=format(end, "%H:%M"),
                                                     parsed=format(parsed[k + 1][0], "%H:%M")))
    return tuple(parsed)


def _days(session: Session, worker_id: int, since: date, until: date) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(RosterDay).where(RosterDay.worker_id == worker_id, RosterDay.day >= since,
                                                        RosterDay.day <= until).order_by(RosterDay.day, RosterDay.start_time)))
    partners = {r.swap_with_id for r in rows if r.swap_with_id}
    codes = dict(session.execute(select(Worker.id, Worker.code).where(Worker.id.in_(partners))).all()) if partners else {}
    out: dict[date, dict[str, Any]] = {}
    for r in rows:
        d = out.setdefault(r.day, {"day": r.day.isoformat(), "weekday": r.day.weekday(), "weekday_name": WEEKDAYS[r.day.weekday()],
                                   "reason": r.reason, "reason_name": REASONS.get(r.reason, (r.reason,))[0],
                                   "swap_with": codes.get(r.swap_with_id) if r.swap_with_id else None, "windows": []})
        if r.kind == "shift" and r.start_time is not None and r.end_time is not None:
            d["windows"].append({"start": r.start_time.strftime("%H:%M"), "end": r.end_time.strftime("%H:%M")})
    return list(out.values())


def _plain(windows: tuple[tuple[time, time], ...]) -> list[dict[str, str]]:
    return [{"start": s.strftime("%H:%M"), "end": e.strftime("%H:%M")} for s, e in windows]


# --- departments' office hours ------------------------------------------------------------------------


def departments(session: Session) -> list[dict[str, Any]]:
    return [{"code": d.code, "name": d.name, "name_en": d.name_en, "phone": d.phone, "office_hours": d.office_hours}
            for d in session.scalars(select(Department).order_by(Department.code))]


def set_office_hours(session: Session, who: Principal | None, code: str, raw: str | None, *,
                     note: str | None = None) -> dict[str, Any]:
    """A department's own office day (None: the city's), which its working-time limits and its staff without a
    rota then follow; limits already running keep their due times."""
    if who is not None:
        require_permission(who, KEEP_CITY)
    dept = session.get(Department, code)
    if dept is None:
        raise NotFound(Say("no department has the code %(code)r.", code=code), field="code")
    value = None
    if raw is not None and raw.strip():
        try:
            value = format_windows(parse_windows(raw))
        except BadOfficeHours as err:
            raise InvalidParameter("office_hours", str(err)) from None
    before = dept.office_hours
    dept.office_hours = value
    session.flush()
    record_change(session, who, KIND_DEPARTMENT, code, "update", {"office_hours": before}, {"office_hours": value}, note=note)
    return next(d for d in departments(session) if d["code"] == code)

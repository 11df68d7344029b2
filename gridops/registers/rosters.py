"""Rosters (排班): the weekly on-duty windows of each worker, read by routing at the next report.

A worker's week is replaced as a whole (the rota a community admin draws is a week), audited as the
old week and the new. A window that ends before it starts runs past midnight (a night shift).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gridops.access.policy import Principal
from gridops.core.errors import InvalidParameter
from gridops.core.models import Shift
from gridops.registers.audit import record_change
from gridops.registers.people import kept_worker, seen_worker

KIND = "roster"
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


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
            raise InvalidParameter("shifts", f"two windows overlap on {WEEKDAYS[wd]}: {start:%H:%M}–{end:%H:%M} and from {start2:%H:%M}.")
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
        raise InvalidParameter(field, f"{field}.weekday is 0 (Monday) to 6 (Sunday); got {wd!r}.")
    start, end = _clock(w.get("start"), f"{field}.start"), _clock(w.get("end"), f"{field}.end")
    if start == end:
        raise InvalidParameter(field, f"{field} starts and ends at {start:%H:%M}: give a window of some length.")
    return wd, start, end


def _clock(raw: Any, field: str) -> time:
    if isinstance(raw, time):
        return raw
    try:
        return time.fromisoformat(str(raw).strip())
    except ValueError:
        raise InvalidParameter(field, f"{field} is a time of day like 08:30; got {raw!r}.") from None


def _view(wd: int, start: time, end: time) -> dict[str, Any]:
    return {"weekday": wd, "weekday_name": WEEKDAYS[wd], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}

"""A QR code on the admin's page signs a worker's phone in for their shift (gridops.access.shiftpass): made and
revoked by whoever keeps that person (their ground's admin), lasting until the shift on the worker's rota ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gridops.access import shiftpass
from gridops.access.policy import Principal
from gridops.core import clock
from gridops.incidents.context import Context
from gridops.reference.data import Reference
from gridops.registers import people
from gridops.registers.audit import record_change

KIND = "shift_pass"
NO_ROTA = timedelta(hours=12)  # nothing on the rota today from now on: a pass lasts this long


def shift_end(ref: Reference, worker_id: int, now: datetime, tz: str) -> datetime:
    """When the worker's shift ends: the one on now, else the next one today (a pass is often made before the shift),
    else NO_ROTA from now. Shifts past midnight (22:00–06:00) end the next morning."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    today = local.date()
    at = lambda day, t: datetime.combine(day, t, zone)  # noqa: E731
    spans = [(at(today - timedelta(days=1), s), at(today, e)) for s, e in ref.windows_on(worker_id, today - timedelta(days=1))
             if e < s]
    spans += [(at(today, s), at(today + timedelta(days=1) if e <= s else today, e)) for s, e in ref.windows_on(worker_id, today)]
    for start, end in sorted(spans):
        if end > local and start - timedelta(hours=2) <= local:  # on now, or starting within two hours
            return end
    later = [end for start, end in sorted(spans) if start > local]
    return later[0] if later else now + NO_ROTA


def make(session: Session, ctx: Context, who: Principal | None, code: str) -> dict[str, Any]:
    """A pass for the worker `code` (the caller keeps them): its secret for the link, and until when it works."""
    worker = people.kept_worker(session, who, code)
    user = shiftpass.user_of_worker(session, worker.id)
    now = clock.now()
    ends = shift_end(ctx.references.current(session), worker.id, now, ctx.timezone)
    issued = shiftpass.issue(session, user.id, who.user_id if who else None, ends)
    record_change(session, who, KIND, code, "create", None,
                  {"user": user.name, "scan_by": issued.scan_by.isoformat(), "shift_ends_at": issued.shift_ends_at.isoformat()},
                  note="QR sign-in for one shift")
    return {"secret": issued.secret, "worker": worker.code, "user": user.name, "scan_by": issued.scan_by.isoformat(),
            "shift_ends_at": issued.shift_ends_at.isoformat()}


def revoke(session: Session, ctx: Context, who: Principal | None, code: str) -> dict[str, Any]:
    """Every pass of the worker ended, and the phones they signed in signed out."""
    worker = people.kept_worker(session, who, code)
    user = shiftpass.user_of_worker(session, worker.id)
    n = shiftpass.revoke(session, user.id)
    if n:
        record_change(session, who, KIND, code, "revoke", None, {"passes": n}, note="QR sign-ins revoked")
    return {"worker": worker.code, "revoked": n}

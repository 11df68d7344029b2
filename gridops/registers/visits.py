"""The special-group registers (独居老人, 残疾人, 低保户 …) kept as people's lives change: an entry is added (its
first visit due within the first days), changed (its interval, its contact), moved to another door (she moves
in with her son), paused (in hospital until a day) or ended — each change audited, and the entry's visits
rescheduled at once: its open visit is cancelled and the scheduler gives it the visit its new door, interval or
pause calls for (gridops.field.patrols). A file of entries comes in through the same functions (visit_files).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_REGISTERS, Forbidden, Principal, require_permission
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import Building, Household, PatrolRegister, Task
from gridops.core.words import Say
from gridops.field.patrols import KINDS, grid_of, registers, schedule_visits, view
from gridops.incidents.context import Context
from gridops.incidents.loop import TASK_ACTIVE
from gridops.registers.audit import record_change
from gridops.registers.buildings import demolished

KIND = "register"
EDITABLE = ("interval_days", "person", "phone")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")  # 身份证号: 17 digits and a check digit or X


def list_entries(session: Session, ctx: Context, who: Principal | None, area: str | None = None) -> list[dict[str, Any]]:
    """The entries of `who`'s ground (None: the command line, every entry), each with its next and open visit."""
    return registers(session, ctx, who, area)


def add_entry(session: Session, ctx: Context, who: Principal | None, *, household: str | None = None,
              building: str | None = None, kind: str, interval_days: int | None = None, person: str | None = None,
              phone: str | None = None, id_number: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Register someone who needs visits, at a household's door (or a building's): the first visit is due from today
    (the next sweep schedules it, within the first days); the entry is the first row of its trail."""
    if who is not None:
        require_permission(who, KEEP_REGISTERS)
    if kind not in KINDS:
        raise InvalidParameter("kind", Say("kind must be one of %(kinds)s; got %(kind)r.", kinds=', '.join(KINDS), kind=kind),
                               allowed=list(KINDS))
    interval = KINDS[kind][1] if interval_days is None else interval_days
    if not 1 <= interval <= 366:
        raise InvalidParameter("interval_days", Say("a visit interval is 1 to 366 days; got %(interval)s.", interval=interval))
    if id_number and not ID_NUMBER.match(id_number):
        raise InvalidParameter("id_number", Say("an ID number is 17 digits and a digit or X."))
    household_id, building_id = _door(session, household, building)
    grid = grid_of(session, ctx, building_id)
    if who is not None and not (who.is_staff or who.covers(grid)):
        raise Forbidden(Say("grid %(grid)s is not ground you answer for.", grid=grid))
    reg = PatrolRegister(household_id=household_id, building_id=building_id, kind=kind, person=person, phone=phone,
                         id_number=id_number, interval_days=interval, active=True, created_at=clock.now())
    session.add(reg)
    session.flush()
    record_change(session, who, KIND, str(reg.id), "create", None, _facts(reg), note=note)
    return view(session, ctx, reg, who)


def _door(session: Session, household: str | None, building: str | None) -> tuple[int | None, int]:
    """(household id, building id) of the door a person is registered at: a household's, else a building's; never
    in a demolished building."""
    hh, b = None, None
    if household:
        hh = session.scalar(select(Household).where(Household.code == household))
        if hh is None:
            raise NotFound(Say("no household has the code %(household)r.", household=household), field="household")
        b = session.get(Building, hh.building_id)
    elif building:
        b = session.scalar(select(Building).where(Building.code == building))
        if b is None:
            raise NotFound(Say("no building has the code %(building)r.", building=building), field="building")
    else:
        raise InvalidParameter("household", Say("say where the person lives: a household (门牌码) or a building."))
    assert b is not None  # a household's building is a NOT NULL foreign key
    if demolished(b):
        raise Conflict(Say("building %(code)s was demolished: nobody is visited there.", code=b.code),
                       field="household" if hh else "building")
    return (hh.id if hh else None), b.id


def change_entry(session: Session, ctx: Context, who: Principal | None, entry_id: int, *, note: str | None = None,
                 **changes: Any) -> dict[str, Any]:
    """A new interval or contact; a new interval reschedules the open visit."""
    reg = _kept(session, ctx, who, entry_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], Say("a register entry's %(editable)s may be changed.",
                                                       editable=', '.join(EDITABLE)))
    if "interval_days" in changes and not 1 <= int(changes["interval_days"]) <= 366:
        raise InvalidParameter("interval_days", Say("a visit interval is 1 to 366 days; got %(changes)s.",
                                                    changes=changes['interval_days']))
    before = _facts(reg)
    for k, v in changes.items():
        setattr(reg, k, v)
    if _facts(reg) == before:
        raise InvalidParameter("body", Say("nothing to change: send interval_days, person or phone with a new value."))
    return _done(session, ctx, who, reg, "update", before, note,
                 reschedule=before["interval_days"] != reg.interval_days)


def move_entry(session: Session, ctx: Context, who: Principal | None, entry_id: int, *, household: str | None = None,
               building: str | None = None, note: str | None = None) -> dict[str, Any]:
    """The person moves to another door: their visits go to the new door's grid worker, from now."""
    reg = _kept(session, ctx, who, entry_id)
    target_household, target_building = _door(session, household, building)
    if (target_household, target_building) == (reg.household_id, reg.building_id):
        raise Conflict(Say("the entry is at that door already."), field="household")
    grid = grid_of(session, ctx, target_building)
    if who is not None and not (who.is_staff or who.covers(grid)):
        raise Forbidden(Say("the new door is in grid %(grid)s, not on ground you answer for: ask its community to register "
                            "them.",
                            grid=grid))
    before = _facts(reg)
    reg.household_id, reg.building_id = target_household, target_building
    return _done(session, ctx, who, reg, "move", before, note)


def pause_entry(session: Session, ctx: Context, who: Principal | None, entry_id: int, until: date, *,
                note: str | None = None) -> dict[str, Any]:
    """No visits through `until`; the first after it is due within the first days, as for someone new."""
    reg = _kept(session, ctx, who, entry_id)
    today = clock.today(ctx.timezone)
    if until < today:
        raise InvalidParameter("until", Say("a pause lasts until a day from today on; %(until)s is past.", until=until))
    before = _facts(reg)
    reg.paused_until = until
    return _done(session, ctx, who, reg, "pause", before, note)


def resume_entry(session: Session, ctx: Context, who: Principal | None, entry_id: int, *, note: str | None = None) -> dict[str, Any]:
    """Visits again from today (a pause ended early)."""
    reg = _kept(session, ctx, who, entry_id)
    if reg.paused_until is None:
        raise Conflict(Say("register entry %(entry_id)s is not paused.", entry_id=entry_id), field="id")
    before = _facts(reg)
    reg.paused_until = clock.today(ctx.timezone) - timedelta(days=1)  # the first visit after it is due within the first days
    return _done(session, ctx, who, reg, "resume", before, note)


def end_entry(session: Session, ctx: Context, who: Principal | None, entry_id: int, *, note: str | None = None) -> dict[str, Any]:
    """The person no longer needs visits (moved away, passed away, no longer eligible): their open visit is cancelled."""
    reg = _kept(session, ctx, who, entry_id)
    before = _facts(reg)
    reg.active = False
    return _done(session, ctx, who, reg, "end", before, note, reschedule=True)


def _kept(session: Session, ctx: Context, who: Principal | None, entry_id: int) -> PatrolRegister:
    """The entry, if `who` keeps the registers of its door's grid (None: the command line)."""
    if who is not None:
        require_permission(who, KEEP_REGISTERS)
    reg = session.get(PatrolRegister, entry_id, with_for_update=True)
    if reg is None or (who is not None and not (who.is_staff or who.covers(grid_of(session, ctx, reg.building_id)))):
        raise NotFound(Say("no register entry %(entry_id)s on ground you answer for.", entry_id=entry_id), field="id")
    if not reg.active:
        raise Conflict(Say("register entry %(entry_id)s has ended.", entry_id=entry_id), field="id")
    return reg


def _done(session: Session, ctx: Context, who: Principal | None, reg: PatrolRegister, action: str, before: dict[str, Any],
          note: str | None, *, reschedule: bool = True) -> dict[str, Any]:
    """Audit the change and reschedule: the open visit is cancelled, and the scheduler makes the one now due."""
    session.flush()
    cancelled = 0
    if reschedule:
        open_visits = list(session.scalars(select(Task).where(Task.patrol_id == reg.id, Task.kind == "patrol",
                                                              Task.status.in_(TASK_ACTIVE))))
        for task in open_visits:
            task.status, task.note = "cancelled", f"register entry {action}: rescheduled"
        cancelled = len(open_visits)
        session.flush()
        if reg.active:
            schedule_visits(session, ctx, only=[reg.id])  # this entry's visit, not the whole city's
    record_change(session, who, KIND, str(reg.id), action, before, _facts(reg), note=note)
    out = view(session, ctx, reg, who)
    out["visits_cancelled"] = cancelled
    return out


def _facts(reg: PatrolRegister) -> dict[str, Any]:
    return {"kind": reg.kind, "person": reg.person, "household_id": reg.household_id, "building_id": reg.building_id,
            "phone": reg.phone, "interval_days": reg.interval_days, "active": bool(reg.active),
            "paused_until": reg.paused_until.isoformat() if reg.paused_until else None}

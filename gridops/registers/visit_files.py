"""The special-group registers (独居老人, 残疾人, 低保户, 重点人员 …) in bulk: the community's sheet of the people
it visits, in and out.

A row is one person at a door (a household's door code, or a building's code where no household
applies), their group, how often they are visited, their contact and ID number, a pause. A row with the
`id` of an entry — as the export writes it — changes that entry; a row without one is matched to an
entry at the same door of the same group and person, else registered anew. Every change goes through
gridops.registers.visits (add, change, move, pause, resume, end), so each reschedules its visits at once
and is in the entry's trail; a new entry's first visit is due from today, as one added by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.masking import mask_id_number
from gridops.access.policy import KEEP_REGISTERS, Principal, require_permission
from gridops.core import clock
from gridops.core.models import Building, Household, PatrolRegister
from gridops.core.timeparse import parse_date
from gridops.field.patrols import KINDS
from gridops.incidents.context import Context
from gridops.registers import visits
from gridops.registers.buildings import demolished
from gridops.registers.files import Imported, Outcome, Problems, Sheet, apply_rows, check_rows, limited, one_of, whole, why, yes_no

KIND = "registers"  # the audit kind of a file's import (one entry's changes are `register`)
SHEET = Sheet("register entries", ("id", "household", "building", "kind", "person", "phone", "id_number", "interval_days",
                                   "paused_until", "active", "grid"), ("kind",), {
    "登记编号": "id", "门牌码": "household", "户码": "household", "楼栋": "building", "楼栋编码": "building",
    "类别": "kind", "对象类别": "kind", "群体": "kind", "group": "kind", "姓名": "person", "name": "person",
    "电话": "phone", "联系电话": "phone", "手机": "phone", "身份证号": "id_number", "身份证": "id_number",
    "走访间隔": "interval_days", "间隔天数": "interval_days", "interval": "interval_days", "every": "interval_days",
    "暂停至": "paused_until", "暂停到": "paused_until", "在册": "active", "网格": "grid"})
_KIND_NAMES = {**{k.lower(): code for code, (zh, _days) in KINDS.items() for k in (code, zh)}, "低保": "low_income"}


@dataclass
class _Row:
    entry: PatrolRegister | None  # None: someone new
    door: tuple[int | None, int]  # (household id, building id)
    household: str | None
    building: str | None
    values: dict[str, Any] = field(default_factory=dict)  # kind, interval_days, person, phone, id_number
    paused_until: date | None = None
    pause_given: bool = False
    ends: bool = False
    settled: bool = False  # nothing the file says can change it (an entry ended, and ended in the file)


def import_entries(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                   note: str | None = None) -> Imported:
    """New people registered, known entries changed, moved, paused or ended where the file differs; all or nothing."""
    if who is not None:
        require_permission(who, KEEP_REGISTERS)
    rows = list(SHEET.rows(data, name))
    doors = _Doors(session, rows)
    entries = {r.id: r for r in session.scalars(select(PatrolRegister))}
    by_door: dict[tuple[int | None, int, str, str | None], PatrolRegister] = {}
    for r in entries.values():
        if r.active:
            by_door.setdefault((r.household_id, r.building_id, r.kind, r.person), r)
    problems = Problems({"household": "household", "building": "building"})
    today = clock.today(ctx.timezone)
    checked = check_rows(rows, lambda n, row: _check(n, row, doors, entries, by_door, today, problems), problems, SHEET)
    because = why(note, name)

    def apply(number: int, plan: _Row) -> Outcome:
        if plan.entry is None:
            made = visits.add_entry(session, ctx, who, household=plan.household, building=plan.building, note=because, **plan.values)
            if plan.paused_until is not None:
                visits.pause_entry(session, ctx, who, made["id"], plan.paused_until, note=because)
            return "created"
        return "updated" if not plan.settled and _change(session, ctx, who, plan, today, because) else "unchanged"

    return apply_rows(session, who, KIND, name, note, checked, apply, problems, "id")


def _change(session: Session, ctx: Context, who: Principal | None, plan: _Row, today: date, because: str) -> bool:
    """Apply what the file changes of a known entry, each change through its own function; whether any did."""
    reg = plan.entry
    assert reg is not None  # a known entry
    if plan.ends:
        visits.end_entry(session, ctx, who, reg.id, note=because)
        return True
    changed = False
    edits = {k: v for k, v in plan.values.items() if k in visits.EDITABLE and getattr(reg, k) != v}
    if edits:
        visits.change_entry(session, ctx, who, reg.id, note=because, **edits)
        changed = True
    if plan.door != (reg.household_id, reg.building_id):
        visits.move_entry(session, ctx, who, reg.id, household=plan.household, building=plan.building, note=because)
        changed = True
    if plan.pause_given and plan.paused_until != reg.paused_until:
        if plan.paused_until is not None:
            visits.pause_entry(session, ctx, who, reg.id, plan.paused_until, note=because)
            changed = True
        elif reg.paused_until is not None and reg.paused_until >= today:
            visits.resume_entry(session, ctx, who, reg.id, note=because)
            changed = True
    return changed


class _Doors:
    """The households and buildings a file names, looked up once: code -> (household id, building id), and the
    buildings by code with whether each was demolished."""

    def __init__(self, session: Session, rows: list[tuple[int, dict[str, Any]]]) -> None:
        households = sorted({str(r["household"]) for _, r in rows if r.get("household")})
        codes = sorted({str(r["building"]) for _, r in rows if r.get("building")})
        self.households: dict[str, tuple[int, int, str, bool]] = {}  # (household id, building id, its code, demolished)
        self.buildings: dict[str, tuple[int, bool]] = {}
        for k in range(0, len(households), 1000):
            for code, hid, b in session.execute(
                    select(Household.code, Household.id, Building)
                    .join(Building, Building.id == Household.building_id).where(Household.code.in_(households[k:k + 1000]))):
                self.households[code] = (hid, b.id, b.code, demolished(b))
        for k in range(0, len(codes), 1000):
            for b in session.scalars(select(Building).where(Building.code.in_(codes[k:k + 1000]))):
                self.buildings[b.code] = (b.id, demolished(b))


def _check(number: int, row: dict[str, Any], doors: _Doors, entries: dict[int, PatrolRegister],
           by_door: dict[tuple[int | None, int, str, str | None], PatrolRegister], today: date,
           problems: Problems) -> _Row | None:
    before = len(problems.found)
    entry_id = problems.value(number, "id", lambda v: whole(v, "id", 1, 2**62), row.get("id"))
    entry = entries.get(entry_id) if entry_id is not None else None
    if entry_id is not None and entry is None:
        problems.add(number, "id", f"no register entry {entry_id}: leave `id` empty to register someone new.")
        return None
    kind = problems.value(number, "kind", lambda v: one_of(v, "kind", _KIND_NAMES), row.get("kind"))
    if row.get("kind") is None:
        if entry is not None:
            kind = entry.kind
        else:
            problems.add(number, "kind", f"the group (类别) is empty: one of {', '.join(KINDS)}.")
    door = _door(number, row, doors, entry, problems)
    values: dict[str, Any] = {"kind": kind}
    interval = problems.value(number, "interval_days", lambda v: whole(v, "interval_days", 1, 366), row.get("interval_days"))
    if interval is not None:
        values["interval_days"] = interval
    for column, most in (("person", 64), ("phone", 32)):
        if column in row:
            values[column] = problems.value(number, column, partial(limited, column=column, most=most), row[column])
    id_number = row.get("id_number")
    if id_number is not None and not (entry is not None and id_number in (entry.id_number, mask_id_number(entry.id_number))):
        if entry is not None:
            problems.add(number, "id_number", f"entry {entry.id}'s ID number is not changed by a file: end it and register "
                                              "the person anew.")
        elif not visits.ID_NUMBER.match(str(id_number)):
            problems.add(number, "id_number", "an ID number is 17 digits and a digit or X.")
        else:
            values["id_number"] = str(id_number).upper()
    paused = problems.value(number, "paused_until", lambda v: parse_date(v, "paused_until"), row.get("paused_until"))
    active = problems.value(number, "active", lambda v: yes_no(v, "active"), row.get("active"))
    if len(problems.found) > before or door is None or kind is None:
        return None
    if entry is None and entry_id is None:
        entry = by_door.get((door[0], door[1], kind, values.get("person")))
    key = entry.id if entry is not None else (door, kind, values.get("person"))
    if problems.repeated(number, key, "id" if entry is not None else "person", "the same person at the same door"):
        return None
    household = str(row["household"]) if row.get("household") else None
    building = None if household or not row.get("building") else str(row["building"])
    plan = _Row(entry, door, household, building, values, paused, "paused_until" in row, active is False)
    if entry is None:
        if active is False:
            problems.add(number, "active", "someone new is registered active: leave `active` empty or say yes.")
        elif paused is not None and paused < today:
            problems.add(number, "paused_until", f"a pause lasts until a day from today on; {paused} is past.")
        return plan if len(problems.found) == before else None
    if kind != entry.kind:
        problems.add(number, "kind", f"entry {entry.id} is {entry.kind}; its group is not changed: end it and register the "
                                     "person in the other group.")
    elif not entry.active:
        if active is not False:
            problems.add(number, "id", f"register entry {entry.id} has ended; an import does not bring it back.")
        plan.settled = True  # an ended entry the file also says is ended: as it is
    elif plan.pause_given and paused is not None and paused != entry.paused_until and paused < today:
        problems.add(number, "paused_until", f"a pause lasts until a day from today on; {paused} is past.")
    return plan if len(problems.found) == before else None


def _door(number: int, row: dict[str, Any], doors: _Doors, entry: PatrolRegister | None,
          problems: Problems) -> tuple[int | None, int] | None:
    """The door a row names: its household's (checked against its building, when both are given), else its building's;
    for a known entry with neither, the door it has."""
    household, building = row.get("household"), row.get("building")
    if household:
        found = doors.households.get(str(household))
        if found is None:
            problems.add(number, "household", f"no household has the code {household}.")
            return None
        if building and str(building) != found[2]:
            problems.add(number, "building", f"household {household} is in building {found[2]}, not {building}.")
            return None
        if found[3]:
            problems.add(number, "household", f"household {household} is in building {found[2]}, which was demolished.")
            return None
        return found[0], found[1]
    if building:
        b = doors.buildings.get(str(building))
        if b is None:
            problems.add(number, "building", f"no building has the code {building}.")
            return None
        if b[1]:
            problems.add(number, "building", f"building {building} was demolished.")
            return None
        return None, b[0]
    if entry is not None:
        return entry.household_id, entry.building_id
    problems.add(number, "household", "the door is empty: a household's door code (门牌码), or a building's code.")
    return None


def export_entries(session: Session, ctx: Context, who: Principal | None) -> list[dict[str, Any]]:
    """The entries of `who`'s ground as the import reads them (ID numbers masked unless one's role reads them)."""
    return [{k: r[k] for k in SHEET.columns} for r in visits.list_entries(session, ctx, who)]

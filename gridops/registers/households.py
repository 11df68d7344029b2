"""Households (户) and their door codes, imported and exported in bulk by the community's clerks.

An import is a whole file: every row is checked first (a missing or repeated door code, a building
that does not exist or was demolished, a floor or a head count that is not a number…) and a file with
any bad row stores nothing, answering every bad row with its number. A good file is one transaction:
new door codes are added, known ones updated, one audit row says what the file did.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from gridops.access.policy import ALL, KEEP_BUILDINGS, Forbidden, Principal, require_permission
from gridops.boundaries.areas import version_in_force
from gridops.core.bulk import insert_rows
from gridops.core.models import Area, Building, Household
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.registers.audit import record_change
from gridops.registers.buildings import placed
from gridops.registers.files import Imported, Problems, Sheet, check_rows, limited, whole

KIND = "households"
COLUMNS = ("code", "building", "unit", "floor", "room", "persons")
# what a clerk's sheet may call each column
SHEET = Sheet("households", COLUMNS, ("code", "building"), {
    "门牌码": "code", "户码": "code", "household": "code", "楼栋": "building", "楼栋编码": "building", "building_code": "building",
    "单元": "unit", "楼层": "floor", "室": "room", "房号": "room", "人数": "persons", "人口": "persons"})
CHUNK = 1000


def import_households(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                      note: str | None = None) -> Imported:
    """Check every row, then store them all in the caller's transaction (or nothing, with the bad rows named).
    Rows as the register already has them are counted unchanged and not written."""
    if who is not None:
        require_permission(who, KEEP_BUILDINGS)
    buildings = {code: (bid, bool((attrs or {}).get("demolished_at")))
                 for bid, code, attrs in session.execute(select(Building.id, Building.code, Building.attributes))}
    problems = Problems()
    good = [row for _, row in check_rows(SHEET.rows(data, name),
                                         lambda n, row: row if _check(n, row, buildings, problems) else None, problems, SHEET)]
    known = _known(session, [r["code"] for r in good])
    if who is not None and who.policy.measures != ALL:
        # the buildings named, and the ones the known door codes stand in now: a door is not moved off another's ground
        now_in = {b for b, in session.execute(select(Building.code).join(Household, Household.building_id == Building.id)
                                             .where(Household.id.in_([k["id"] for k in known.values()])))} if known else set()
        _scope(session, ctx, who, {r["building"] for r in good} | now_in)
    new = [r for r in good if r["code"] not in known]
    insert_rows(session, cast(Table, Household.__table__), [_stored(r, buildings[r["building"]][0]) for r in new])
    columns = set(good[0])  # a file's columns: what it does not have is left as it was
    changes = []
    for r in good:
        if r["code"] in known:
            was = known[r["code"]]
            values = {k: v for k, v in _stored(r, buildings[r["building"]][0]).items()
                      if k in ("code", "building_id") or k in columns}
            if any(was[k] != v for k, v in values.items()):
                changes.append({"id": was["id"], **values})
    if changes:  # an UPDATE by primary key sent as one executemany, not a statement built per row
        session.execute(update(Household), changes)
    done = Imported(len(good), len(new), len(changes), len(good) - len(new) - len(changes))
    record_change(session, who, KIND, name or "upload", "import", None, done.as_dict(), note=note)
    session.flush()
    return done


def export_households(session: Session, ctx: Context, who: Principal | None) -> list[dict[str, Any]]:
    """The households as the import reads them (to correct and import again): all for the office, those of
    one's own ground for a community admin or a grid leader."""
    stmt = (select(Household.code, Building.code, Household.unit, Household.floor, Household.room, Household.persons)
            .join(Building, Building.id == Household.building_id).order_by(Building.code, Household.code))
    if who is not None and who.policy.measures != ALL:
        version = version_in_force(session, ctx.geocoder.primary_layer)
        if version is None or not who.areas:
            return []
        mine = (select(Building.id).join(Area, func.ST_Intersects(Area.geom, Building.location))
                .where(Area.version_id == version.id, Area.code.in_(who.areas)))
        stmt = stmt.where(Building.id.in_(mine))
    return [dict(zip(COLUMNS, r, strict=True)) for r in session.execute(stmt)]


def of_building(session: Session, building_code: str, limit: int = 1000) -> list[dict[str, Any]]:
    """A building's households by door code (its page lists them)."""
    stmt = (select(Household.code, Building.code, Household.unit, Household.floor, Household.room, Household.persons)
            .join(Building, Building.id == Household.building_id).where(Building.code == building_code)
            .order_by(Household.unit, Household.floor, Household.room, Household.code).limit(limit))
    return [dict(zip(COLUMNS, r, strict=True)) for r in session.execute(stmt)]


def _check(number: int, row: dict[str, Any], buildings: dict[str, tuple[int, bool]], problems: Problems) -> bool:
    """Whether the row can be stored; its problems are added to `problems` (all of them, not only the first)."""
    before = len(problems.found)
    problems.key(number, row.get("code"), "code", "door code (门牌码)", 48)
    building = row.get("building")
    if not building:
        problems.add(number, "building", "the building (楼栋) is empty: a household needs its building.")
    elif building not in buildings:
        problems.add(number, "building", f"no building has the code {building}.")
    elif buildings[building][1]:
        problems.add(number, "building", f"building {building} was demolished.")
    for column, lo, hi in (("floor", -5, 200), ("persons", 0, 50)):
        problems.value(number, column, partial(whole, column=column, lo=lo, hi=hi), row.get(column))
    for column in ("unit", "room"):
        problems.value(number, column, partial(limited, column=column, most=16), row.get(column))
    return len(problems.found) == before


def _scope(session: Session, ctx: Context, who: Principal, codes: set[str]) -> None:
    """A community admin imports the households of their own ground only (by the grid each building stands in)."""
    outside = sorted(b.code for b in session.scalars(select(Building).where(Building.code.in_(sorted(codes))))
                     if not who.covers(placed(session, ctx, b).grid))
    if outside:
        raise Forbidden(Say("%(n_outside)s building(s) of the file are not on ground you answer for, e.g. %(outside)s.",
                            n_outside=len(outside), outside=outside[0]))


def _known(session: Session, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The door codes already kept, with what is kept for each (to tell a changed row from one as it was)."""
    found: dict[str, dict[str, Any]] = {}
    cols = (Household.id, Household.code, Household.building_id, Household.unit, Household.floor, Household.room, Household.persons)
    for k in range(0, len(codes), CHUNK):
        for row in session.execute(select(*cols).where(Household.code.in_(codes[k:k + CHUNK]))):
            found[row.code] = dict(row._mapping)
    return found


def _stored(row: dict[str, Any], building_id: int) -> dict[str, Any]:
    return {"code": row["code"], "building_id": building_id, "unit": row.get("unit"),
            "floor": whole(row["floor"], "floor", -5, 200) if row.get("floor") is not None else None, "room": row.get("room"),
            "persons": whole(row["persons"], "persons", 0, 50) if row.get("persons") is not None else None}

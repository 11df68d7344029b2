"""Households (户) and their door codes, imported and exported in bulk by the community's clerks.

An import is a whole file: every row is checked first (a missing or repeated door code, a building
that does not exist or was demolished, a floor or a head count that is not a number…) and a file with
any bad row stores nothing, answering every bad row with its number. A good file is one transaction:
new door codes are added, known ones updated, one audit row says what the file did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from gridops.access.policy import ALL, KEEP_BUILDINGS, Forbidden, Principal, require_permission
from gridops.boundaries.areas import version_in_force
from gridops.core.bulk import insert_rows
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, Building, Household
from gridops.incidents.context import Context
from gridops.registers.audit import record_change
from gridops.registers.buildings import placed
from gridops.registers.files import read_rows, refuse

KIND = "households"
COLUMNS = ("code", "building", "unit", "floor", "room", "persons")
REQUIRED = ("code", "building")
# what a clerk's sheet may call each column
ALIASES = {"门牌码": "code", "户码": "code", "household": "code", "楼栋": "building", "楼栋编码": "building", "building_code": "building",
           "单元": "unit", "楼层": "floor", "室": "room", "房号": "room", "人数": "persons", "人口": "persons"}
CHUNK = 1000


@dataclass(frozen=True)
class Imported:
    rows: int
    created: int
    updated: int


def import_households(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                      note: str | None = None) -> Imported:
    """Check every row, then store them all in the caller's transaction (or nothing, with the bad rows named)."""
    if who is not None:
        require_permission(who, KEEP_BUILDINGS)
    buildings = {code: (bid, bool((attrs or {}).get("demolished_at")))
                 for bid, code, attrs in session.execute(select(Building.id, Building.code, Building.attributes))}
    problems: list[dict[str, Any]] = []
    good: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    header_checked = False
    for number, raw in read_rows(data, name):
        row = {ALIASES.get(k, k): v for k, v in raw.items()}
        if not header_checked:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise InvalidParameter("file", f"the header row needs the columns {', '.join(REQUIRED)} "
                                               f"(门牌码, 楼栋 also read); missing: {', '.join(missing)}.")
            header_checked = True
        bad = _check(number, row, buildings, seen)
        if bad:
            problems.extend(bad)
            continue
        seen[row["code"]] = number
        good.append(row)
    if problems:
        raise refuse(problems)
    if not good:
        raise InvalidParameter("file", "the file holds no households under its header row.")
    known = _known(session, [r["code"] for r in good])
    if who is not None and who.policy.measures != ALL:
        # the buildings named, and the ones the known door codes stand in now: a door is not moved off another's ground
        now_in = {b for b, in session.execute(select(Building.code).join(Household, Household.building_id == Building.id)
                                             .where(Household.id.in_([i for i, _ in known.values()])))} if known else set()
        _scope(session, ctx, who, {r["building"] for r in good} | now_in)
    new = [r for r in good if r["code"] not in known]
    insert_rows(session, cast(Table, Household.__table__), [_stored(r, buildings[r["building"]][0]) for r in new])
    columns = set(good[0])  # a file's columns: what it does not have is left as it was
    changes = [{"id": known[r["code"]][0], **{k: v for k, v in _stored(r, buildings[r["building"]][0]).items()
                                              if k in ("code", "building_id") or k in columns}}
               for r in good if r["code"] in known]
    if changes:  # an UPDATE by primary key sent as one executemany, not a statement built per row
        session.execute(update(Household), changes)
    record_change(session, who, KIND, name or "upload", "import", None,
                  {"rows": len(good), "created": len(new), "updated": len(good) - len(new)}, note=note)
    session.flush()
    return Imported(len(good), len(new), len(good) - len(new))


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


def _check(number: int, row: dict[str, Any], buildings: dict[str, tuple[int, bool]], seen: dict[str, int]) -> list[dict[str, Any]]:
    out = []

    def bad(field: str, detail: str) -> None:
        out.append({"row": number, "field": field, "detail": detail})

    code, building = row.get("code"), row.get("building")
    if not code:
        bad("code", "the door code (门牌码) is empty.")
    elif len(code) > 48:
        bad("code", f"a door code is at most 48 characters; {code[:20]}… is {len(code)}.")
    elif code in seen:
        bad("code", f"door code {code} is also on row {seen[code]}.")
    if not building:
        bad("building", "the building (楼栋) is empty: a household needs its building.")
    elif building not in buildings:
        bad("building", f"no building has the code {building}.")
    elif buildings[building][1]:
        bad("building", f"building {building} was demolished.")
    for field, lo, hi in (("floor", -5, 200), ("persons", 0, 50)):
        value = row.get(field)
        if value is None:
            continue
        try:
            n = int(str(value))
        except ValueError:
            bad(field, f"{field} is a whole number; got {value!r}.")
            continue
        if not lo <= n <= hi:
            bad(field, f"{field} is {lo} to {hi}; got {n}.")
    for field, most in (("unit", 16), ("room", 16)):
        if row.get(field) and len(str(row[field])) > most:
            bad(field, f"{field} is at most {most} characters.")
    return out


def _scope(session: Session, ctx: Context, who: Principal, codes: set[str]) -> None:
    """A community admin imports the households of their own ground only (by the grid each building stands in)."""
    outside = sorted(b.code for b in session.scalars(select(Building).where(Building.code.in_(sorted(codes))))
                     if not who.covers(placed(session, ctx, b).grid))
    if outside:
        raise Forbidden(f"{len(outside)} building(s) of the file are not on ground you answer for, e.g. {outside[0]}.")


def _known(session: Session, codes: list[str]) -> dict[str, tuple[int, int]]:
    """The door codes already kept: code -> (household id, building id)."""
    found: dict[str, tuple[int, int]] = {}
    for k in range(0, len(codes), CHUNK):
        for code, hid, bid in session.execute(select(Household.code, Household.id, Household.building_id)
                                              .where(Household.code.in_(codes[k:k + CHUNK]))):
            found[code] = (hid, bid)
    return found


def _stored(row: dict[str, Any], building_id: int) -> dict[str, Any]:
    return {"code": row["code"], "building_id": building_id, "unit": row.get("unit"),
            "floor": int(row["floor"]) if row.get("floor") is not None else None, "room": row.get("room"),
            "persons": int(row["persons"]) if row.get("persons") is not None else None}

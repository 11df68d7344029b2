"""From what a resident says or scans to a building: door codes and address text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session

from gridops.boundaries.normalize import normalize_address
from gridops.core.errors import GridopsError
from gridops.core.models import Building, Household
from gridops.core.shapes import to_point
from gridops.core.words import Say

# what follows the building in an address: unit and room (2单元503室), or a room alone
_DOOR = re.compile(r"^(?P<building>.*?)(?:(?P<unit>\d+)单元)?(?:(?P<room>\d+)室)?$")
MAX_CANDIDATES = 10


class AmbiguousAddress(GridopsError):
    slug = "ambiguous-address"


class UnknownLocation(GridopsError):
    slug = "unknown-location"


@dataclass(frozen=True)
class Place:
    """A building (and maybe a household in it) that a location named."""

    lon: float
    lat: float
    building: dict[str, Any]
    household: dict[str, Any] | None = None


def _building_json(b: Building) -> dict[str, Any]:
    return {"code": b.code, "name": b.name, "address": b.address, "households": b.households}


def _place(b: Building, household: Household | None = None) -> Place:
    point = to_point(b.location)
    hh = None
    if household is not None:
        hh = {"code": household.code, "unit": household.unit, "floor": household.floor, "room": household.room}
    return Place(point.x, point.y, _building_json(b), hh)


def by_building_code(session: Session, code: str) -> Place:
    building = session.scalars(select(Building).where(Building.code == code.strip())).first()
    if building is None:
        raise UnknownLocation(Say("no building has the code %(code)r.", code=code), field="building")
    return _place(building)


def by_household_code(session: Session, code: str) -> Place:
    row = session.execute(
        select(Household, Building).join(Building, Building.id == Household.building_id).where(Household.code == code.strip())
    ).first()
    if row is None:
        raise UnknownLocation(Say("no household has the code %(code)r (the code on the door's QR label).", code=code), field="household")
    return _place(row[1], row[0])


def by_address(session: Session, text: str) -> Place:
    """The one building an address names; several → AmbiguousAddress with the candidates."""
    normal = normalize_address(text)
    door = _DOOR.match(normal)
    building_part = door.group("building") if door else normal
    if not building_part:
        raise UnknownLocation(Say("the address %(text)r names no building.", text=text), field="address")
    exact = list(session.scalars(select(Building).where(Building.address_norm == building_part).limit(MAX_CANDIDATES + 1)))
    candidates = exact or list(
        session.scalars(
            select(Building)
            .where(
                or_(
                    # the road or compound left out: "金桂苑3栋" for "青石路88号金桂苑3栋"
                    Building.address_norm.endswith(building_part, autoescape=True),
                    # more in front: district, street or city names before the road
                    literal(building_part).endswith(Building.address_norm),
                )
            )
            .order_by(Building.code)
            .limit(MAX_CANDIDATES + 1)
        )
    )
    if not candidates:
        # a compound or road alone ("书香公寓"): every building whose address holds it
        candidates = list(session.scalars(
            select(Building).where(Building.address_norm.contains(building_part, autoescape=True))
            .order_by(Building.code).limit(MAX_CANDIDATES + 1)
        ))
    if not candidates:
        raise UnknownLocation(Say("no building matches the address %(text)r.", text=text), field="address", normalized=normal)
    if len(candidates) > 1:
        shown = candidates[:MAX_CANDIDATES]
        raise AmbiguousAddress(
            Say("the address %(text)r matches %(value)s buildings; choose one by its code or give a fuller address.",
                text=text, value=len(candidates) if len(candidates) <= MAX_CANDIDATES else 'more than ' + str(MAX_CANDIDATES)),
            field="address",
            candidates=[_building_json(b) for b in shown],
        )
    building = candidates[0]
    household = None
    if door and (door.group("unit") or door.group("room")):
        stmt = select(Household).where(Household.building_id == building.id)
        if door.group("unit"):
            stmt = stmt.where(Household.unit == door.group("unit"))
        if door.group("room"):
            stmt = stmt.where(Household.room == door.group("room"))
        household = session.scalars(stmt.limit(2)).first()
    return _place(building, household)

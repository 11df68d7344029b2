"""Buildings and their households kept live: added, changed, demolished, by planners and community admins.

A building's household count is what the grids are balanced on (300–500 a grid): when it changes, the
count of the grid the building stands in, and of every area above it, follows in the same transaction,
so the dashboard, the planning warnings and the risk maps read the new figure at once. A demolished
building keeps its row (old incidents and visits name it) with no households; the people registered
for visits there are ended, their open visits cancelled, each change in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely.ops
import shapely.wkt
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.access.policy import ALL, KEEP_BUILDINGS, Forbidden, Principal, require_permission
from gridops.boundaries.areas import version_in_force
from gridops.boundaries.normalize import normalize_address
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import Area, Building, PatrolRegister, Task
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.loop import TASK_ACTIVE
from gridops.registers.audit import record_change

KIND = "building"
USES = ("residential", "mixed", "commercial", "public", "industrial", "vacant")
EDITABLE = ("name", "address", "compound", "use", "floors", "households", "footprint")
MAX_FOOTPRINT_FROM_ENTRANCE_M = 200.0  # a footprint farther than this from its door is typed wrong (lat/lon swapped, GCJ-02)
MAX_HOUSEHOLDS = 5000  # one building; a tower of 40 floors × 12 doors is 480


@dataclass(frozen=True)
class Placed:
    layer: str
    grid: str | None
    chain: tuple[str, ...]  # the grid and every area above it, in the version in force


@dataclass(frozen=True)
class BuildingQuery:
    text: str | None = None  # a part of the code, name, address or compound (小区)
    area: str | None = None  # only those standing in this area (a grid, a community …)
    demolished: bool = False
    limit: int = 200


def list_buildings(session: Session, ctx: Context, who: Principal | None, q: BuildingQuery) -> list[dict[str, Any]]:
    """The buildings a clerk looks for: by a part of their code, name or address, in an area; a community
    admin finds those of their own ground (planners and the command centre, the whole city)."""
    return [_view(b, placed(session, ctx, b)) for b in buildings_of(session, ctx, who, q)]


def buildings_of(session: Session, ctx: Context, who: Principal | None, q: BuildingQuery) -> list[Building]:
    """The rows behind list_buildings (the export reads their footprints too), scoped the same way."""
    stmt = select(Building).order_by(Building.code).limit(q.limit)
    if q.text and q.text.strip():
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(or_(Building.code.like(like), Building.name.like(like), Building.address.like(like),
                              Building.compound.like(like)))
    gone = Building.households == 0  # a demolished building keeps its row with no households and `vacant` use
    if not q.demolished:
        stmt = stmt.where(or_(~gone, Building.use != "vacant"))
    for codes in _grounds(who, q.area):
        version = version_in_force(session, ctx.geocoder.primary_layer)
        if version is None:
            return []
        inside = (select(Area.geom).where(Area.version_id == version.id, Area.code.in_(codes))
                  .where(func.ST_Intersects(Area.geom, Building.location)).exists())
        stmt = stmt.where(inside)
    return [b for b in session.scalars(stmt) if q.demolished or not demolished(b)]


def _grounds(who: Principal | None, area: str | None) -> list[list[str]]:
    """The area filters a listing applies: the area asked for, and a community admin's own ground."""
    filters = [[area]] if area else []
    if who is not None and who.policy.measures != ALL:
        filters.append(list(who.areas) or ["-"])  # no ground: nothing
    return filters


def get_building(session: Session, ctx: Context, code: str) -> dict[str, Any]:
    b = _building(session, code)
    return _view(b, placed(session, ctx, b))


def add_building(session: Session, ctx: Context, who: Principal | None, *, code: str, lon: float, lat: float,
                 note: str | None = None, **fields: Any) -> dict[str, Any]:
    """A new building at its entrance point; its households count for the grid it stands in."""
    code = code.strip()
    if not code:
        raise InvalidParameter("code", Say("a building needs a code (the one on its QR door label)."))
    if session.scalar(select(Building.id).where(Building.code == code)) is not None:
        raise Conflict(Say("building code %(code)r is taken.", code=code), field="code")
    place = _place(session, ctx, lon, lat)
    may_keep(who, place)
    b = Building(code=code, use="residential", households=0, location=from_shape(Point(lon, lat), srid=STORAGE_SRID),
                 updated_at=clock.now())
    _apply(b, fields)
    session.add(b)
    session.flush()
    _count(session, place, b.households)
    record_change(session, who, KIND, code, "create", None, facts(b), note=note)
    return _view(b, place)


def update_building(session: Session, ctx: Context, who: Principal | None, code: str, *, note: str | None = None,
                    lon: float | None = None, lat: float | None = None, **changes: Any) -> dict[str, Any]:
    """Change a building's facts; a new entrance point (lon, lat) may move it to another grid, whose count then
    takes its households from the old one."""
    b = _building(session, code, for_update=True)
    if demolished(b):
        raise Conflict(Say("building %(code)s was demolished on %(value)s.",
                           code=code, value=str((b.attributes or {}).get('demolished_at'))[:10]), field="code")
    place = placed(session, ctx, b)
    may_keep(who, place)
    before = facts(b)
    moved = None
    if lon is not None and lat is not None and (round(lon, 7), round(lat, 7)) != (before["lon"], before["lat"]):
        moved = _place(session, ctx, lon, lat)
        may_keep(who, moved)
        b.location = from_shape(Point(lon, lat), srid=STORAGE_SRID)
    _apply(b, changes)
    b.updated_at = clock.now()
    session.flush()
    if moved is not None and moved.chain != place.chain:
        _count(session, place, -before["households"])
        _count(session, moved, b.households)
    else:
        _count(session, place, b.households - before["households"])
    record_change(session, who, KIND, code, "update", before, facts(b), note=note)
    return _view(b, moved or place)


def demolish_building(session: Session, ctx: Context, who: Principal | None, code: str, *, note: str | None = None,
                      at: datetime | None = None) -> dict[str, Any]:
    """The building is gone: its households leave the grid's count, its visit registers end."""
    b = _building(session, code, for_update=True)
    if demolished(b):
        raise Conflict(Say("building %(code)s was already demolished.", code=code), field="code")
    place = placed(session, ctx, b)
    may_keep(who, place)
    now = at or clock.now()
    before = facts(b)
    gone = b.households
    b.households, b.use = 0, "vacant"
    b.attributes = {**(b.attributes or {}), "demolished_at": now.isoformat(), "households_before": gone}
    b.updated_at = now
    ended = []
    for reg in session.scalars(select(PatrolRegister).where(PatrolRegister.building_id == b.id, PatrolRegister.active.is_(True))):
        reg.active = False
        record_change(session, who, "register", str(reg.id), "end", {"active": True}, {"active": False},
                      note=f"building {code} demolished", at=now)
        ended.append(reg.id)
    if ended:
        session.execute(update(Task).where(Task.patrol_id.in_(ended), Task.status.in_(TASK_ACTIVE))
                        .values(status="cancelled", note=f"building {code} demolished"))
    session.flush()
    _count(session, place, -gone)
    record_change(session, who, KIND, code, "demolish", before, facts(b), note=note, at=now)
    view = _view(b, place)
    view["registers_ended"] = ended
    return view


def may_keep(who: Principal | None, place: Placed) -> None:
    """Planners and admins keep every building; a community admin those of their own ground."""
    if who is None:
        return
    require_permission(who, KEEP_BUILDINGS)
    if who.policy.measures != ALL and not (place.grid is not None and who.covers(place.grid)):
        raise Forbidden(Say("the building stands in grid %(grid)s, not on ground you answer for.", grid=place.grid or 'none'))


def _building(session: Session, code: str, *, for_update: bool = False) -> Building:
    stmt = select(Building).where(Building.code == code)
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(Say("no building has the code %(code)r.", code=code), field="code")
    return found


def demolished(b: Building) -> bool:
    return bool((b.attributes or {}).get("demolished_at"))


def _apply(b: Building, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], Say("a building's %(editable)s may be changed; not %(value)s.",
                                                       editable=', '.join(EDITABLE), value=', '.join(sorted(unknown))))
    if "households" in changes:
        n = changes["households"]
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_HOUSEHOLDS:
            raise InvalidParameter("households", Say("households is a whole number 0 to %(max_households)s; got %(n)r.",
                                                     max_households=MAX_HOUSEHOLDS, n=n))
    if "use" in changes and changes["use"] not in USES:
        raise InvalidParameter("use", Say("use is one of %(uses)s.", uses=', '.join(USES)), allowed=list(USES))
    if changes.get("floors") is not None and not (isinstance(changes["floors"], int) and 1 <= changes["floors"] <= 200):
        raise InvalidParameter("floors", Say("floors is 1 to 200; got %(changes)r.", changes=changes['floors']))
    if "footprint" in changes:
        shape = changes.pop("footprint")
        if shape is not None and not (isinstance(shape, Polygon | MultiPolygon) and shape.is_valid and not shape.is_empty):
            raise InvalidParameter("footprint", Say("a footprint is a valid polygon (or several) in lon/lat."))
        if shape is not None and b.location is not None:
            footprint_near(shape, to_point(b.location))
        b.footprint = None if shape is None else from_shape(
            shape if isinstance(shape, MultiPolygon) else MultiPolygon([shape]), srid=STORAGE_SRID)
    for key, value in changes.items():
        setattr(b, key, value.strip() if isinstance(value, str) else value)
    if "address" in changes:
        b.address_norm = normalize_address(b.address) if b.address else None


def _place(session: Session, ctx: Context, lon: float, lat: float) -> Placed:
    """The grid a point stands in, and the areas above it, in the version in force."""
    layer = ctx.geocoder.primary_layer
    index = ctx.geocoder.versions(None, session)[layer].index  # NoBoundaries (404) when none is in force
    areas, _, _ = index.locate_one(lon, lat)
    chain = tuple(index.codes[a] for a in areas if a >= 0)
    col = index.levels.index("grid")
    return Placed(layer, index.codes[areas[col]] if areas[col] >= 0 else None, chain)


def placed(session: Session, ctx: Context, b: Building) -> Placed:
    """Where a building stands: its grid and the areas above it, in the version in force."""
    p = to_point(b.location)
    return _place(session, ctx, p.x, p.y)


def _count(session: Session, place: Placed, delta: int) -> None:
    """The households of the grid and every area above it follow the building's (never below zero)."""
    if not delta or not place.chain:
        return
    version = version_in_force(session, place.layer)
    if version is None:
        return
    # one statement adding the difference: two clerks changing two buildings of one community at once both count
    session.execute(update(Area).where(Area.version_id == version.id, Area.code.in_(place.chain))
                    .values(households=func.max(0, Area.households + delta) if session.get_bind().dialect.name == "sqlite"
                            else func.greatest(0, Area.households + delta)))


def facts(b: Building) -> dict[str, Any]:
    p = to_point(b.location)
    return {"code": b.code, "name": b.name, "address": b.address, "compound": b.compound, "use": b.use, "floors": b.floors,
            "households": b.households, "lon": round(p.x, 7), "lat": round(p.y, 7), "footprint": footprint_wkt(b)}


def footprint_near(outline: Polygon | MultiPolygon, entrance: Point) -> Polygon | MultiPolygon:
    """A footprint that lies where its building is, within a few metres of its entrance: one typed with lat and
    lon swapped, or copied from a GCJ-02 map, would otherwise draw the building a street away."""
    if not outline.covers(entrance):
        near = shapely.ops.nearest_points(outline, entrance)[0]
        away = float(distances_m(entrance.x, entrance.y, near.x, near.y)[0])
        if away > MAX_FOOTPRINT_FROM_ENTRANCE_M:
            raise InvalidParameter("footprint", Say("the footprint is %(away)s m from the entrance; a building's "
                                                    "footprint is within %(most)s m of it.",
                                                    away=f"{away:,.0f}", most=f"{MAX_FOOTPRINT_FROM_ENTRANCE_M:g}"))
    return outline


def footprint_wkt(b: Building) -> str | None:
    """The footprint as WKT in lon/lat to 7 decimals (a centimetre): what the trail records and a file carries."""
    return None if b.footprint is None else shapely.wkt.dumps(to_shape(b.footprint), rounding_precision=7)


def _view(b: Building, place: Placed) -> dict[str, Any]:
    return {**facts(b), "grid": place.grid, "demolished_at": (b.attributes or {}).get("demolished_at"),
            "updated_at": b.updated_at.isoformat() if b.updated_at else None}

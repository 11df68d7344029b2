"""Buildings (楼栋) in bulk: the planners' or the community's sheet of buildings in, the same columns out.

A row is a building: its code (the one on its QR door label), name, address, compound (小区), use,
floors, household count, entrance point (lon, lat in WGS-84) and, when kept, its footprint (WKT or a
GeoJSON geometry). A new code is added, a known one changed where the file differs, each through
gridops.registers.buildings (so the grid's household total, and every area's above it, follows in the
same transaction, and each building's trail records its change); one audit row says what the file did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import shapely
import shapely.errors
import shapely.wkt
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_BUILDINGS, Principal, require_permission
from gridops.core.errors import InvalidParameter
from gridops.core.models import Building
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.registers import buildings, files
from gridops.registers.files import Imported, Outcome, Problems, Sheet, apply_rows, check_rows, limited, number, one_of, whole, why

KIND = "buildings"  # the audit kind of a file's import
SHEET = Sheet("buildings", ("code", "name", "address", "compound", "use", "floors", "households", "lon", "lat", "footprint"),
              ("code",), {
                  "编码": "code", "楼栋编码": "code", "楼栋代码": "code", "building": "code", "名称": "name", "楼栋名称": "name",
                  "楼名": "name", "地址": "address", "门牌地址": "address", "小区": "compound", "所属小区": "compound",
                  "用途": "use", "类型": "use", "层数": "floors", "楼层数": "floors", "户数": "households", "住户数": "households",
                  "经度": "lon", "longitude": "lon", "lng": "lon", "纬度": "lat", "latitude": "lat",
                  "轮廓": "footprint", "占地": "footprint", "wkt": "footprint", "geometry": "footprint"})
_USE_NAMES = {**{u: u for u in buildings.USES}, "住宅": "residential", "居民楼": "residential", "商住": "mixed",
              "商住两用": "mixed", "商业": "commercial", "商铺": "commercial", "公共": "public", "公共建筑": "public",
              "工业": "industrial", "厂房": "industrial", "空置": "vacant"}
_TEXTS = (("name", 128), ("address", 256), ("compound", 128))


@dataclass
class _Row:
    code: str
    building: Building | None
    values: dict[str, Any] = field(default_factory=dict)  # the facts the file gives, as add/update take them
    lon: float | None = None
    lat: float | None = None


def import_buildings(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                     note: str | None = None) -> Imported:
    """New codes added at their entrance, known ones changed where the file differs (their grid's households
    follow), rows as the register has them left alone; all or nothing."""
    if who is not None:
        require_permission(who, KEEP_BUILDINGS)
    problems = Problems()
    rows = list(SHEET.rows(data, name))
    codes = sorted({str(r["code"]) for _, r in rows if r.get("code")})
    known: dict[str, Building] = {}
    for k in range(0, len(codes), 1000):
        known.update({b.code: b for b in session.scalars(select(Building).where(Building.code.in_(codes[k:k + 1000])))})
    checked = check_rows(rows, lambda n, row: _check(n, row, known, problems), problems, SHEET)
    because = why(note, name)

    def apply(row_number: int, plan: _Row) -> Outcome:
        if plan.building is None:
            assert plan.lon is not None and plan.lat is not None  # _check refused a new building without its point
            buildings.add_building(session, ctx, who, code=plan.code, lon=plan.lon, lat=plan.lat, note=because, **plan.values)
            return "created"
        was = buildings.facts(plan.building)
        changes = {k: v for k, v in plan.values.items() if _differs(k, was.get(k), v)}
        moves = plan.lon is not None and plan.lat is not None and (round(plan.lon, 7), round(plan.lat, 7)) != (was["lon"], was["lat"])
        if not changes and not moves:
            return "unchanged"
        buildings.update_building(session, ctx, who, plan.code, note=because, lon=plan.lon if moves else None,
                                  lat=plan.lat if moves else None, **changes)
        return "updated"

    return apply_rows(session, who, KIND, name, note, checked, apply, problems, "code")


def _check(row_number: int, row: dict[str, Any], known: dict[str, Building], problems: Problems) -> _Row | None:
    before = len(problems.found)
    code = problems.key(row_number, row.get("code"), "code", "building code (楼栋编码)", 32)
    if code is None:
        return None
    plan = _Row(code, known.get(code))
    for column, most in _TEXTS:
        if column in row:
            plan.values[column] = problems.value(row_number, column, partial(limited, column=column, most=most), row[column])
    if plan.building is not None and row.get("use") == plan.building.use:
        plan.values["use"] = plan.building.use  # a use the register holds (a clinic the city was loaded with) stays
    elif use := problems.value(row_number, "use", lambda v: one_of(v, "use", _USE_NAMES), row.get("use")):
        plan.values["use"] = use
    if "floors" in row:
        plan.values["floors"] = problems.value(row_number, "floors", lambda v: whole(v, "floors", 1, 200), row["floors"])
    households = problems.value(row_number, "households", lambda v: whole(v, "households", 0, buildings.MAX_HOUSEHOLDS),
                                row.get("households"))
    if households is not None:
        plan.values["households"] = households
    plan.lon = problems.value(row_number, "lon", lambda v: number(v, "lon", -180, 180), row.get("lon"))
    plan.lat = problems.value(row_number, "lat", lambda v: number(v, "lat", -90, 90), row.get("lat"))
    if (row.get("lon") is None) != (row.get("lat") is None):
        problems.add(row_number, "lat" if row.get("lat") is None else "lon", "give both lon and lat (the entrance), or neither.")
    elif plan.building is None and row.get("lon") is None:
        problems.add(row_number, "lon", f"a new building ({code}) needs its entrance: lon and lat (WGS-84).")
    if "footprint" in row:
        at = _entrance(plan)
        plan.values["footprint"] = problems.value(row_number, "footprint", partial(footprint_at, entrance=at), row["footprint"])
    if plan.building is not None and buildings.demolished(plan.building) and len(problems.found) == before:
        was = buildings.facts(plan.building)
        if any(_differs(k, was.get(k), v) for k, v in plan.values.items()):
            problems.add(row_number, "code", f"building {code} was demolished; it is not changed any more.")
    return plan if len(problems.found) == before else None


def footprint(raw: Any) -> Polygon | MultiPolygon:
    """A footprint as a clerk's file writes it: WKT (POLYGON ((…))) or a GeoJSON geometry, in lon/lat."""
    text = str(raw).strip()
    try:
        geom: BaseGeometry = shape(json.loads(text)) if text.startswith("{") else shapely.wkt.loads(text)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException):
        raise InvalidParameter("footprint", Say("a footprint is WKT (POLYGON ((lon lat, …))) or a GeoJSON Polygon; %(text)r "
                                                "is neither.",
                                                text=text[:30])) from None
    if not isinstance(geom, Polygon | MultiPolygon) or geom.is_empty:
        raise InvalidParameter("footprint", Say("a footprint is a polygon (or several); got a %(geom_type)s.",
                                                geom_type=geom.geom_type))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter("footprint", Say("a footprint is in lon/lat (WGS-84): its coordinates are out of range."))
    if not geom.is_valid:
        raise InvalidParameter("footprint", Say("the footprint is not a valid polygon (%(value)s).",
                                                value=shapely.is_valid_reason(geom)))
    return geom


def _entrance(plan: _Row) -> Point | None:
    if plan.lon is not None and plan.lat is not None:
        return Point(plan.lon, plan.lat)
    return to_point(plan.building.location) if plan.building is not None else None


def footprint_at(raw: Any, entrance: Point | None) -> Polygon | MultiPolygon:
    """A row's footprint, parsed and where its building is (the register's rule, named on the row)."""
    outline = footprint(raw)
    return outline if entrance is None else buildings.footprint_near(outline, entrance)


def _differs(column: str, was: Any, now: Any) -> bool:
    if column == "footprint":  # stored as a MultiPolygon, written as WKT to a centimetre
        outline = MultiPolygon([now]) if isinstance(now, Polygon) else now
        return was != (None if outline is None else shapely.wkt.dumps(outline, rounding_precision=7))
    return bool(was != now)


def export_buildings(session: Session, ctx: Context, who: Principal | None) -> list[dict[str, Any]]:
    """The buildings standing (not demolished) on `who`'s ground, as the import reads them."""
    rows = buildings.buildings_of(session, ctx, who, buildings.BuildingQuery(limit=files.MAX_ROWS))
    return [buildings.facts(b) for b in rows]

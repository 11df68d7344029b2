"""Areas as of a time: which boundary version is in force, and its areas as GeoJSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from gridops.geo.crs import local_projection
from gridops.geo.geojson import bounds_of, geometry_to_geojson

from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Area, AreaLevel, BoundaryVersion, Layer
from gridops.core.words import Say

T = TypeVar("T")


@dataclass(frozen=True)
class AreaQuery:
    layer: str
    level: str | None = None
    within: str | None = None  # an ancestor's code: codes are hierarchical
    at: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 100
    offset: int = 0


def level_codes(session: Session) -> list[str]:
    return list(session.scalars(select(AreaLevel.code).order_by(AreaLevel.depth)))


def version_in_force(session: Session, layer_code: str, at: datetime | None = None) -> BoundaryVersion | None:
    """The published version of a layer effective at `at` (default: now)."""
    at = at or clock.now()
    stmt = (
        select(BoundaryVersion)
        .join(Layer, Layer.id == BoundaryVersion.layer_id)
        .where(Layer.code == layer_code, BoundaryVersion.status == "published", BoundaryVersion.effective_from <= at)
        .order_by(BoundaryVersion.effective_from.desc(), BoundaryVersion.number.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _version_meta(version: BoundaryVersion | None, layer: str) -> dict[str, Any] | None:
    if version is None:
        return None
    return {"layer": layer, "number": version.number, "effective_from": version.effective_from.isoformat()}


def _require_layer(session: Session, layer: str) -> None:
    if session.scalar(select(Layer.id).where(Layer.code == layer)) is None:
        known = list(session.scalars(select(Layer.code).order_by(Layer.code)))
        raise InvalidParameter("layer", Say("no layer %(layer)r; layers: %(known)s.",
                                            layer=layer, known=', '.join(known) or 'none loaded yet'), allowed=known)


def _feature(area: Area, parent_code: str | None, shape: BaseGeometry, area_m2: float, layer: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": area.code,
        "geometry": geometry_to_geojson(shape),
        "properties": {
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "parent_code": parent_code,
            "households": area.households,
            "population": area.population,
            "area_m2": round(area_m2, 1),
            "layer": layer,
        },
    }


def list_areas(session: Session, q: AreaQuery) -> dict[str, Any]:
    """One page of areas as a GeoJSON FeatureCollection, with OGC-style counts."""
    levels = level_codes(session)
    if q.level is not None and q.level not in levels:
        raise InvalidParameter("level", Say("`level` must be one of %(levels)s; got %(level)r.",
                                            levels=', '.join(levels), level=q.level), allowed=levels)
    _require_layer(session, q.layer)
    version = version_in_force(session, q.layer, q.at)
    empty = {
        "type": "FeatureCollection",
        "features": [],
        "numberMatched": 0,
        "numberReturned": 0,
        "boundaryVersion": _version_meta(version, q.layer),
    }
    if version is None:
        return empty

    parent = aliased(Area)
    where = [Area.version_id == version.id]
    if q.level:
        where.append(Area.level == q.level)
    if q.within:
        where.append(Area.code.startswith(q.within, autoescape=True))
        where.append(Area.code != q.within)
    if q.bbox:
        minx, miny, maxx, maxy = q.bbox
        envelope = func.ST_GeomFromText(
            f"POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))", 4326
        )
        where.append(func.ST_Intersects(Area.geom, envelope))

    matched = session.scalar(select(func.count()).select_from(Area).where(*where)) or 0
    rows = session.execute(
        select(Area, parent.code)
        .outerjoin(parent, parent.id == Area.parent_id)
        .where(*where)
        .order_by(Area.code)
        .limit(q.limit)
        .offset(q.offset)
    ).all()
    shapes = [to_shape(area.geom) for area, _ in rows]
    bbox = bounds_of(shapes)
    features: list[dict[str, Any]] = []
    if bbox is not None:  # None when the page has no areas
        minx, miny, maxx, maxy = bbox
        proj = local_projection((minx, miny, maxx, maxy))
        features = [
            _feature(area, parent_code, shape, proj.area_m2(shape), q.layer)
            for (area, parent_code), shape in zip(rows, shapes, strict=True)
        ]
    return {**empty, "bbox": bbox, "features": features, "numberMatched": matched, "numberReturned": len(features)}


def get_area(session: Session, layer: str, code: str, at: datetime | None = None) -> dict[str, Any]:
    _require_layer(session, layer)
    version = version_in_force(session, layer, at)
    if version is None:
        raise NotFound(Say("no boundary version of layer %(layer)r is in force at that time.", layer=layer))
    area = session.scalars(select(Area).where(Area.version_id == version.id, Area.code == code)).first()
    if area is None:
        raise NotFound(Say("no area %(code)r in layer %(layer)r (version %(number)s).", code=code, layer=layer, number=version.number))
    parent_code = session.scalar(select(Area.code).where(Area.id == area.parent_id)) if area.parent_id else None
    shape = to_shape(area.geom)
    feature = _feature(area, parent_code, shape, local_projection(shape).area_m2(shape), layer)
    feature["bbox"] = bounds_of([shape])
    feature["properties"]["boundaryVersion"] = _version_meta(version, layer)
    return feature


class StoredAreaFacts(Generic[T]):
    """Something derived from a stored area, remembered per process and per database (keyed by the
    engine's URL and the area's row id): a stored area never changes, a redraw is a new version's rows."""

    def __init__(self, load: Callable[[Session, int], T | None], limit: int = 200_000) -> None:
        self._load, self._limit = load, limit
        self._known: dict[tuple[str, int], T] = {}

    def get(self, session: Session, area_id: int) -> T | None:
        key = (str(session.get_bind().engine.url), area_id)
        found = self._known.get(key)
        if found is None:
            found = self._load(session, area_id)
            if found is not None:
                if len(self._known) >= self._limit:
                    self._known.clear()
                self._known[key] = found
        return found


_CODES: StoredAreaFacts[str] = StoredAreaFacts(lambda s, i: s.scalar(select(Area.code).where(Area.id == i)))


def code_of(session: Session, area_id: int) -> str | None:
    """An area's code by its row id, remembered per process (every step of the loop asks it)."""
    return _CODES.get(session, area_id)


def area_names(session: Session, layer: str, codes: Iterable[str], at: datetime | None = None) -> dict[str, str]:
    """The names of areas in the version in force (pages name grids and communities, not 15-digit codes)."""
    wanted = sorted(set(codes))
    version = version_in_force(session, layer, at)
    if version is None or not wanted:
        return {}
    return dict(session.execute(select(Area.code, Area.name).where(Area.version_id == version.id, Area.code.in_(wanted))).all())

"""The live map's data, without the drawing: the boundaries in force with each grid's worker, for the dispatch
console (/map, a Jinja page) and the rendered snapshot file (gridops.analytics.mapping, drawn with folium). Kept
apart from folium so the page does not pay for importing it."""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.geojson import geometry_to_geojson

from gridops.boundaries.areas import version_in_force
from gridops.core.errors import NotFound
from gridops.core.models import Area, Assignment, Layer, Worker
from gridops.core.words import Say


def boundaries(session: Session, layer: str) -> dict[str, Any]:
    """Grids (with their worker) and micro-grids of the version in force, simplified for drawing."""
    version = version_in_force(session, layer)
    if version is None:
        raise NotFound(Say("layer %(layer)r has no published boundaries yet.", layer=layer))
    layer_id = session.scalar(select(Layer.id).where(Layer.code == layer))
    workers: dict[str, list[str]] = {}
    for code, name, _ in session.execute(
        select(Assignment.area_code, Worker.name, Assignment.duty).join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.layer_id == layer_id, Assignment.valid_to.is_(None), Assignment.duty == "primary")
    ):
        workers.setdefault(code, []).append(name)
    rows = session.execute(select(Area.code, Area.name, Area.level, Area.households, Area.geom)
                           .where(Area.version_id == version.id, Area.level.in_(["grid", "micro_grid"]))).all()
    grids: list[dict[str, Any]] = []
    micro: list[dict[str, Any]] = []
    for code, name, level, hh, geom in rows:
        shape = shapely.simplify(to_shape(geom), 0.000005)
        feature = {"type": "Feature", "geometry": geometry_to_geojson(shape, 6),
                   "properties": {"code": code, "name": name, "households": hh, "worker": "、".join(workers.get(code, [])) or None}}
        (grids if level == "grid" else micro).append(feature)
    tops = [to_shape(g) for g in session.scalars(select(Area.geom).where(Area.version_id == version.id, Area.parent_id.is_(None)))]
    return {"version": version.number, "outline": geometry_to_geojson(shapely.union_all(tops), 6),
            "grids": {"type": "FeatureCollection", "features": grids},
            "micro_grids": {"type": "FeatureCollection", "features": micro}}

"""The city's own base map, served as small GeoJSON tiles: streets (named, by kind) and building footprints.

Streets and buildings are loaded with the city (gridops load) and kept by its offices; drawing them under the
grids gives every map a street plan with no tile server and no internet. A tile holds what a 256-pixel square
can show: from z13 the arterials, from z14 every street, from z15 the buildings; each geometry simplified to
what a pixel can show, so a tile stays a few kilobytes.
"""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.geojson import geometry_to_geojson
from gridops.geo.tiles import tile_bounds, tile_size_m

from gridops.basemap.settings import CITY_MIN_ZOOM
from gridops.core.errors import InvalidParameter
from gridops.core.models import Building, Road
from gridops.core.words import Say

MAX_ZOOM = 20
STREETS_FROM, ALL_STREETS_FROM, BUILDINGS_FROM = CITY_MIN_ZOOM, 14, 15


def city_tile(session: Session, z: int, x: int, y: int) -> dict[str, Any]:
    """Tile z/x/y of the city's map as a FeatureCollection (empty outside the city or farther out than z13)."""
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise InvalidParameter("tile", Say("no tile %(z)s/%(x)s/%(y)s: zoom is 0 to %(max_zoom)s, x and y 0 to 2^zoom - 1.",
                                           z=z, x=x, y=y, max_zoom=MAX_ZOOM))
    features: list[dict[str, Any]] = []
    if z < STREETS_FROM:
        return {"type": "FeatureCollection", "features": features}
    west, south, east, north = tile_bounds(z, x, y)
    box = shapely.box(west, south, east, north)
    envelope = func.ST_GeomFromText(box.wkt, 4326)
    # a pixel of this tile, in degrees: detail finer than that is not seen
    pixel = (east - west) / 256 * (1 if z < MAX_ZOOM else 0.5)
    roads = select(Road.name, Road.kind, Road.geom).where(func.ST_Intersects(Road.geom, envelope))
    if z < ALL_STREETS_FROM:
        roads = roads.where(Road.kind == "arterial")
    for name, kind, geom in session.execute(roads):
        line = shapely.simplify(to_shape(geom), pixel)
        features.append({"type": "Feature", "geometry": geometry_to_geojson(line, 6),
                         "properties": {"layer": "street", "kind": kind, "name": name or ""}})
    if z >= BUILDINGS_FROM:
        buildings = select(Building.use, Building.footprint).where(Building.footprint.is_not(None),
                                                                    func.ST_Intersects(Building.footprint, envelope))
        for use, footprint in session.execute(buildings):
            shape = to_shape(footprint)  # type: ignore[arg-type]  # filtered: not null
            if tile_size_m(z, south) / 256 > 2.0:  # at z15 a building is a few pixels: its outline would be noise
                shape = shapely.simplify(shape, pixel)
            features.append({"type": "Feature", "geometry": geometry_to_geojson(shape, 6),
                             "properties": {"layer": "building", "use": use}})
    return {"type": "FeatureCollection", "features": features}

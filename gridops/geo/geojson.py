"""GeoJSON out, with coordinates rounded at the edge only.

Seven decimals of a degree is about 1 cm: enough for a boundary, and it makes a
FeatureCollection of grids a third of the size. Rounding is a pure function of
each value, so a vertex two areas share stays shared.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["geometry_to_geojson", "bounds_of"]


def _round(coords: Any, ndigits: int) -> Any:
    if isinstance(coords, (int, float)):
        return round(float(coords), ndigits)
    return [_round(c, ndigits) for c in coords]


def geometry_to_geojson(geom: BaseGeometry, ndigits: int = 7) -> dict[str, Any]:
    mapping = shapely.geometry.mapping(geom)
    if "coordinates" in mapping:
        return {"type": mapping["type"], "coordinates": _round(mapping["coordinates"], ndigits)}
    return {
        "type": mapping["type"],
        "geometries": [geometry_to_geojson(g, ndigits) for g in geom.geoms],
    }


def bounds_of(geoms: list[BaseGeometry], ndigits: int = 7) -> list[float] | None:
    """The RFC 7946 bbox of some geometries, or None when there are none."""
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [round(float(v), ndigits) for v in (minx, miny, maxx, maxy)]

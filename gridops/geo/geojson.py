"""GeoJSON out, with coordinates rounded at the edge only.

Seven decimals of a degree is about 1 cm: enough for a boundary, and it makes a
FeatureCollection of grids a third of the size. Rounding is a pure function of
each value, so a vertex two areas share stays shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, cast

import shapely
from shapely.geometry import GeometryCollection
from shapely.geometry.base import BaseGeometry

__all__ = ["geometry_to_geojson", "bounds_of"]

# GeoJSON coordinates: a number, or a (nested) sequence of them
_Coordinates: TypeAlias = float | Sequence["_Coordinates"]
_Rounded: TypeAlias = float | list["_Rounded"]


def _round(coords: _Coordinates, ndigits: int) -> _Rounded:
    if isinstance(coords, (int, float)):
        return round(float(coords), ndigits)
    return [_round(c, ndigits) for c in coords]


def geometry_to_geojson(geom: BaseGeometry, ndigits: int = 7) -> dict[str, Any]:
    mapping = shapely.geometry.mapping(geom)
    if "coordinates" in mapping:
        return {"type": mapping["type"], "coordinates": _round(mapping["coordinates"], ndigits)}
    # no "coordinates": a GeometryCollection, which mypy cannot tell from the mapping (quoted: not generic at runtime)
    parts = cast("GeometryCollection[BaseGeometry]", geom).geoms
    return {
        "type": mapping["type"],
        "geometries": [geometry_to_geojson(g, ndigits) for g in parts],
    }


def bounds_of(geoms: list[BaseGeometry], ndigits: int = 7) -> list[float] | None:
    """The RFC 7946 bbox of some geometries, or None when there are none."""
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [round(float(v), ndigits) for v in (minx, miny, maxx, maxy)]

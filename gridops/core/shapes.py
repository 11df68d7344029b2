"""Stored geometries as shapely shapes, typed as what their columns hold.

GeoAlchemy2's `to_shape` answers any geometry (its annotation cannot know the
column's declared type); a POINT column's values are points, so the readers of
`.x` and `.y` ask for one here instead of repeating the cast at every use.
"""

from __future__ import annotations

from typing import cast

from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely.geometry import Point


def to_point(element: WKBElement | WKTElement) -> Point:
    """`to_shape` for a value of a POINT column (Building.location, Incident.location, Worker.last_position …)."""
    return cast(Point, to_shape(element))

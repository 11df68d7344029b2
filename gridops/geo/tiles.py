"""Web-map tiles (the XYZ scheme of OSM and every intranet tile server): the ground a tile covers."""

from __future__ import annotations

import math


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of tile z/x/y."""
    n = 2 ** z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def tile_size_m(z: int, lat: float) -> float:
    """A tile's width on the ground at a latitude: what simplification can drop unseen (a 256-pixel tile)."""
    return 40_075_016.686 * math.cos(math.radians(lat)) / float(2 ** z)

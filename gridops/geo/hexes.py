"""H3 cells for counting where things happen: the cell every incident is stored with, and rolling up.

Incidents are stored with their H3 cell at `STORED_RES` (about 15,000 m², edge
~66 m): aggregation by cell is then a GROUP BY on an indexed integer, on either
backend, with no spatial extension for H3. Coarser maps roll those counts up to
a parent resolution in memory (a city has thousands of fine cells, not millions).
Cells are H3 v4 integers (they fit a signed 64-bit column: bit 63 is always 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h3
import h3.api.numpy_int as h3i
import numpy as np
import numpy.typing as npt
from shapely.geometry import Polygon

__all__ = ["STORED_RES", "cell_of", "cells_of", "to_parent", "cell_polygon", "neighbours", "cells_covering"]

STORED_RES = 10


def cell_of(lon: float, lat: float, res: int = STORED_RES) -> int:
    return int(h3i.latlng_to_cell(lat, lon, res))


def cells_of(
    lon: Sequence[float] | npt.NDArray[np.float64], lat: Sequence[float] | npt.NDArray[np.float64], res: int = STORED_RES
) -> npt.NDArray[np.int64]:
    """The cell of every point, as int64."""
    f = h3i.latlng_to_cell
    return np.fromiter((f(y, x, res) for x, y in zip(lon, lat, strict=True)), dtype=np.uint64, count=len(lon)).astype(np.int64)


def to_parent(cells: Iterable[int], res: int) -> list[int]:
    f = h3i.cell_to_parent
    return [int(f(np.uint64(c), res)) for c in cells]


def cell_polygon(cell: int) -> Polygon:
    """The hexagon in lon/lat."""
    ring = h3.cell_to_boundary(h3.int_to_str(int(cell)))
    return Polygon([(lng, lat) for lat, lng in ring])


def neighbours(cells: Sequence[int], k: int = 1) -> dict[int, list[int]]:
    """Each cell's cells within k steps (itself excluded), restricted to `cells`."""
    present = set(int(c) for c in cells)
    out: dict[int, list[int]] = {}
    for c in present:
        ring = (int(h3.str_to_int(n)) for n in h3.grid_disk(h3.int_to_str(c), k))
        out[c] = sorted(n for n in ring if n != c and n in present)
    return out


def cells_covering(polygon_rings: Sequence[Sequence[tuple[float, float]]], res: int) -> list[int]:
    """The cells whose centres lie in a polygon (exterior ring first, then holes), lon/lat."""
    outer, *holes = polygon_rings
    shape = h3.LatLngPoly([(y, x) for x, y in outer], *[[(y, x) for x, y in hole] for hole in holes])
    return [int(h3.str_to_int(c)) for c in h3.h3shape_to_cells(shape, res)]

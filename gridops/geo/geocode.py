"""A whole layer's tree, located at once: every point to its leaf and every ancestor.

The finest areas (micro-grids, or whatever has no children) go into the fast
index; their ancestors come from the tree. On a shared edge the tie-break is
applied at each level on its own — the smallest code among the areas of that
level that cover the point — which is what `ST_Covers … ORDER BY code LIMIT 1`
gives level by level in SQL. Because a child's code starts with its parent's,
the answers at different levels always form one chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from gridops.geo.index import RasterIndex, _smallest_code

__all__ = ["LayerIndex", "LayerPlacement"]


@dataclass(frozen=True)
class LayerPlacement:
    areas: npt.NDArray[np.int64]  # (n points, n levels): area positions in the layer, -1 where none
    status: npt.NDArray[np.uint8]  # per point, geo.index statuses (of the finest level)
    distance_m: npt.NDArray[np.float64]
    levels: tuple[str, ...]  # column order of `areas`, coarse to fine


class LayerIndex:
    """One boundary version of one layer, ready for lookups."""

    def __init__(
        self,
        codes: Sequence[str],
        levels: Sequence[str],
        parents: Sequence[int],
        polygons: Sequence[BaseGeometry],
        level_order: Sequence[str],
        snap_distance_m: float = 50.0,
        cell_m: float | None = None,
    ) -> None:
        n = len(codes)
        self.codes = list(codes)
        self.level_of = list(levels)
        parents_arr = np.asarray(parents, dtype=np.int64) if n else np.empty(0, dtype=np.int64)
        present = set(levels)
        self.levels = tuple(lv for lv in level_order if lv in present)
        column = {lv: k for k, lv in enumerate(self.levels)}
        has_child = np.zeros(n, dtype=bool)
        has_child[parents_arr[parents_arr >= 0]] = True
        self.leaves = np.flatnonzero(~has_child)
        self.rank = np.argsort(np.argsort(np.asarray(self.codes, dtype=object))).astype(np.int64) if n else np.empty(0, dtype=np.int64)
        # for each leaf, the area at every level above it (and itself)
        self.chain = np.full((len(self.leaves), len(self.levels)), -1, dtype=np.int64)
        for row, leaf in enumerate(self.leaves):
            node = int(leaf)
            while node >= 0:
                self.chain[row, column[levels[node]]] = node
                node = int(parents_arr[node])
        self.index = RasterIndex(
            [self.codes[i] for i in self.leaves],
            [polygons[int(i)] for i in self.leaves],  # a Sequence takes an int, not a numpy integer
            snap_distance_m=snap_distance_m,
            cell_m=cell_m,
        )

    def locate_one(self, lon: float, lat: float) -> tuple[list[int], int, float]:
        """One point: (area per level, -1 where none; status; distance_m), as locate() would give."""
        leaf, status, distance, covering = self.index.locate_one(lon, lat)
        if leaf < 0:
            return [-1] * len(self.levels), status, distance
        if len(covering) <= 1:
            return self.chain[leaf].tolist(), status, distance
        areas: list[int] = []
        for col in range(len(self.levels)):
            options = [int(a) for a in self.chain[covering, col] if a >= 0]
            areas.append(min(options, key=lambda a: self.rank[a]) if options else -1)
        return areas, status, distance

    def locate(self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> LayerPlacement:
        placed = self.index.locate(lon, lat)
        n = len(placed.index)
        areas = np.full((n, len(self.levels)), -1, dtype=np.int64)
        found = placed.index >= 0
        areas[found] = self.chain[placed.index[found]]
        if placed.multi_points is not None and placed.multi_points.size:
            for col in range(len(self.levels)):
                candidates = self.chain[placed.multi_areas, col]
                ok = candidates >= 0
                pts, chosen = _smallest_code(self.rank, placed.multi_points[ok], candidates[ok])
                areas[pts, col] = chosen
        return LayerPlacement(areas, placed.status, placed.distance_m, self.levels)

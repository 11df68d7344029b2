"""Distances along the street network: who is nearest on foot, not as the crow flies.

The network is built from road segments (lon/lat lines); their end points are
the nodes, matched to a millimetre so segments that meet share a node. A place
off the network joins it at the nearest node, and the walk to that node is
counted straight.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection, local_projection

__all__ = ["StreetNetwork"]


@dataclass
class StreetNetwork:
    proj: LocalProjection
    nodes: npt.NDArray[np.float64]  # (n, 2) metres
    adjacency: list[list[tuple[int, float]]]
    _tree: shapely.STRtree

    @classmethod
    def from_lines(cls, lines: Sequence[BaseGeometry]) -> StreetNetwork:
        proj = local_projection(tuple(shapely.total_bounds(np.asarray(lines, dtype=object))))
        ids: dict[tuple[int, int], int] = {}
        points: list[tuple[float, float]] = []
        adjacency: list[list[tuple[int, float]]] = []

        def node(x: float, y: float) -> int:
            key = (round(x * 1000), round(y * 1000))
            if key not in ids:
                ids[key] = len(points)
                points.append((x, y))
                adjacency.append([])
            return ids[key]

        for line in lines:
            xy = np.asarray(proj.to_metric(line).coords)
            for (x1, y1), (x2, y2) in zip(xy[:-1], xy[1:], strict=True):
                a, b = node(x1, y1), node(x2, y2)
                length = float(np.hypot(x2 - x1, y2 - y1))
                if a != b:
                    adjacency[a].append((b, length))
                    adjacency[b].append((a, length))
        nodes = np.asarray(points, dtype=float)
        # an (n, 2) array makes an array of points (the stubs cannot tell it from one (x, y) pair)
        return cls(proj, nodes, adjacency, shapely.STRtree(cast(npt.NDArray[np.object_], shapely.points(nodes))))

    def _nearest_node(self, lon: float, lat: float) -> tuple[int, float]:
        x, y = self.proj.xy_to_metric(np.array([lon]), np.array([lat]))
        p = shapely.Point(float(x[0]), float(y[0]))
        k = int(self._tree.nearest(p))
        return k, float(np.hypot(*(self.nodes[k] - (p.x, p.y))))

    def distances_from(self, lon: float, lat: float, targets: Sequence[tuple[float, float]], limit_m: float = 20_000.0) -> list[float]:
        """Metres along the streets from one place to each target (inf when unreachable within the limit)."""
        start, offset = self._nearest_node(lon, lat)
        best = {start: offset}
        heap = [(offset, start)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best.get(u, float("inf")) or d > limit_m:
                continue
            for v, w in self.adjacency[u]:
                nd = d + w
                if nd < best.get(v, float("inf")):
                    best[v] = nd
                    heapq.heappush(heap, (nd, v))
        out: list[float] = []
        for tlon, tlat in targets:
            k, tail = self._nearest_node(tlon, tlat)
            out.append(best.get(k, float("inf")) + tail)
        return out

"""Point → area, exact: which polygon covers each point, with a fixed tie-break.

Containment is decided in lon/lat, as PostGIS decides `ST_Covers` on EPSG:4326
geometries, so both give the same answer. A point on an edge shared by two areas
is covered by both; the area with the smallest code wins, every time (the same
as `ORDER BY code LIMIT 1` after `ST_Covers` in SQL). Distances for points
outside every area are measured in metres, in a local projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .crs import local_projection

__all__ = ["INSIDE", "ON_BOUNDARY", "SNAPPED", "OUTSIDE", "Placement", "AreaIndex"]

INSIDE = "inside"
ON_BOUNDARY = "on_boundary"
SNAPPED = "snapped"
OUTSIDE = "outside"


@dataclass(frozen=True)
class Placement:
    index: np.ndarray  # position in the index's areas, -1 where outside
    status: np.ndarray  # INSIDE, ON_BOUNDARY, SNAPPED, OUTSIDE
    distance_m: np.ndarray  # 0 where covered; metres to the nearest area otherwise


class AreaIndex:
    """Areas of one level that tile the ground (grids, or micro-grids)."""

    def __init__(self, codes: Sequence[str], polygons: Sequence[BaseGeometry], snap_distance_m: float = 50.0) -> None:
        if len(codes) != len(polygons):
            raise ValueError("one code per polygon")
        self.codes = list(codes)
        self.polygons = np.asarray(polygons, dtype=object)
        self.snap_distance_m = snap_distance_m
        # rank of each area's code: the tie-break on shared edges
        self._rank = np.argsort(np.argsort(np.asarray(self.codes, dtype=object)))
        self._tree = shapely.STRtree(self.polygons)
        shapely.prepare(self.polygons)
        self._proj = local_projection(tuple(shapely.total_bounds(self.polygons))) if len(self.codes) else None
        self._metric_tree = (
            shapely.STRtree([self._proj.to_metric(p) for p in self.polygons]) if self._proj else None
        )

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Placement:
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        n = len(lon)
        index = np.full(n, -1, dtype=np.int64)
        status = np.full(n, OUTSIDE, dtype=object)
        distance = np.zeros(n)
        if n == 0 or not self.codes:
            distance[:] = np.inf
            return Placement(index, status, distance)
        points = shapely.points(lon, lat)
        hits = self._tree.query(points, predicate="covered_by")
        if hits.size:
            pts, areas = hits
            # smallest code first among areas covering the same point
            order = np.lexsort((self._rank[areas], pts))
            pts, areas = pts[order], areas[order]
            first = np.ones(len(pts), dtype=bool)
            first[1:] = pts[1:] != pts[:-1]
            index[pts[first]] = areas[first]
            covered = pts[first]
            on_edge = shapely.intersects(points[covered], shapely.boundary(self.polygons[areas[first]]))
            status[covered] = np.where(on_edge, ON_BOUNDARY, INSIDE)
        outside = np.flatnonzero(index < 0)
        if outside.size:
            x, y = self._proj.xy_to_metric(lon[outside], lat[outside])
            near_in, near_area = self._metric_tree.query_nearest(shapely.points(x, y), all_matches=False)
            dist = shapely.distance(
                shapely.points(x[near_in], y[near_in]), self._metric_tree.geometries[near_area]
            )
            distance[outside[near_in]] = dist
            snap = dist <= self.snap_distance_m
            index[outside[near_in][snap]] = near_area[snap]
            status[outside[near_in][snap]] = SNAPPED
        return Placement(index, status, distance)

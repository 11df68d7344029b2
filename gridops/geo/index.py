"""Point → area, exact: which polygon covers each point, with a fixed tie-break.

Containment is decided in lon/lat, as PostGIS decides `ST_Covers` on EPSG:4326
geometries, so both give the same answer. A point on an edge shared by two areas
is covered by both; the area with the smallest code wins, every time (the same
as `ORDER BY code LIMIT 1` after `ST_Covers` in SQL). Distances for points
outside every area are measured in metres, in a local projection.

Two indexes give identical answers: AreaIndex (an STRtree, the plain reference)
and RasterIndex (the fast one the service uses).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from gridops.geo.crs import LocalProjection, local_projection

__all__ = ["INSIDE", "ON_BOUNDARY", "SNAPPED", "OUTSIDE", "STATUS", "Placement", "AreaIndex", "RasterIndex"]

# Statuses are small integers in arrays (a million points stay cheap); STATUS
# names them for answers.
INSIDE, ON_BOUNDARY, SNAPPED, OUTSIDE = 0, 1, 2, 3
STATUS = ("inside", "on_boundary", "snapped", "outside")

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]  # positions: of points, of areas, of raster cells
_Statuses: TypeAlias = npt.NDArray[np.uint8]
_Geoms: TypeAlias = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Placement:
    index: _Ints  # position in the index's areas, -1 where outside
    status: _Statuses  # INSIDE, ON_BOUNDARY, SNAPPED, OUTSIDE
    distance_m: _Floats  # 0 where covered; metres to the nearest area otherwise
    # every (point, area) pair for points covered by more than one area (on a
    # shared edge or vertex, or where areas overlap): callers resolving several
    # levels apply the tie-break per level with these
    multi_points: _Ints
    multi_areas: _Ints


def _ranges(counts: _Ints) -> _Ints:
    """0..c-1 for each c in counts, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _smallest_code(rank: _Ints, points: _Ints, areas: _Ints) -> tuple[_Ints, _Ints]:
    """Per point, the area with the smallest code: the documented tie-break."""
    if points.size == 0:
        return points, areas
    order = np.lexsort((rank[areas], points))
    points, areas = points[order], areas[order]
    first = np.ones(len(points), dtype=bool)
    first[1:] = points[1:] != points[:-1]
    return points[first], areas[first]


def _shared(points: _Ints, areas: _Ints) -> tuple[_Ints, _Ints]:
    """The (point, area) pairs of points that more than one area covers."""
    if points.size == 0:
        return points, areas
    _, inverse, counts = np.unique(points, return_inverse=True, return_counts=True)
    keep = counts[inverse] > 1
    return points[keep], areas[keep]


class _Index(ABC):
    """What both indexes share: codes, their ranks, prepared polygons, and snapping in metres."""

    def __init__(self, codes: Sequence[str], polygons: Sequence[BaseGeometry], snap_distance_m: float) -> None:
        if len(codes) != len(polygons):
            raise ValueError("one code per polygon")
        self.codes = list(codes)
        self.polygons: _Geoms = np.asarray(polygons, dtype=object)
        self.snap_distance_m = snap_distance_m
        self._rank = np.argsort(np.argsort(np.asarray(self.codes, dtype=object))).astype(np.int64)
        shapely.prepare(self.polygons)
        self._proj = local_projection(tuple(shapely.total_bounds(self.polygons))) if self.codes else None
        self._metric_tree = shapely.STRtree([self._proj.to_metric(p) for p in self.polygons]) if self._proj else None

    def locate(self, lon: _Floats, lat: _Floats) -> Placement:
        """Every point's area, status and distance (the placement itself is each index's own)."""
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        n = len(lon)
        index = np.full(n, -1, dtype=np.int64)
        status = np.full(n, OUTSIDE, dtype=np.uint8)
        none = np.empty(0, dtype=np.int64)
        if n == 0 or not self.codes:
            return Placement(index, status, np.full(n, np.inf), none, none)
        distance = np.zeros(n)
        multi_points, multi_areas = self._place(lon, lat, index, status)
        outside = np.flatnonzero(index < 0)
        if outside.size:
            self._snap(lon, lat, outside, index, status, distance)
        return Placement(index, status, distance, multi_points, multi_areas)

    @abstractmethod
    def _place(self, lon: _Floats, lat: _Floats, index: _Ints, status: _Statuses) -> tuple[_Ints, _Ints]:
        """Fill index and status for covered points; return the pairs of points covered more than once."""

    def _snap(self, lon: _Floats, lat: _Floats, outside: _Ints, index: _Ints, status: _Statuses, distance: _Floats) -> None:
        """Points in no area: the nearest area in metres, taken if within the snap distance."""
        assert self._proj is not None and self._metric_tree is not None  # locate() snaps only when there are areas
        x, y = self._proj.xy_to_metric(lon[outside], lat[outside])
        near_in, near_area = self._metric_tree.query_nearest(shapely.points(x, y), all_matches=False)
        dist = shapely.distance(shapely.points(x[near_in], y[near_in]), self._metric_tree.geometries[near_area])
        far = dist > _PLANAR_LIMIT_M
        if far.any():
            dist[far] = self._geodesic(lon[outside][near_in][far], lat[outside][near_in][far], near_area[far])
        targets = outside[near_in]
        distance[targets] = dist
        snap = dist <= self.snap_distance_m
        index[targets[snap]] = near_area[snap]
        status[targets[snap]] = SNAPPED


    def _geodesic(self, lon: _Floats, lat: _Floats, areas: _Ints) -> _Floats:
        """Metres on the ellipsoid from each point to the nearest point of its area.

        Far from the data a local projection stretches distances (by a tenth at
        8,000 km), so far points are measured on the WGS-84 ellipsoid instead.
        """
        lines = shapely.shortest_line(shapely.points(lon, lat), self.polygons[areas])
        _, ends = shapely.get_coordinates(lines).reshape(-1, 2, 2).transpose(1, 0, 2)
        _, _, dist = _GEOD.inv(lon, lat, ends[:, 0], ends[:, 1])
        return np.asarray(dist, dtype=float)


# beyond this a local projection's distances are no longer good to a metre per kilometre
_PLANAR_LIMIT_M = 100_000.0
_GEOD = pyproj.Geod(ellps="WGS84")


class AreaIndex(_Index):
    """The plain reference: an STRtree and GEOS `covers`, point by point."""

    def __init__(self, codes: Sequence[str], polygons: Sequence[BaseGeometry], snap_distance_m: float = 50.0) -> None:
        super().__init__(codes, polygons, snap_distance_m)
        self._tree = shapely.STRtree(self.polygons)

    def _place(self, lon: _Floats, lat: _Floats, index: _Ints, status: _Statuses) -> tuple[_Ints, _Ints]:
        points = cast(_Geoms, shapely.points(lon, lat))  # arrays of coordinates: an array of points (the stubs also allow one Point)
        hits = self._tree.query(points, predicate="covered_by")
        if not hits.size:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        pts, areas = hits
        chosen_pts, chosen_areas = _smallest_code(self._rank, pts, areas)
        index[chosen_pts] = chosen_areas
        on_edge = shapely.intersects(points[chosen_pts], shapely.boundary(self.polygons[chosen_areas]))
        status[chosen_pts] = np.where(on_edge, ON_BOUNDARY, INSIDE)
        return _shared(pts, areas)


# --- the raster index -----------------------------------------------------------

_EMPTY = -1  # raster value: no area touches the cell
# raster values <= -2 name a boundary cell: id = -value - 2


def _segments(polygons: _Geoms) -> tuple[_Floats, _Floats, _Floats, _Floats, _Ints]:
    """Every ring segment of every polygon: x1, y1, x2, y2 and the polygon it belongs to."""
    parts, part_of = shapely.get_parts(polygons, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, point_of = shapely.get_coordinates(rings, return_index=True)
    same = point_of[1:] == point_of[:-1]
    owner = part_of[ring_of[point_of[:-1][same]]].astype(np.int64)
    start, stop = xy[:-1][same], xy[1:][same]
    return start[:, 0], start[:, 1], stop[:, 0], stop[:, 1], owner


def _sorted_unique(values: _Ints) -> _Ints:
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _scanline_cells(u1: _Floats, v1: _Floats, u2: _Floats, v2: _Floats, owner: _Ints, nx: int) -> tuple[_Ints, _Ints]:
    """(cell, area) for every cell whose centre lies inside an area, all areas at once.

    Coordinates are in cell units. Each edge crosses the rows whose centre line
    v = j + 0.5 lies in [min(v1, v2), max(v1, v2)); sorted by (area, row, u),
    the crossings of an area's closed rings pair up on each row, and each pair
    bounds a run of cell centres inside the area (even-odd: holes are holes).
    """
    lo = np.ceil(np.minimum(v1, v2) - 0.5).astype(np.int64)
    hi = np.ceil(np.maximum(v1, v2) - 0.5).astype(np.int64)
    count = np.maximum(hi - lo, 0)
    edge = np.repeat(np.arange(len(u1)), count)
    row = lo[edge] + _ranges(count)
    vc = row + 0.5
    uc = u1[edge] + (vc - v1[edge]) * (u2[edge] - u1[edge]) / (v2[edge] - v1[edge])
    area = owner[edge]
    order = np.lexsort((uc, row, area))
    row, uc, area = row[order], uc[order], area[order]
    starts = np.ceil(uc[0::2] - 0.5).astype(np.int64)
    stops = np.ceil(uc[1::2] - 0.5).astype(np.int64)
    width = np.maximum(stops - starts, 0)
    run = np.repeat(np.arange(len(width)), width)
    cells = row[0::2][run] * nx + starts[run] + _ranges(width)
    return cells, area[0::2][run]


def _crossed_cells(u1: _Floats, v1: _Floats, u2: _Floats, v2: _Floats, owner: _Ints, nx: int, ny: int) -> tuple[_Ints, _Ints]:
    """(cell, area) for every cell an area's edge passes through.

    Cells are half-open, [i, i+1) × [j, j+1), as the lookup's floor() makes
    them. A segment passes through exactly the cells holding the midpoints
    between its consecutive grid-line crossings. A vertex, or a crossing that
    all but meets a cell corner, also marks the four cells around it: a vertex
    on a cell border belongs to a cell its segments may never enter.
    """
    seg = np.arange(len(u1))
    ts, segs = [np.zeros(len(u1)), np.ones(len(u1))], [seg, seg]
    for a, b in ((u1, u2), (v1, v2)):
        first = np.floor(np.minimum(a, b)) + 1
        k = np.maximum(np.ceil(np.maximum(a, b)) - first, 0).astype(np.int64)
        which = np.repeat(seg, k)
        ts.append((first[which] + _ranges(k) - a[which]) / (b[which] - a[which]))
        segs.append(which)
    t = np.concatenate(ts)
    which = np.concatenate(segs)
    order = np.lexsort((t, which))
    t, which = t[order], which[order]
    same = which[1:] == which[:-1]
    mid_t = (t[1:][same] + t[:-1][same]) / 2.0
    mid_seg = which[1:][same]
    du, dv = u2 - u1, v2 - v1
    corner = np.flatnonzero(same & (np.abs(t[1:] - t[:-1]) < 1e-9))
    corner_seg, corner_t = which[1:][corner], t[1:][corner]
    spots_u = np.concatenate([u1, u1[corner_seg] + corner_t * du[corner_seg]])
    spots_v = np.concatenate([v1, v1[corner_seg] + corner_t * dv[corner_seg]])
    spots_o = np.concatenate([owner, owner[corner_seg]])
    eps = 1e-6
    us = [u1[mid_seg] + mid_t * du[mid_seg]] + [spots_u + ou for ou in (-eps, -eps, eps, eps)]
    vs = [v1[mid_seg] + mid_t * dv[mid_seg]] + [spots_v + ov for ov in (-eps, eps, -eps, eps)]
    iu = np.floor(np.concatenate(us)).astype(np.int64)
    iv = np.floor(np.concatenate(vs)).astype(np.int64)
    areas = np.concatenate([owner[mid_seg]] + [spots_o] * 4)
    ok = (iu >= 0) & (iu < nx) & (iv >= 0) & (iv < ny)
    return iv[ok] * nx + iu[ok], areas[ok]


class RasterIndex(_Index):
    """The fast point → area index for areas that (mostly) tile the ground.

    A raster over the areas' extent, in lon/lat: a cell no edge passes through
    holds the one area it lies in, and a point there is answered by one array
    read. A cell an edge crosses holds a short list of candidate areas, and a
    point there gets the exact GEOS test (prepared polygons), which decides
    interiors, edges and the tie-break exactly as AreaIndex and PostGIS do.
    Points in no area are measured in metres and snapped or left outside.

    Answers are identical to AreaIndex's; only the time differs.
    """

    # the raster (set when there are areas): lower-left corner and cell size in degrees, cells across and up
    x0: float
    y0: float
    dx: float
    dy: float
    nx: int
    ny: int

    def __init__(
        self,
        codes: Sequence[str],
        polygons: Sequence[BaseGeometry],
        snap_distance_m: float = 50.0,
        cell_m: float | None = None,
        max_cells: int = 32_000_000,
    ) -> None:
        super().__init__(codes, polygons, snap_distance_m)
        if not self.codes:
            self.cell_m = cell_m or 0.0
            self.boundary_cells = 0
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        self.cell_m = cell_m if cell_m is not None else self.auto_cell_m()
        lat0 = math.radians((miny + maxy) / 2.0)
        dx = self.cell_m / (111_320.0 * max(math.cos(lat0), 1e-6))
        dy = self.cell_m / 110_574.0
        nx = int(math.ceil((maxx - minx) / dx)) + 2
        ny = int(math.ceil((maxy - miny) / dy)) + 2
        while nx * ny > max_cells:  # a wide, sparse layer: coarser cells, same answers
            dx, dy = dx * 1.5, dy * 1.5
            nx = int(math.ceil((maxx - minx) / dx)) + 2
            ny = int(math.ceil((maxy - miny) / dy)) + 2
        self.x0, self.y0, self.dx, self.dy, self.nx, self.ny = minx - dx, miny - dy, dx, dy, nx, ny
        self._build()

    def auto_cell_m(self) -> float:
        """A cell about 1/30 of a typical area's width: ~1 point in 8 needs the exact test.

        Clamped to 2–50 m: micro-grids of a hundred metres get 2–5 m cells,
        census blocks of half a kilometre 15–20 m.
        """
        # the projection is set whenever there are polygons to measure
        areas = [cast(LocalProjection, self._proj).area_m2(p) for p in self.polygons]
        return float(min(50.0, max(2.0, math.sqrt(float(np.median(areas))) / 30.0)))

    def _build(self) -> None:
        x1, y1, x2, y2, owner = _segments(self.polygons)
        u1, v1 = (x1 - self.x0) / self.dx, (y1 - self.y0) / self.dy
        u2, v2 = (x2 - self.x0) / self.dx, (y2 - self.y0) / self.dy
        n = np.int64(len(self.codes) + 1)
        flat = np.full(self.nx * self.ny, _EMPTY, dtype=np.int32)
        cells, areas = _scanline_cells(u1, v1, u2, v2, owner, self.nx)
        flat[cells] = areas
        # a cell two areas both claim (areas that overlap) has both as candidates
        claims = np.bincount(cells, minlength=flat.size)
        shared = claims[cells] > 1
        edge_cells, edge_areas = _crossed_cells(u1, v1, u2, v2, owner, self.nx, self.ny)
        centre = flat[edge_cells].astype(np.int64)  # the area holding a crossed cell's centre
        keys = _sorted_unique(np.concatenate([
            edge_cells * n + edge_areas,
            edge_cells[centre >= 0] * n + centre[centre >= 0],
            cells[shared] * n + areas[shared],
        ]))
        cell_ids, cand = np.divmod(keys, n)
        first = np.ones(len(cell_ids), dtype=bool)
        first[1:] = cell_ids[1:] != cell_ids[:-1]
        boundary, start = cell_ids[first], np.flatnonzero(first)
        flat[boundary] = -(np.arange(len(boundary), dtype=np.int32) + 2)
        self._raster = flat.reshape(self.ny, self.nx)
        self._cand_ptr = np.append(start, len(cand)).astype(np.int64)
        self._cand = cand.astype(np.int64)
        self.boundary_cells = len(boundary)
        # GEOS builds a prepared polygon's point locator on first use: do it now, not in a lookup
        inside = shapely.point_on_surface(self.polygons)
        shapely.contains_xy(self.polygons, shapely.get_x(inside), shapely.get_y(inside))

    def _place(self, lon: _Floats, lat: _Floats, index: _Ints, status: _Statuses) -> tuple[_Ints, _Ints]:
        ix = np.floor((lon - self.x0) / self.dx)
        iy = np.floor((lat - self.y0) / self.dy)
        in_box = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        value = np.full(len(lon), _EMPTY, dtype=np.int64)
        value[in_box] = self._raster[iy[in_box].astype(np.int64), ix[in_box].astype(np.int64)]

        inside = value >= 0
        index[inside] = value[inside]
        status[inside] = INSIDE

        near = np.flatnonzero(value <= -2)
        if not near.size:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        cell = -value[near] - 2
        first, last = self._cand_ptr[cell], self._cand_ptr[cell + 1]
        counts = last - first
        pt = np.repeat(near, counts)
        cand = self._cand[np.repeat(first, counts) + _ranges(counts)]
        # test polygon by polygon: GEOS's prepared structures stay in cache (3-4x faster)
        order = np.argsort(cand, kind="stable")
        pt, cand = pt[order], cand[order]
        covers = shapely.intersects_xy(self.polygons[cand], lon[pt], lat[pt])
        pt, cand = pt[covers], cand[covers]
        multi_points, multi_areas = _shared(pt, cand)
        index[pt] = cand  # right wherever one area covers the point
        chosen_pts, chosen_areas = _smallest_code(self._rank, multi_points, multi_areas)
        index[chosen_pts] = chosen_areas
        covered = np.unique(pt)
        owner = index[covered]
        order = np.argsort(owner, kind="stable")
        covered, owner = covered[order], owner[order]
        interior = shapely.contains_xy(self.polygons[owner], lon[covered], lat[covered])
        status[covered] = np.where(interior, INSIDE, ON_BOUNDARY)
        return multi_points, multi_areas

    def locate_one(self, lon: float, lat: float) -> tuple[int, int, float, list[int]]:
        """(area, status, distance_m, every area covering the point) for one point.

        The same decisions as locate(), in plain Python, without numpy's per-call
        overhead: the single-point API calls it thousands of times a second.
        """
        if not self.codes:
            return -1, OUTSIDE, math.inf, []
        fx = (lon - self.x0) / self.dx
        fy = (lat - self.y0) / self.dy
        value = _EMPTY
        if 0 <= fx < self.nx and 0 <= fy < self.ny:
            value = int(self._raster[int(fy), int(fx)])
        if value >= 0:
            return value, INSIDE, 0.0, [value]
        if value <= -2:
            cell = -value - 2
            candidates = self._cand[self._cand_ptr[cell] : self._cand_ptr[cell + 1]]
            covering = [int(a) for a in candidates if shapely.intersects_xy(self.polygons[a], lon, lat)]
            if covering:
                best = min(covering, key=lambda a: self._rank[a])
                status = INSIDE if shapely.contains_xy(self.polygons[best], lon, lat) else ON_BOUNDARY
                return best, status, 0.0, covering
        placed = self.locate(np.array([lon]), np.array([lat]))  # outside: the metric nearest search
        return int(placed.index[0]), int(placed.status[0]), float(placed.distance_m[0]), []

    @property
    def nbytes(self) -> int:
        return int(self._raster.nbytes + self._cand.nbytes + self._cand_ptr.nbytes) if self.codes else 0

"""Point → area, exact: which polygon covers each point, with a fixed tie-break.

Containment is decided in lon/lat, as PostGIS decides `ST_Covers` on EPSG:4326
geometries, so both give the same answer. A point on an edge shared by two areas
is covered by both; the area with the smallest code wins, every time (the same
as `ORDER BY code LIMIT 1` after `ST_Covers` in SQL). Distances for points
outside every area are measured in metres, in a local projection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .crs import local_projection

__all__ = ["INSIDE", "ON_BOUNDARY", "SNAPPED", "OUTSIDE", "STATUS", "Placement", "AreaIndex", "RasterIndex"]

# Statuses are small integers in arrays (a million points stay cheap); STATUS
# names them for answers.
INSIDE, ON_BOUNDARY, SNAPPED, OUTSIDE = 0, 1, 2, 3
STATUS = ("inside", "on_boundary", "snapped", "outside")


@dataclass(frozen=True)
class Placement:
    index: np.ndarray  # position in the index's areas, -1 where outside
    status: np.ndarray  # uint8: INSIDE, ON_BOUNDARY, SNAPPED, OUTSIDE
    distance_m: np.ndarray  # 0 where covered; metres to the nearest area otherwise
    # every (point, area) pair for points covered by more than one area (on a
    # shared edge or vertex, or where areas overlap): callers resolving several
    # levels apply the tie-break per level with these
    multi_points: np.ndarray | None = None
    multi_areas: np.ndarray | None = None


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each c in counts, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _smallest_code(rank: np.ndarray, points: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the area with the smallest code: the documented tie-break."""
    if points.size == 0:
        return points, areas
    order = np.lexsort((rank[areas], points))
    points, areas = points[order], areas[order]
    first = np.ones(len(points), dtype=bool)
    first[1:] = points[1:] != points[:-1]
    return points[first], areas[first]


def _shared(points: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (point, area) pairs of points that more than one area covers."""
    if points.size == 0:
        return points, areas
    _, inverse, counts = np.unique(points, return_inverse=True, return_counts=True)
    keep = counts[inverse] > 1
    return points[keep], areas[keep]


class AreaIndex:
    """Areas of one level that tile the ground (grids, or micro-grids)."""

    def __init__(self, codes: Sequence[str], polygons: Sequence[BaseGeometry], snap_distance_m: float = 50.0) -> None:
        if len(codes) != len(polygons):
            raise ValueError("one code per polygon")
        self.codes = list(codes)
        self.polygons = np.asarray(polygons, dtype=object)
        self.snap_distance_m = snap_distance_m
        # rank of each area's code: the tie-break on shared edges
        self._rank = np.argsort(np.argsort(np.asarray(self.codes, dtype=object))).astype(np.int64)
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
        status = np.full(n, OUTSIDE, dtype=np.uint8)
        distance = np.zeros(n)
        if n == 0 or not self.codes:
            distance[:] = np.inf
            empty = np.empty(0, dtype=np.int64)
            return Placement(index, status, distance, empty, empty)
        points = shapely.points(lon, lat)
        multi_points = multi_areas = np.empty(0, dtype=np.int64)
        hits = self._tree.query(points, predicate="covered_by")
        if hits.size:
            pts, areas = hits
            chosen_pts, chosen_areas = _smallest_code(self._rank, pts, areas)
            index[chosen_pts] = chosen_areas
            on_edge = shapely.intersects(points[chosen_pts], shapely.boundary(self.polygons[chosen_areas]))
            status[chosen_pts] = np.where(on_edge, ON_BOUNDARY, INSIDE)
            multi_points, multi_areas = _shared(pts, areas)
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
        return Placement(index, status, distance, multi_points, multi_areas)


_EMPTY = -1  # raster value: no area touches the cell
# raster values <= -2 name a boundary cell: id = -value - 2


class RasterIndex:
    """The fast point → area index for areas that (mostly) tile the ground.

    A raster over the areas' extent, in lon/lat: a cell with no edge near it
    holds the one area it lies in, and a point there is answered by one array
    read. A cell an edge passes near holds a short list of candidate areas, and
    a point there gets the exact GEOS test (prepared polygons), which decides
    interiors, edges and the tie-break exactly as AreaIndex and PostGIS do.
    Points in no area are measured in metres and snapped or left outside.

    Answers are identical to AreaIndex's; only the time differs.
    """

    def __init__(
        self,
        codes: Sequence[str],
        polygons: Sequence[BaseGeometry],
        snap_distance_m: float = 50.0,
        cell_m: float | None = None,
        max_cells: int = 32_000_000,
    ) -> None:
        if len(codes) != len(polygons):
            raise ValueError("one code per polygon")
        self.codes = list(codes)
        self.polygons = np.asarray(polygons, dtype=object)
        self.snap_distance_m = snap_distance_m
        self._rank = np.argsort(np.argsort(np.asarray(self.codes, dtype=object))).astype(np.int64)
        shapely.prepare(self.polygons)
        n = len(self.codes)
        if n == 0:
            self._proj = None
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        self._proj = local_projection((minx, miny, maxx, maxy))
        self._metric_tree = shapely.STRtree([self._proj.to_metric(p) for p in self.polygons])
        if cell_m is None:
            cell_m = self.auto_cell_m()
        self.cell_m = cell_m
        lat0 = math.radians((miny + maxy) / 2.0)
        dx = cell_m / (111_320.0 * max(math.cos(lat0), 1e-6))
        dy = cell_m / 110_574.0
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

        Clamped to 2–50 m: micro-grids of a hundred metres get 4–5 m cells,
        census blocks of half a kilometre 15–20 m.
        """
        areas = [self._proj.area_m2(p) for p in self.polygons]
        return float(min(50.0, max(2.0, math.sqrt(float(np.median(areas))) / 30.0)))

    # -- build -------------------------------------------------------------------

    def _build(self) -> None:
        raster = np.full((self.ny, self.nx), _EMPTY, dtype=np.int32)
        clash_cells: list[np.ndarray] = []
        clash_areas: list[np.ndarray] = []
        for area, poly in enumerate(self.polygons):
            clash = self._fill(raster, area, poly)
            if clash is not None:
                cells, earlier = clash
                clash_cells += [cells, cells]
                clash_areas += [np.full(len(cells), area, dtype=np.int64), earlier]
        label = raster.ravel().copy()  # which area holds each cell's centre

        # cells an edge passes through: candidates there are every area with an
        # edge in the cell, plus the area holding the cell centre; cells two areas
        # both claim (overlapping areas) get both
        cell_ids, areas = self._edge_cells()
        if clash_cells:
            cell_ids = np.concatenate([cell_ids, *clash_cells])
            areas = np.concatenate([areas, *clash_areas])
        centre = label[cell_ids]
        cell_ids = np.concatenate([cell_ids, cell_ids[centre >= 0]])
        areas = np.concatenate([areas, centre[centre >= 0]])
        pairs = np.unique(cell_ids * np.int64(len(self.codes) + 1) + areas)
        cell_ids, areas = np.divmod(pairs, np.int64(len(self.codes) + 1))
        boundary, start = np.unique(cell_ids, return_index=True)
        flat = raster.ravel()
        flat[boundary] = -(np.arange(len(boundary), dtype=np.int32) + 2)
        self._raster = raster
        self._cand_ptr = np.append(start, len(areas)).astype(np.int64)
        self._cand = areas.astype(np.int64)
        self.boundary_cells = len(boundary)

    def _fill(self, raster: np.ndarray, area: int, poly: BaseGeometry) -> tuple[np.ndarray, np.ndarray] | None:
        """Scanline fill of the cells whose centre lies inside `poly` (even-odd over all rings).

        Returns the cells another area had already claimed (overlapping areas)
        and that area, so both become candidates of a boundary cell.
        """
        rings = [r for part in shapely.get_parts(poly) for r in [part.exterior, *part.interiors]]
        coords = [np.asarray(r.coords) for r in rings]
        x1 = np.concatenate([c[:-1, 0] for c in coords])
        y1 = np.concatenate([c[:-1, 1] for c in coords])
        x2 = np.concatenate([c[1:, 0] for c in coords])
        y2 = np.concatenate([c[1:, 1] for c in coords])
        # rows j whose centre y0 + (j + 0.5) dy lies in [min(y1,y2), max(y1,y2))
        lo = np.ceil((np.minimum(y1, y2) - self.y0) / self.dy - 0.5).astype(np.int64)
        hi = np.ceil((np.maximum(y1, y2) - self.y0) / self.dy - 0.5).astype(np.int64)
        count = np.maximum(hi - lo, 0)
        if count.sum() == 0:
            return None
        edge = np.repeat(np.arange(len(x1)), count)
        row = lo[edge] + _ranges(count)
        yc = self.y0 + (row + 0.5) * self.dy
        xc = x1[edge] + (yc - y1[edge]) * (x2[edge] - x1[edge]) / (y2[edge] - y1[edge])
        order = np.lexsort((xc, row))
        row, xc = row[order], xc[order]
        # consecutive crossings on a row pair up: fill between them
        starts = np.ceil((xc[0::2] - self.x0) / self.dx - 0.5).astype(np.int64)
        stops = np.ceil((xc[1::2] - self.x0) / self.dx - 0.5).astype(np.int64)
        rows = row[0::2]
        clashes, owners = [], []
        for j, a, b in zip(rows.tolist(), starts.tolist(), stops.tolist(), strict=True):
            if b <= a:
                continue
            segment = raster[j, a:b]
            taken = np.flatnonzero(segment != _EMPTY)
            if taken.size:
                clashes.append(j * self.nx + a + taken)
                owners.append(segment[taken].astype(np.int64))
            segment[:] = area
        return (np.concatenate(clashes), np.concatenate(owners)) if clashes else None

    def _edge_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(cell, area) for every cell an area's edge passes through.

        Cells are half-open, [i, i+1) × [j, j+1), as the lookup's floor() makes
        them. A segment passes through exactly the cells holding the midpoints
        between its consecutive grid-line crossings; the cells around each
        crossing and each vertex are added too, so an edge that only grazes a
        cell corner still makes it a boundary cell.
        """
        x1s, y1s, x2s, y2s, owners = [], [], [], [], []
        for area, poly in enumerate(self.polygons):
            for part in shapely.get_parts(poly):
                for ring in [part.exterior, *part.interiors]:
                    c = np.asarray(ring.coords)
                    x1s.append(c[:-1, 0]), y1s.append(c[:-1, 1]), x2s.append(c[1:, 0]), y2s.append(c[1:, 1])
                    owners.append(np.full(len(c) - 1, area, dtype=np.int64))
        u1 = (np.concatenate(x1s) - self.x0) / self.dx
        v1 = (np.concatenate(y1s) - self.y0) / self.dy
        u2 = (np.concatenate(x2s) - self.x0) / self.dx
        v2 = (np.concatenate(y2s) - self.y0) / self.dy
        owner = np.concatenate(owners)
        seg = np.arange(len(u1))
        # parameters t in (0, 1) where the segment crosses a grid line
        ts, segs = [np.zeros(len(u1)), np.ones(len(u1))], [seg, seg]
        for a, b in ((u1, u2), (v1, v2)):
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            first = np.floor(lo) + 1
            k = np.maximum(np.ceil(hi) - first, 0).astype(np.int64)
            which = np.repeat(seg, k)
            line = first[which] + _ranges(k)
            ts.append((line - a[which]) / (b[which] - a[which]))
            segs.append(which)
        t = np.concatenate(ts)
        which = np.concatenate(segs)
        order = np.lexsort((t, which))
        t, which = t[order], which[order]
        same = which[1:] == which[:-1]
        mid_t = (t[1:][same] + t[:-1][same]) / 2.0
        mid_seg = which[1:][same]
        du, dv = u2 - u1, v2 - v1
        pu = np.concatenate([u1[mid_seg] + mid_t * du[mid_seg], u1[which] + t * du[which]])
        pv = np.concatenate([v1[mid_seg] + mid_t * dv[mid_seg], v1[which] + t * dv[which]])
        po = np.concatenate([owner[mid_seg], owner[which]])
        crossing = np.concatenate([np.zeros(len(mid_seg), dtype=bool), np.ones(len(which), dtype=bool)])
        eps = 1e-6
        cells, areas = [], []
        for ou, ov in ((0.0, 0.0), (-eps, -eps), (-eps, eps), (eps, -eps), (eps, eps)):
            pick = slice(None) if ou == 0.0 else crossing
            iu = np.floor(pu[pick] + ou).astype(np.int64)
            iv = np.floor(pv[pick] + ov).astype(np.int64)
            ok = (iu >= 0) & (iu < self.nx) & (iv >= 0) & (iv < self.ny)
            cells.append(iv[ok] * self.nx + iu[ok])
            areas.append(po[pick][ok])
        return np.concatenate(cells), np.concatenate(areas)

    # -- lookup ------------------------------------------------------------------

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> Placement:
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        n = len(lon)
        index = np.full(n, -1, dtype=np.int64)
        status = np.full(n, OUTSIDE, dtype=np.uint8)
        distance = np.zeros(n)
        no_edges = np.empty(0, dtype=np.int64)
        if n == 0 or not self.codes:
            distance[:] = np.inf
            return Placement(index, status, distance, no_edges, no_edges)
        ix = np.floor((lon - self.x0) / self.dx)
        iy = np.floor((lat - self.y0) / self.dy)
        in_box = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        value = np.full(n, _EMPTY, dtype=np.int64)
        value[in_box] = self._raster[iy[in_box].astype(np.int64), ix[in_box].astype(np.int64)]

        inside = value >= 0
        index[inside] = value[inside]
        status[inside] = INSIDE

        multi_points, multi_areas = no_edges, no_edges
        near = np.flatnonzero(value <= -2)
        if near.size:
            cell = -value[near] - 2
            first, last = self._cand_ptr[cell], self._cand_ptr[cell + 1]
            counts = last - first
            pt = np.repeat(near, counts)
            cand = self._cand[np.repeat(first, counts) + _ranges(counts)]
            covers = shapely.intersects_xy(self.polygons[cand], lon[pt], lat[pt])
            pt, cand = pt[covers], cand[covers]
            multi_points, multi_areas = _shared(pt, cand)
            index[pt] = cand  # right wherever one area covers the point
            chosen_pts, chosen_areas = _smallest_code(self._rank, multi_points, multi_areas)
            index[chosen_pts] = chosen_areas
            interior = shapely.contains_xy(self.polygons[index[pt]], lon[pt], lat[pt])
            status[pt] = np.where(interior, INSIDE, ON_BOUNDARY)

        outside = np.flatnonzero(index < 0)
        if outside.size:
            self._snap(lon, lat, outside, index, status, distance)
        return Placement(index, status, distance, multi_points, multi_areas)

    def _snap(self, lon, lat, outside, index, status, distance) -> None:
        x, y = self._proj.xy_to_metric(lon[outside], lat[outside])
        near_in, near_area = self._metric_tree.query_nearest(shapely.points(x, y), all_matches=False)
        dist = shapely.distance(shapely.points(x[near_in], y[near_in]), self._metric_tree.geometries[near_area])
        targets = outside[near_in]
        distance[targets] = dist
        snap = dist <= self.snap_distance_m
        index[targets[snap]] = near_area[snap]
        status[targets[snap]] = SNAPPED

    @property
    def nbytes(self) -> int:
        return int(self._raster.nbytes + self._cand.nbytes + self._cand_ptr.nbytes)

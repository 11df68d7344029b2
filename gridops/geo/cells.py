"""The ground a plan is cut from: one cell per building (or block), and who touches whom.

Planners partition buildings, but a grid is an area: every building needs a
piece of ground around it so grids tile their community without gaps. Blocks
that already tile (polygons sharing edges) are their own cells; footprints and
address points get Voronoi cells of their representative points, clipped to
the community. Two cells are neighbours when they share an edge (rook), unless
a barrier (a river, a railway) runs between their buildings.

Everything is in metres. A set's perimeter follows from the graph alone
(cell perimeters minus twice the shared edges inside it), so compactness is
re-scored in constant time per move, without touching a geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias, cast

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry

__all__ = ["UnitGraph", "build_graph", "components"]

# a shared edge counts as running along a street when its points lie this close to one
STREET_TOLERANCE_M = 15.0
_SAMPLES = (0.1, 0.3, 0.5, 0.7, 0.9)

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]  # unit or edge positions, household counts
_Geoms: TypeAlias = npt.NDArray[np.object_]


@dataclass
class UnitGraph:
    households: _Ints  # per unit
    xy: _Floats  # (n, 2) a point inside each unit, metres
    cells: _Geoms  # the cells (metric polygons)
    area: _Floats  # m² per cell
    perimeter: _Floats  # m per cell
    edge_i: _Ints
    edge_j: _Ints
    edge_length: _Floats  # m of shared boundary
    edge_street: _Floats  # share (0–1) of the shared boundary that runs along a street
    tiled: bool  # cells are the input polygons (blocks), not Voronoi cells
    neighbours: list[list[tuple[int, int]]] = field(default_factory=list)  # per unit: (other unit, edge index)

    def __post_init__(self) -> None:
        if not self.neighbours:
            nb: list[list[tuple[int, int]]] = [[] for _ in range(self.n)]
            for e, (i, j) in enumerate(zip(self.edge_i.tolist(), self.edge_j.tolist(), strict=True)):
                nb[i].append((j, e))
                nb[j].append((i, e))
            self.neighbours = nb

    @property
    def n(self) -> int:
        return len(self.households)

    def perimeter_of(self, members: _Ints, label: _Ints | None = None) -> float:
        """Perimeter of the union of `members`' cells, from the graph."""
        inside = np.zeros(self.n, dtype=bool)
        inside[members] = True
        shared = self.edge_length[inside[self.edge_i] & inside[self.edge_j]].sum()
        return float(self.perimeter[members].sum() - 2.0 * shared)


def _tile_like(polys: _Geoms) -> bool:
    """Do the polygons tile (blocks sharing edges) rather than stand apart (footprints)?"""
    if len(polys) < 2:
        return False
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="touches")
    if len(left) == 0:
        return False
    touching = np.unique(left[left != right])
    return len(touching) >= 0.8 * len(polys)


def _voronoi(points: _Floats, container: BaseGeometry) -> _Geoms:
    """One Voronoi cell per point, in the points' order, clipped to `container`."""
    pts = points.copy()
    # coincident points (two buildings at one address) have no cell of their own: part them by a centimetre
    _, first, counts = np.unique(np.round(pts, 2), axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        rounded = np.round(pts, 2)
        for k in np.nonzero(counts > 1)[0]:
            same = np.nonzero((rounded == rounded[first[k]]).all(axis=1))[0]
            pts[same, 0] += 0.01 * np.arange(len(same))
    multipoint = cast(MultiPoint, shapely.multipoints(pts))  # one (n, 2) array: one multipoint
    envelope = shapely.box(*shapely.bounds(shapely.union(container, multipoint.envelope))).buffer(100.0)
    regions = shapely.get_parts(shapely.voronoi_polygons(multipoint, extend_to=envelope))
    tree = shapely.STRtree(regions)
    owner_pt, owner_region = tree.query(shapely.points(pts), predicate="intersects")
    cells = np.empty(len(pts), dtype=object)
    for p, r in zip(owner_pt.tolist(), owner_region.tolist(), strict=True):
        if cells[p] is None:
            cells[p] = regions[r]
    return shapely.intersection(cells, container)


def _around_footprints(cells: _Geoms, shapes: _Geoms, polygonal: npt.NDArray[np.bool_], ground: BaseGeometry) -> _Geoms:
    """Each cell takes its whole footprint and gives up its neighbours': a boundary never cuts a building."""
    feet = shapely.make_valid(shapes[polygonal])
    owner = np.nonzero(polygonal)[0]
    tree = shapely.STRtree(feet)
    cell_idx, foot_idx = tree.query(cells, predicate="intersects")
    out = cells.copy()
    others: dict[int, list[int]] = {}
    for c, f in zip(cell_idx.tolist(), foot_idx.tolist(), strict=True):
        if owner[f] != c:
            others.setdefault(c, []).append(f)
    for c, fs in others.items():
        out[c] = shapely.difference(out[c], shapely.union_all(feet[fs]))
    for f, c in enumerate(owner.tolist()):
        out[c] = shapely.intersection(shapely.union(out[c], feet[f]), ground)
    return np.asarray([_polygonal(g) for g in out], dtype=object)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return shapely.multipolygons(parts) if len(parts) > 1 else (parts[0] if parts else geom)


def build_graph(
    households: Sequence[int],
    shapes: Sequence[BaseGeometry] | _Geoms,
    container: BaseGeometry | None = None,
    streets: Sequence[BaseGeometry] = (),
    barriers: Sequence[BaseGeometry] = (),
) -> UnitGraph:
    """The unit graph of buildings or blocks (metric geometries: polygons or points).

    `container` is the ground to tile (the community); without one, the units'
    convex hull grown by 30 m. `streets` mark the edges a boundary should
    prefer; `barriers` cut adjacency outright.
    """
    shapes_arr = np.asarray(list(shapes), dtype=object)
    w = np.asarray(households, dtype=np.int64)
    xy_pts = shapely.point_on_surface(shapes_arr)
    xy = np.column_stack([shapely.get_x(xy_pts), shapely.get_y(xy_pts)])
    polygonal = np.isin(shapely.get_type_id(shapes_arr), (3, 6))
    tiled = bool(polygonal.all()) and _tile_like(shapely.make_valid(shapes_arr))
    if tiled:
        cells = shapely.make_valid(shapes_arr)
        if container is not None:
            cells = shapely.intersection(cells, container)
    else:
        ground = container if container is not None else shapely.convex_hull(cast(MultiPoint, shapely.multipoints(xy))).buffer(30.0)
        if polygonal.any():
            ground = shapely.union(ground, shapely.union_all(shapes_arr[polygonal]))
        cells = _voronoi(xy, ground)
        if polygonal.any():
            cells = _around_footprints(cells, shapes_arr, polygonal, ground)
    area = shapely.area(cells)
    perimeter = shapely.length(cells)

    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(shapely.boundary(cells[left]), shapely.boundary(cells[right]))
    length = shapely.length(shared)
    keep = length > 0.01
    left, right, shared, length = left[keep], right[keep], shared[keep], length[keep]

    if len(barriers) and len(left):
        crossing = shapely.linestrings(np.stack([xy[left], xy[right]], axis=1))
        btree = shapely.STRtree(np.asarray(list(barriers), dtype=object))
        hit, _ = btree.query(crossing, predicate="intersects")
        cut = np.zeros(len(left), dtype=bool)
        cut[hit] = True
        left, right, shared, length = left[~cut], right[~cut], shared[~cut], length[~cut]

    street = np.zeros(len(left))
    if len(streets) and len(left):
        stree = shapely.STRtree(np.asarray(list(streets), dtype=object))
        near = np.zeros(len(left))
        for t in _SAMPLES:
            sample = shapely.line_interpolate_point(_as_line(shared), t, normalized=True)
            idx, _ = stree.query(sample, predicate="dwithin", distance=STREET_TOLERANCE_M)
            hit = np.zeros(len(left), dtype=bool)
            hit[idx] = True
            near += hit
        street = near / len(_SAMPLES)
    return UnitGraph(w, xy, cells, area, perimeter, left.astype(np.int64), right.astype(np.int64), length, street, tiled)


def _as_line(shared: _Geoms) -> _Geoms:
    """Shared boundaries as lines (an intersection may come back as a collection)."""
    out = np.empty(len(shared), dtype=object)
    for k, g in enumerate(shared):
        if g.geom_type in ("LineString", "MultiLineString"):
            out[k] = g
        else:
            lines = [p for p in shapely.get_parts(g) if p.geom_type in ("LineString", "MultiLineString")]
            out[k] = shapely.multilinestrings(lines) if lines else shapely.linestrings([[0, 0], [0, 0]])
    return out


_SMALL = 400  # below this many units a plain search beats building a sparse matrix


def components(graph: UnitGraph, members: _Ints) -> list[_Ints]:
    """The connected pieces of the units `members`, largest first."""
    members = np.asarray(members, dtype=np.int64)
    if len(members) == 0:
        return []
    if len(members) <= _SMALL:
        return _search(graph, members)
    local = np.full(graph.n, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    a, b = local[graph.edge_i], local[graph.edge_j]
    keep = (a >= 0) & (b >= 0)
    m = len(members)
    matrix = coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(m, m))
    count, labels = connected_components(matrix, directed=False)
    if count == 1:
        return [members]
    pieces = [members[labels == c] for c in range(count)]
    return sorted(pieces, key=len, reverse=True)


def _search(graph: UnitGraph, members: _Ints) -> list[_Ints]:
    todo = set(members.tolist())
    pieces: list[_Ints] = []
    nb = graph.neighbours
    while todo:
        start = todo.pop()
        piece = [start]
        stack = [start]
        while stack:
            u = stack.pop()
            for v, _ in nb[u]:
                if v in todo:
                    todo.remove(v)
                    piece.append(v)
                    stack.append(v)
        pieces.append(np.asarray(sorted(piece), dtype=np.int64))
    return sorted(pieces, key=len, reverse=True)

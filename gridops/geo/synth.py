"""A synthetic city, in metres: streets, blocks, buildings, and the grids and
micro-grids cut from them.

The street network is a jittered lattice. Arterials bound the communities; local
streets bound the blocks; buildings stand in rows inside the blocks. Grids are
made by walking each community's blocks in a serpentine and cutting the walk
into runs of 300–500 households (geo.partition): a run of a serpentine is
contiguous, and its cuts fall on streets wherever the households allow. Where a
cut must fall inside a block, it follows the lanes between buildings (the
Voronoi edges of the building centroids).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import groupby
from typing import TypedDict, cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from gridops.geo.partition import split_sequence

__all__ = ["CityLayout", "SynthBuilding", "Community", "GridPlan", "MicroPlan", "synthesize", "voronoi_blocks"]


@dataclass(frozen=True)
class CityLayout:
    communities_x: int = 3
    communities_y: int = 2
    blocks_x: int = 3  # blocks per community across
    blocks_y: int = 3
    block_width: tuple[float, float] = (220.0, 280.0)
    block_height: tuple[float, float] = (210.0, 270.0)
    jitter: float = 16.0
    setback: float = 12.0
    grid_households: tuple[int, int] = (300, 500)
    micro_households: tuple[int, int] = (50, 80)


@dataclass
class SynthBuilding:
    block: tuple[int, int]
    col: int
    row: int
    footprint: Polygon
    use: str  # residential, school, market, clinic, office, pavilion
    floors: int
    units: int
    per_floor: int

    @property
    def households(self) -> int:
        return self.floors * self.units * self.per_floor if self.use == "residential" else 0

    @property
    def entrance(self) -> Point:
        return self.footprint.centroid


@dataclass
class MicroPlan:
    buildings: list[int]
    polygon: BaseGeometry | None = None


@dataclass
class GridPlan:
    buildings: list[int]
    micro: list[MicroPlan] = field(default_factory=list)
    polygon: BaseGeometry | None = None


@dataclass
class Community:
    cx: int
    cy: int
    character: str  # old_town, mixed, new_town
    blocks: list[tuple[int, int]]  # serpentine order
    polygon: BaseGeometry  # a union of faces: one polygon when the blocks are contiguous
    buildings: list[int] = field(default_factory=list)  # serpentine order
    grids: list[GridPlan] = field(default_factory=list)


@dataclass
class SynthCity:
    layout: CityLayout
    nodes: npt.NDArray[np.float64]  # (NX+1, NY+1, 2) street intersections
    blocks: dict[tuple[int, int], Polygon]
    block_use: dict[tuple[int, int], str]
    roads: list[tuple[LineString, str, int, str]]  # geometry, axis ('x' line or 'y' line), line index, kind
    buildings: list[SynthBuilding]
    communities: list[Community]
    district: BaseGeometry
    low_corner: tuple[float, float]  # a low-lying spot (drains block after rain)


# Overlays snap to a millimetre grid, so pieces cut from one block along the
# same street edge share that edge exactly instead of touching at points.
_SNAP = 1e-3


class _Template(TypedDict):
    size: tuple[float, float]
    pitch: tuple[float, float]
    occupancy: float


# Building templates: footprint (w, h), pitch (dx, dy), occupancy, and what each holds.
_TEMPLATES: dict[str, _Template] = {
    "lanes": dict(size=(9.0, 11.0), pitch=(14.0, 16.0), occupancy=0.9),
    "walkup": dict(size=(48.0, 12.0), pitch=(62.0, 30.0), occupancy=0.9),
    "highrise": dict(size=(22.0, 22.0), pitch=(52.0, 50.0), occupancy=0.85),
}
_CHARACTER_MIX = {
    "old_town": {"lanes": 0.55, "walkup": 0.3, "public": 0.15},
    "mixed": {"lanes": 0.1, "walkup": 0.6, "highrise": 0.15, "public": 0.15},
    "new_town": {"walkup": 0.3, "highrise": 0.55, "public": 0.15},
}


def synthesize(seed: int, layout: CityLayout | None = None) -> SynthCity:
    rng = np.random.default_rng(seed)
    layout = layout or CityLayout()
    nodes = _lattice(rng, layout)
    nx, ny = nodes.shape[0] - 1, nodes.shape[1] - 1
    blocks = {
        (i, j): Polygon([nodes[i, j], nodes[i + 1, j], nodes[i + 1, j + 1], nodes[i, j + 1]])
        for i in range(nx)
        for j in range(ny)
    }
    characters = list(rng.permutation(["old_town", "old_town", "mixed", "mixed", "new_town", "new_town"]))
    communities: list[Community] = []
    block_use: dict[tuple[int, int], str] = {}
    for cy in range(layout.communities_y):
        for cx in range(layout.communities_x):
            character = characters[(cy * layout.communities_x + cx) % len(characters)]
            order = _serpentine_blocks(cx, cy, layout)
            communities.append(Community(cx, cy, character, order, shapely.union_all([blocks[b] for b in order])))
            uses = _block_uses(rng, character, len(order))
            for b, use in zip(order, uses, strict=True):
                block_use[b] = use

    buildings: list[SynthBuilding] = []
    for community in communities:
        for b in community.blocks:
            travel_right = ((b[1] - community.cy * layout.blocks_y) % 2) == 0
            placed = _place_buildings(rng, blocks[b], block_use[b], b, layout.setback)
            placed.sort(key=lambda s: _within_block_key(s, travel_right))
            for s in placed:
                community.buildings.append(len(buildings))
                buildings.append(s)

    faces = _faces_by_building(_voronoi_cells(buildings, blocks))
    for community in communities:
        community.polygon = _assemble(faces, community.buildings)
        _cut_grids(community, buildings, faces, layout)

    roads = _roads(nodes, layout)
    district = shapely.coverage_union_all([c.polygon for c in communities])
    minx, miny, _, _ = district.bounds
    low_corner = (minx + 0.2 * (district.bounds[2] - minx), miny + 0.15 * (district.bounds[3] - miny))
    return SynthCity(layout, nodes, blocks, block_use, roads, buildings, communities, district, low_corner)


def _lattice(rng: np.random.Generator, layout: CityLayout) -> npt.NDArray[np.float64]:
    nx = layout.communities_x * layout.blocks_x
    ny = layout.communities_y * layout.blocks_y
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(*layout.block_width, nx))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(*layout.block_height, ny))])
    xs -= xs[-1] / 2.0  # centre the district on the projection origin
    ys -= ys[-1] / 2.0
    nodes = np.zeros((nx + 1, ny + 1, 2))
    for i in range(nx + 1):
        for j in range(ny + 1):
            dx, dy = rng.uniform(-layout.jitter, layout.jitter, 2)
            if i in (0, nx):
                dx = 0.0  # the district's outer roads stay straight
            if j in (0, ny):
                dy = 0.0
            nodes[i, j] = (xs[i] + dx, ys[j] + dy)
    return nodes


def _serpentine_blocks(cx: int, cy: int, layout: CityLayout) -> list[tuple[int, int]]:
    order = []
    for r in range(layout.blocks_y):
        cols = range(layout.blocks_x) if r % 2 == 0 else range(layout.blocks_x - 1, -1, -1)
        for c in cols:
            order.append((cx * layout.blocks_x + c, cy * layout.blocks_y + r))
    return order


def _block_uses(rng: np.random.Generator, character: str, n: int) -> list[str]:
    mix = _CHARACTER_MIX[character]
    kinds = list(mix)
    p = np.array([mix[k] for k in kinds])
    uses = list(rng.choice(kinds, size=n, p=p / p.sum()))
    if "public" not in uses:  # every community has its school, market or clinic
        uses[int(rng.integers(n))] = "public"
    if all(u == "public" for u in uses):
        uses[0] = "walkup"
    return [str(u) for u in uses]


def _within_block_key(s: SynthBuilding, travel_right: bool) -> tuple[int, int]:
    col = s.col if travel_right else -s.col
    row = s.row if s.col % 2 == 0 else -s.row
    return (col, row)


def _place_buildings(
    rng: np.random.Generator, block: Polygon, use: str, key: tuple[int, int], setback: float
) -> list[SynthBuilding]:
    inner = block.buffer(-setback, join_style="mitre")
    minx, miny, maxx, maxy = inner.bounds
    if use == "public":
        return _public_buildings(rng, inner, key)
    t = _TEMPLATES[use]
    (w, h), (dx, dy) = t["size"], t["pitch"]
    ncols = max(1, int((maxx - minx - w) // dx) + 1)
    nrows = max(1, int((maxy - miny - h) // dy) + 1)
    x0 = minx + (maxx - minx - ((ncols - 1) * dx + w)) / 2.0
    y0 = miny + (maxy - miny - ((nrows - 1) * dy + h)) / 2.0
    out: list[SynthBuilding] = []
    for c in range(ncols):
        for r in range(nrows):
            # builders never set out a perfect lattice (and cocircular centroids
            # make degenerate Voronoi vertices): shift each a little
            ox, oy = rng.uniform(-1.5, 1.5, 2)
            rect = box(x0 + c * dx + ox, y0 + r * dy + oy, x0 + c * dx + w + ox, y0 + r * dy + h + oy)
            if not inner.contains(rect) or rng.random() > t["occupancy"]:
                continue
            if use == "lanes":
                floors, units, per_floor = int(rng.choice([1, 2], p=[0.6, 0.4])), 1, int(rng.choice([1, 2], p=[0.55, 0.45]))
            elif use == "walkup":
                floors, units, per_floor = int(rng.choice([5, 6, 7], p=[0.2, 0.6, 0.2])), int(rng.choice([2, 3])), 2
            else:
                floors, units, per_floor = int(rng.integers(11, 19)), 1, 4
            out.append(SynthBuilding(key, c, r, rect, "residential", floors, units, per_floor))
    if not out:
        return _public_buildings(rng, inner, key)
    return out


def _public_buildings(rng: np.random.Generator, inner: BaseGeometry, key: tuple[int, int]) -> list[SynthBuilding]:
    cx, cy = inner.centroid.x, inner.centroid.y
    use = str(rng.choice(["school", "market", "clinic", "office", "park"]))
    if use == "school":
        rects = [box(cx - 60, cy - 40, cx, cy - 22), box(cx + 10, cy + 10, cx + 70, cy + 28)]
    elif use == "market":
        rects = [box(cx - 30, cy - 20, cx + 30, cy + 20)]
    elif use == "clinic":
        rects = [box(cx - 15, cy - 10, cx + 15, cy + 10)]
    elif use == "office":
        rects = [box(cx - 20, cy - 20, cx + 20, cy + 20), box(cx + 40, cy - 60, cx + 70, cy - 30)]
    else:
        use = "pavilion"
        rects = [box(cx - 5, cy - 5, cx + 5, cy + 5)]
    rects = [r for r in rects if inner.contains(r)] or [box(cx - 5, cy - 5, cx + 5, cy + 5)]
    return [SynthBuilding(key, k, 0, r, use, 2 if use != "pavilion" else 1, 0, 0) for k, r in enumerate(rects)]


def _cut_grids(community: Community, buildings: list[SynthBuilding], faces: list[list[BaseGeometry]], layout: CityLayout) -> None:
    """Cut the community's walk into grids, and each grid's share of a block into micro-grids."""
    seq = community.buildings

    def cost_before(k: int, block_edge: float, column_edge: float, inside: float) -> float:
        a, b = buildings[seq[k - 1]], buildings[seq[k]]
        if a.block != b.block:
            return block_edge
        return column_edge if a.col != b.col else inside

    grid_cuts = [0.0] + [cost_before(k, 0.0, 0.5, 1.0) for k in range(1, len(seq))]
    runs = _contiguous_runs(seq, buildings, faces, grid_cuts, layout.grid_households, single_item_exempt=False)
    for members, polygon in runs:
        grid = GridPlan(members, polygon=polygon)
        # micro-grids do not cross streets: each is cut from one block's share of the grid
        for _, run in groupby(members, key=lambda b: buildings[b].block):
            part = list(run)
            k0 = seq.index(part[0])
            cuts = [0.0] + [cost_before(k0 + i, 0.0, 0.1, 0.3) for i in range(1, len(part))]
            # a micro-grid in two pieces is worse than one a little small: split at gaps whatever the count
            for mb, mpoly in _contiguous_runs(
                part, buildings, faces, cuts, layout.micro_households, single_item_exempt=True, gap_bonus=1e7
            ):
                grid.micro.append(MicroPlan(mb, polygon=mpoly))
        community.grids.append(grid)


def _contiguous_runs(
    seq: list[int],
    buildings: list[SynthBuilding],
    faces: list[list[BaseGeometry]],
    cut_cost: list[float],
    bounds: tuple[int, int],
    single_item_exempt: bool,
    gap_bonus: float = 50.0,
) -> list[tuple[list[int], BaseGeometry]]:
    """Runs of `seq` within `bounds` whose ground is one piece.

    A run of the walk is contiguous except where a cut inside a block meets a
    gap between buildings; such a run's end cuts are made dear and the
    programme solved again, until every run is one polygon.
    """
    cuts = list(cut_cost)
    weights = [buildings[b].households for b in seq]
    for _ in range(24):
        split = split_sequence(weights, *bounds, cut_cost=cuts, single_item_exempt=single_item_exempt)
        runs = [[seq[k] for k in run] for run in split.groups(len(seq))]
        polygons = [_assemble(faces, members) for members in runs]
        broken = [run for run, poly in zip(split.groups(len(seq)), polygons, strict=True) if poly.geom_type != "Polygon"]
        if not broken:
            break
        for run in broken:
            for k in (run.start, run.stop):
                if 0 < k < len(seq):
                    cuts[k] += 50.0
            for k in range(run.start + 1, run.stop):
                # neighbours in the walk but not on the ground: cut between them
                if _assemble(faces, [seq[k - 1], seq[k]]).geom_type != "Polygon":
                    cuts[k] -= gap_bonus
    return list(zip(runs, polygons, strict=True))


def _voronoi_cells(buildings: list[SynthBuilding], blocks: dict[tuple[int, int], Polygon]) -> list[BaseGeometry]:
    """Each building's share of its block: the lanes between buildings."""
    cells: list[BaseGeometry | None] = [None] * len(buildings)
    by_block: dict[tuple[int, int], list[int]] = {}
    for b, s in enumerate(buildings):
        by_block.setdefault(s.block, []).append(b)
    for blk, members in by_block.items():
        block = blocks[blk]
        if len(members) == 1:
            cells[members[0]] = block
            continue
        points = MultiPoint([buildings[b].entrance for b in members])
        diagram = shapely.voronoi_polygons(points, extend_to=block, ordered=True)
        for b, cell in zip(members, diagram.geoms, strict=True):
            cells[b] = shapely.intersection(shapely.make_valid(cell), block, grid_size=_SNAP)
    return cast(list[BaseGeometry], cells)  # every building stands in a block, so every cell is set


def _faces_by_building(cells: list[BaseGeometry]) -> list[list[BaseGeometry]]:
    """Node every cell edge against every other and polygonise, city-wide.

    Areas built as unions of these faces share every vertex with their
    neighbours (no T-junctions), so they tile exactly, in metres and after any
    reprojection or rounding of the coordinates.
    """
    linework = shapely.union_all(shapely.boundary(np.asarray(cells, dtype=object)), grid_size=_SNAP)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    tree = shapely.STRtree(cells)
    owners = tree.query_nearest(shapely.point_on_surface(faces), all_matches=False)[1]
    out: list[list[BaseGeometry]] = [[] for _ in cells]
    for face, owner in zip(faces, owners, strict=True):
        out[int(owner)].append(face)
    return out


def _assemble(city_faces: list[list[BaseGeometry]], members: list[int]) -> BaseGeometry:
    return shapely.coverage_union_all([f for b in members for f in city_faces[b]])


def _roads(nodes: npt.NDArray[np.float64], layout: CityLayout) -> list[tuple[LineString, str, int, str]]:
    nx, ny = nodes.shape[0] - 1, nodes.shape[1] - 1
    roads = []
    for j in range(ny + 1):  # east-west roads along lattice row j
        kind = "arterial" if j % layout.blocks_y == 0 else "local"
        for i in range(nx):
            roads.append((LineString([nodes[i, j], nodes[i + 1, j]]), "x", j, kind))
    for i in range(nx + 1):  # north-south roads along lattice column i
        kind = "arterial" if i % layout.blocks_x == 0 else "local"
        for j in range(ny):
            roads.append((LineString([nodes[i, j], nodes[i, j + 1]]), "y", i, kind))
    return roads


def voronoi_blocks(n: int, seed: int = 0, households: tuple[int, int] = (5, 60), block_m: float = 60.0,
                   street_every: int = 5) -> tuple[npt.NDArray[np.object_], list[int], list[LineString]]:
    """`n` Voronoi blocks (metres) of 5–60 households each, and the streets among them.

    The benchmark ground of the planning issue: blocks tile a square; every
    `street_every`-th row and column of the seed lattice is a street, drawn as
    the Voronoi edges that lie along it, so a plan can be scored on how much of
    its boundary follows streets.
    """
    rng = np.random.default_rng(seed)
    side = int(math.ceil(math.sqrt(n)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    pts = np.column_stack([ii.ravel(), jj.ravel()]).astype(float)[:n] * block_m
    pts += rng.uniform(-0.3, 0.3, size=pts.shape) * block_m
    extent = box(-block_m, -block_m, side * block_m, side * block_m)
    square = box(-0.5 * block_m, -0.5 * block_m, (math.ceil(n / side) - 0.5) * block_m, (side - 0.5) * block_m)
    regions = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(pts), extend_to=extent))
    tree = shapely.STRtree(regions)
    owner, region = tree.query(shapely.points(pts), predicate="intersects")
    cells = np.empty(n, dtype=object)
    for p, r in zip(owner.tolist(), region.tolist(), strict=True):
        if cells[p] is None:
            cells[p] = regions[r]
    cells = shapely.intersection(cells, square)
    hh = rng.integers(households[0], households[1] + 1, size=n).tolist()
    streets: list[LineString] = []
    cols = np.arange(n) // side
    rows = np.arange(n) % side
    for axis_of, stride in ((cols, street_every), (rows, street_every)):
        for k in range(stride, int(axis_of.max()) + 1, stride):
            a = np.nonzero(axis_of == k - 1)[0]
            b = np.nonzero(axis_of == k)[0]
            edge = shapely.intersection(shapely.union_all(cells[a]).boundary, shapely.union_all(cells[b]).boundary)
            lines = [g for g in shapely.get_parts(shapely.line_merge(edge)) if g.geom_type == "LineString"]
            streets.extend(lines)
    return cells, hh, streets

"""A plan of grids and micro-grids for one community, from its buildings: generated, rebalanced or edited.

The ground (buildings, their cells and who touches whom) is prepared once;
every plan over it is a labelling of its units, so an edit re-scores in
milliseconds and geometry is only made for what is shown. Codes follow the
hierarchy (community code + 3 digits per grid, grid code + 3 per micro-grid)
and a grid keeps its code when it is the main successor of a grid in force.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gridops.geo.cells import UnitGraph, build_graph, components
from gridops.geo.crs import LocalProjection, local_projection
from gridops.geo.districting import Bounds, Problem, partition, rebalance
from gridops.geo.geojson import geometry_to_geojson

__all__ = ["Unit", "Ground", "PlanArea", "Plan", "PlanError", "polsby_popper", "adopt_unplaced", "as_multipolygon"]


# pulls towards streets tried (districting.partition's street_discount); the compactness a plan
# may give up against the most compact one to follow streets better, and never below the floor
STREET_DISCOUNTS = (0.0, 0.2, 0.4, 0.6)
COMPACTNESS_GIVE = 0.05
COMPACTNESS_FLOOR = 0.60


class PlanError(ValueError):
    """The input cannot be planned (no households, duplicate codes, empty shapes)."""


@dataclass(frozen=True)
class Unit:
    code: str  # the building's (or block's) code
    households: int
    geometry: BaseGeometry  # lon/lat: a footprint, a block or an address point


@dataclass
class PlanArea:
    code: str
    level: str  # grid, micro_grid
    parent_code: str | None
    households: int
    units: list[str]
    geometry: BaseGeometry  # lon/lat
    polsby_popper: float
    contiguous: bool
    within_bounds: bool
    status: str  # unchanged, changed, new
    street_share: float | None = None  # share of this grid's inner boundary that runs along streets

    def feature(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": geometry_to_geojson(self.geometry),
            "properties": {
                "code": self.code, "level": self.level, "parent_code": self.parent_code,
                "households": self.households, "buildings": len(self.units),
                "polsby_popper": round(self.polsby_popper, 3), "contiguous": self.contiguous,
                "within_bounds": self.within_bounds, "status": self.status,
                **({"street_share": round(self.street_share, 3)} if self.street_share is not None else {}),
            },
        }


@dataclass
class Plan:
    grids: list[PlanArea]
    micro_grids: list[PlanArea]
    problems: list[dict[str, Any]]
    metrics: dict[str, Any]
    assignment: dict[str, tuple[str, str]]  # unit code -> (grid code, micro-grid code)
    retired: list[str] = field(default_factory=list)  # grid codes in force that no grid of the plan keeps

    def geojson(self) -> dict[str, Any]:
        return {
            "type": "FeatureCollection",
            "features": [a.feature() for a in self.grids + self.micro_grids],
            "metrics": self.metrics,
            "problems": self.problems,
            "retired": self.retired,
        }


def polsby_popper(geom: BaseGeometry) -> float:
    """4πA/P²: 1 for a circle, 0.785 for a square, low for a ragged or stretched shape (metric geometry)."""
    perimeter = geom.length
    return float(4.0 * math.pi * geom.area / (perimeter * perimeter)) if perimeter > 0 else 0.0


class Ground:
    """The buildings of one community, their cells and adjacency, ready to be cut many times."""

    def __init__(self, units: Sequence[Unit], container: BaseGeometry | None = None,
                 streets: Sequence[BaseGeometry] = (), barriers: Sequence[BaseGeometry] = ()) -> None:
        if not units:
            raise PlanError("there are no buildings to plan.")
        codes = [u.code for u in units]
        dupes = [c for c, n in Counter(codes).items() if n > 1]
        if dupes:
            raise PlanError(f"building codes must be unique; repeated: {', '.join(dupes[:5])}.")
        bad = [u.code for u in units if u.geometry is None or u.geometry.is_empty]
        if bad:
            raise PlanError(f"{len(bad)} building(s) have no geometry: {', '.join(bad[:5])}.")
        negative = [u.code for u in units if u.households < 0]
        if negative:
            raise PlanError(f"household counts cannot be negative: {', '.join(negative[:5])}.")
        self.units = list(units)
        self.codes = codes
        self.position = {c: k for k, c in enumerate(codes)}
        shapes = np.asarray([u.geometry for u in units], dtype=object)
        # numpy takes a geometry as one object; its stubs know only array-likes
        everything = shapes if container is None else np.append(shapes, container)  # type: ignore[call-overload]
        self.proj: LocalProjection = local_projection(tuple(shapely.total_bounds(everything)))
        metric = np.asarray([self.proj.to_metric(g) for g in shapes], dtype=object)
        self.container_m = self.proj.to_metric(container) if container is not None else None
        self.graph: UnitGraph = build_graph(
            [u.households for u in units], metric, self.container_m,
            [self.proj.to_metric(s) for s in streets], [self.proj.to_metric(b) for b in barriers],
        )
        self.has_streets = bool(len(streets))

    # -- labels <-> plans ------------------------------------------------------------

    def labels_of(self, assignment: dict[str, str]) -> npt.NDArray[np.int64]:
        """Unit labels (indices of distinct grid codes) from unit code -> grid code; -1 for units not named."""
        names = sorted(set(assignment.values()))
        index = {n: k for k, n in enumerate(names)}
        labels = np.full(self.graph.n, -1, dtype=np.int64)
        for code, grid in assignment.items():
            k = self.position.get(code)
            if k is not None:
                labels[k] = index[grid]
        return labels

    def generate(self, grid: Bounds, micro: Bounds, prefix: str, previous: dict[str, tuple[str, str]] | None = None,
                 digits: tuple[int, int] = (3, 3)) -> Plan:
        """A fresh plan: counted, bisected and polished (districting.partition).

        With streets loaded, plans are cut at several strengths of the pull
        towards streets; the one taken follows streets most among those within
        COMPACTNESS_GIVE of the most compact and above COMPACTNESS_FLOOR
        (streets where they cost little).
        """
        discounts = STREET_DISCOUNTS if self.has_streets else (0.0,)
        tried = []
        for d in discounts:
            groups, problems = partition(self.graph, bounds=grid, street_discount=d)
            tried.append((self._score(groups, grid), groups, problems))
        best_pp = max(t[0][1] for t in tried)
        eligible = [t for t in tried if t[0][1] >= best_pp - COMPACTNESS_GIVE and t[0][1] >= min(COMPACTNESS_FLOOR, best_pp)]
        _, groups, problems = max(eligible, key=lambda t: (t[0][0], t[0][2], t[0][1]))
        return self._plan(groups, problems, grid, micro, prefix, previous, digits)

    def _score(self, groups: list[npt.NDArray[np.int64]], grid: Bounds) -> tuple[float, float, float]:
        """(within bounds, mean Polsby-Popper, share of boundary along streets) of a labelling, from the graph."""
        g = self.graph
        labels = np.full(g.n, -1, dtype=np.int64)
        pps, inside = [], 0
        for k, x in enumerate(groups):
            labels[x] = k
            perimeter = g.perimeter_of(x)
            pps.append(4.0 * math.pi * float(g.area[x].sum()) / perimeter ** 2 if perimeter > 0 else 0.0)
            inside += grid.lo <= int(g.households[x].sum()) <= grid.hi
        cut = labels[g.edge_i] != labels[g.edge_j]
        length = float(g.edge_length[cut].sum())
        street = float((g.edge_length[cut] * g.edge_street[cut]).sum() / length) if length else 1.0
        return inside / max(len(groups), 1), float(np.mean(pps)) if pps else 0.0, street

    def rebalance(self, current: dict[str, tuple[str, str]], grid: Bounds, micro: Bounds, prefix: str,
                  digits: tuple[int, int] = (3, 3)) -> Plan:
        """The plan in force, with as few households moved as bring every grid within bounds."""
        labels = self.labels_of({u: g for u, (g, _) in current.items()})
        missing = np.nonzero(labels < 0)[0]
        if len(missing):  # new buildings: the grid of their nearest placed neighbour
            labels = adopt_unplaced(self.graph, labels)
        before = labels.copy()
        fixed, problems = rebalance(self.graph, labels, grid)
        groups = [np.nonzero(fixed == g)[0] for g in np.unique(fixed[fixed >= 0])]
        plan = self._plan(groups, problems, grid, micro, prefix, current, digits)
        w = self.graph.households
        total = float(w.sum()) or 1.0
        kept = float(w[(before == fixed) & (before >= 0)].sum())
        # the share of households whose grid code is the same as before
        same = sum(self.units[k].households for k in range(self.graph.n)
                   if current.get(self.codes[k], (None,))[0] == plan.assignment[self.codes[k]][0])
        plan.metrics["households_moved"] = int(total - kept)
        plan.metrics["households_keep_grid"] = round(same / total, 4)
        return plan

    def evaluate(self, assignment: dict[str, str], grid: Bounds, micro: Bounds, prefix: str,
                 previous: dict[str, tuple[str, str]] | None = None, digits: tuple[int, int] = (3, 3)) -> Plan:
        """The plan a planner's edited assignment (unit code -> grid code) makes, scored; the planner's codes stay."""
        missing = [c for c in self.codes if c not in assignment]
        if missing:
            raise PlanError(f"{len(missing)} building(s) are in no grid: {', '.join(missing[:5])}.")
        names = sorted(set(assignment.values()))
        labels = self.labels_of(assignment)
        # a grid whose buildings are all gone from the ground (demolished) is no grid any more
        kept = [(name, units) for name, units in ((n, np.nonzero(labels == k)[0]) for k, n in enumerate(names)) if len(units)]
        return self._plan([u for _, u in kept], [], grid, micro, prefix, previous, digits, [n for n, _ in kept])

    # -- building the plan -----------------------------------------------------------

    def _plan(self, groups: list[npt.NDArray[np.int64]], problems: list[Problem], grid: Bounds, micro: Bounds, prefix: str,
              previous: dict[str, tuple[str, str]] | None, digits: tuple[int, int],
              fixed_codes: list[str] | None = None) -> Plan:
        g = self.graph
        previous = previous or {}
        groups = [np.sort(x) for x in groups if len(x)]
        if fixed_codes is None:
            codes, statuses, retired = _keep_codes(
                [[self.codes[u] for u in x] for x in groups], {u: p[0] for u, p in previous.items()},
                prefix, digits[0], [self.units[u].households for u in range(g.n)], self.position)
        else:
            codes = fixed_codes
            statuses, retired = _statuses([[self.codes[u] for u in x] for x in groups], codes,
                                          {u: p[0] for u, p in previous.items()})
        labels = np.full(g.n, -1, dtype=np.int64)
        for k, x in enumerate(groups):
            labels[x] = k
        grids: list[PlanArea] = []
        micros: list[PlanArea] = []
        assignment: dict[str, tuple[str, str]] = {}
        found = [self._problem(p, "grid") for p in problems]
        for k, (x, code, status) in enumerate(zip(groups, codes, statuses, strict=True)):
            hh = int(g.households[x].sum())
            geom = self._geometry(x)
            grids.append(PlanArea(
                code, "grid", prefix, hh, [self.codes[u] for u in x], self.proj.to_wgs84(geom), polsby_popper(geom),
                len(components(g, x)) == 1, grid.lo <= hh <= grid.hi, status, self._street_share(labels, k),
            ))
            micro_groups, micro_codes, micro_status = self._micro(x, code, status, micro, previous, digits[1])
            for mx, mcode, mstatus in zip(micro_groups, micro_codes, micro_status, strict=True):
                mh = int(g.households[mx].sum())
                mgeom = self._geometry(mx)
                micros.append(PlanArea(
                    mcode, "micro_grid", code, mh, [self.codes[u] for u in mx], self.proj.to_wgs84(mgeom),
                    polsby_popper(mgeom), len(components(g, mx)) == 1,
                    (micro.lo <= mh <= micro.hi) or len(mx) == 1, mstatus,
                ))
                for u in mx.tolist():
                    assignment[self.codes[u]] = (code, mcode)
        return Plan(grids, micros, found, self._metrics(grids, micros, labels), assignment, retired)

    def _micro(self, units: npt.NDArray[np.int64], grid_code: str, status: str, bounds: Bounds,
               previous: dict[str, tuple[str, str]], digits: int) -> tuple[list[npt.NDArray[np.int64]], list[str], list[str]]:
        """Micro-grids of one grid: those in force where the grid did not change, else cut afresh."""
        if status == "unchanged":
            by_code: dict[str, list[int]] = {}
            for u in units.tolist():
                by_code.setdefault(previous[self.codes[u]][1], []).append(u)
            if all(c and c.startswith(grid_code) for c in by_code):
                names = sorted(by_code)
                return [np.asarray(by_code[c]) for c in names], names, ["unchanged"] * len(names)
        groups, _ = partition(self.graph, units, bounds=Bounds(bounds.lo, bounds.hi, exempt_single=True), polish_passes=10)
        before = {u: p[1] for u, p in previous.items() if p[1] and p[1].startswith(grid_code)}
        codes, statuses, _ = _keep_codes([[self.codes[u] for u in x] for x in groups], before, grid_code, digits,
                                         [self.units[u].households for u in range(self.graph.n)], self.position)
        return groups, codes, statuses

    def _geometry(self, units: npt.NDArray[np.int64]) -> BaseGeometry:
        cells = self.graph.cells[units]
        try:
            merged = shapely.coverage_union_all(cells)
        except shapely.errors.GEOSException:
            merged = shapely.union_all(cells)
        if not merged.is_valid:
            merged = shapely.union_all(cells)
        return merged

    def _street_share(self, labels: npt.NDArray[np.int64], k: int) -> float | None:
        if not self.has_streets:
            return None
        g = self.graph
        li, lj = labels[g.edge_i], labels[g.edge_j]
        edge = (li != lj) & ((li == k) | (lj == k))
        length = float(g.edge_length[edge].sum())
        return float((g.edge_length[edge] * g.edge_street[edge]).sum() / length) if length else 1.0

    def _metrics(self, grids: list[PlanArea], micros: list[PlanArea], labels: npt.NDArray[np.int64]) -> dict[str, Any]:
        g = self.graph
        li, lj = labels[g.edge_i], labels[g.edge_j]
        inner = li != lj
        length = float(g.edge_length[inner].sum())
        out: dict[str, Any] = {
            "grids": len(grids),
            "micro_grids": len(micros),
            "households": int(g.households.sum()),
            "buildings": g.n,
            "grids_within_bounds": round(sum(a.within_bounds for a in grids) / max(len(grids), 1), 4),
            "grids_contiguous": round(sum(a.contiguous for a in grids) / max(len(grids), 1), 4),
            "mean_polsby_popper": round(float(np.mean([a.polsby_popper for a in grids])) if grids else 0.0, 4),
            "micro_grids_within_bounds": round(sum(a.within_bounds for a in micros) / max(len(micros), 1), 4),
            "grid_households_min": min((a.households for a in grids), default=0),
            "grid_households_max": max((a.households for a in grids), default=0),
        }
        if self.has_streets:
            out["boundary_along_streets"] = round(float((g.edge_length[inner] * g.edge_street[inner]).sum() / length), 4) if length else 1.0
        return out

    def _problem(self, p: Problem, level: str) -> dict[str, Any]:
        codes = [self.codes[u] for u in p.units]
        shown = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
        where = self.proj.to_wgs84(shapely.point_on_surface(self._geometry(np.asarray(p.units))))
        return {"kind": p.kind, "level": level, "households": p.households, "buildings": codes,
                "message": f"{p.message} (buildings {shown})", "location": [round(where.x, 7), round(where.y, 7)]}


def adopt_unplaced(graph: UnitGraph, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Give each unlabelled unit the label of a labelled neighbour (new buildings join the grid beside them)."""
    labels = labels.copy()
    for _ in range(graph.n):
        todo = np.nonzero(labels < 0)[0]
        if not len(todo):
            break
        changed = False
        for u in todo.tolist():
            around = [labels[v] for v, _ in graph.neighbours[u] if labels[v] >= 0]
            if around:
                labels[u] = Counter(around).most_common(1)[0][0]
                changed = True
        if not changed:
            labels[labels < 0] = labels.max() + 1
            break
    return labels


def _keep_codes(groups: list[list[str]], previous: dict[str, str], prefix: str, digits: int,
                households: list[int], position: dict[str, int]) -> tuple[list[str], list[str], list[str]]:
    """Codes for new groups: a group keeps an old code when each is the other's main share of households.

    Returns the codes, each group's status (unchanged, changed, new) and the old
    codes no group keeps.
    """
    overlap: Counter[tuple[int, str]] = Counter()
    old_total: Counter[str] = Counter()
    for k, units in enumerate(groups):
        for u in units:
            old = previous.get(u)
            if old:
                weight = households[position[u]] + 1e-3  # empty buildings still count a little
                overlap[(k, old)] += weight  # type: ignore[assignment]  # typeshed's Counter counts ints; these weigh households
    for u, old in previous.items():
        if u in position:
            old_total[old] += households[position[u]] + 1e-3  # type: ignore[assignment]  # as above
    group_total = [sum(households[position[u]] + 1e-3 for u in units) for units in groups]
    codes: list[str | None] = [None] * len(groups)
    taken: set[str] = set()
    for (k, old), share in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if codes[k] is None and old not in taken and (share * 2 > old_total[old] or share * 2 > group_total[k]):
            codes[k] = old
            taken.add(old)
    used = {c[len(prefix):] for c in set(previous.values()) if c.startswith(prefix)}
    numbers = [int(s) for s in used if s.isdigit()]
    nxt = max(numbers, default=0) + 1
    for k in range(len(groups)):
        if codes[k] is None:  # past every number in force: never an old code again
            codes[k] = f"{prefix}{nxt:0{digits}d}"
            nxt += 1
    named = [c for c in codes if c is not None]
    statuses, retired = _statuses(groups, named, previous)
    return named, statuses, retired


def _statuses(groups: list[list[str]], codes: list[str], previous: dict[str, str]) -> tuple[list[str], list[str]]:
    old_members: dict[str, set[str]] = {}
    for u, old in previous.items():
        old_members.setdefault(old, set()).add(u)
    statuses = []
    for units, code in zip(groups, codes, strict=True):
        if code not in old_members:
            statuses.append("new")
        else:
            statuses.append("unchanged" if old_members[code] == set(units) else "changed")
    return statuses, sorted(set(old_members) - set(codes))


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Areas are stored as multipolygons."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    return MultiPolygon([p for p in shapely.get_parts(geom) if isinstance(p, Polygon)])

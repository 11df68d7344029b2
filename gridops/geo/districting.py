"""Cutting a community's units into grids of bounded households: compact, contiguous, along streets.

Three steps, each cheap because the unit graph scores a set without geometry:

1. *Count.* Each connected piece of ground gets the number of grids that puts
   their mean nearest the target; a piece that no count can fit (an island of
   120 households, a tower of 620) is reported and kept whole.
2. *Bisect.* A piece that must become k grids is cut in two, k//2 and k - k//2,
   by the cheapest straight sweep (eight directions) whose two sides can still
   each be cut within bounds, and both stay connected; an edge along a street
   costs less to cut. Recursion ends at single grids.
3. *Polish.* Units on a boundary move to a neighbouring grid when that raises
   the grids' compactness (Polsby-Popper, with street edges counting short)
   without breaking a bound or a grid's contiguity.

`rebalance` starts instead from the grids in force and moves as few households
as it can until every grid is within bounds.

One module of ~580 lines on purpose: the steps and `rebalance` share the graph's
running state (`_State`), the sweep and the contiguity tests; apart, each would
import the others' internals.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TypeAlias, cast

import numpy as np
import numpy.typing as npt

from gridops.geo.cells import UnitGraph, components

__all__ = ["Bounds", "Problem", "partition", "rebalance", "polish", "grid_count"]

STREET_DISCOUNT = 0.15  # a shared edge along a street costs this much less to cut
_ANGLES = np.deg2rad(np.arange(0.0, 180.0, 11.25))
_BALANCE = 2.0  # cost of a split's relative deviation from its households target, squared
_CANDIDATES = 6  # cheapest sweeps per direction tried for contiguity

_Floats: TypeAlias = npt.NDArray[np.float64]
_Ints: TypeAlias = npt.NDArray[np.int64]  # unit positions, or group labels per unit
_Mask: TypeAlias = npt.NDArray[np.bool_]  # per unit of a piece: on side A


@dataclass(frozen=True)
class Bounds:
    lo: int
    hi: int
    exempt_single: bool = False  # one unit over `hi` may stand alone (a large building is its own micro-grid)

    @property
    def target(self) -> float:
        return (self.lo + self.hi) / 2.0


@dataclass(frozen=True)
class Problem:
    """Why some units could not be cut within bounds; what was done instead."""

    kind: str  # over_unit, island, no_count
    households: int
    units: tuple[int, ...]
    message: str


@dataclass
class _Weights:
    cut: _Floats  # per edge: length, less for streets
    cell: _Floats  # per unit: weighted perimeter (outer edges at full length)


def _weights(graph: UnitGraph, discount: float = STREET_DISCOUNT) -> _Weights:
    cut = graph.edge_length * (1.0 - discount * graph.edge_street)
    cell = graph.perimeter.copy()
    np.add.at(cell, graph.edge_i, cut - graph.edge_length)
    np.add.at(cell, graph.edge_j, cut - graph.edge_length)
    return _Weights(cut, cell)


def grid_count(households: int, bounds: Bounds) -> tuple[int, bool]:
    """How many grids `households` should make, and whether that count fits the bounds."""
    k_min = max(1, math.ceil(households / bounds.hi))
    k_max = households // bounds.lo
    if k_min <= k_max:
        return min(range(k_min, k_max + 1), key=lambda k: abs(households / k - bounds.target)), True
    # no count fits: the one that breaks the bounds least
    best = min(range(max(1, k_max), k_min + 1), key=lambda k: max(bounds.lo - households / k, households / k - bounds.hi))
    return best, False


# --- 1. count -------------------------------------------------------------------


def partition(graph: UnitGraph, members: _Ints | None = None, bounds: Bounds = Bounds(300, 500),
              polish_passes: int = 40, street_discount: float = STREET_DISCOUNT) -> tuple[list[_Ints], list[Problem]]:
    """Groups of unit indices (each one grid) covering `members`, and the problems met.

    `street_discount` is how much cheaper an edge along a street is to cut (0:
    streets ignored; 0.6: a street edge costs 40% of its length).
    """
    members = np.arange(graph.n) if members is None else np.asarray(members, dtype=np.int64)
    wts = _weights(graph, street_discount)
    w = graph.households
    groups: list[_Ints] = []
    problems: list[Problem] = []
    exempt: set[int] = set()

    over = members[w[members] > bounds.hi]
    rest = members[w[members] <= bounds.hi]
    big_groups: dict[int, int] = {}
    for u in over.tolist():
        big_groups[u] = len(groups)
        groups.append(np.array([u]))
        exempt.add(len(groups) - 1)
        if not bounds.exempt_single:
            problems.append(Problem("over_unit", int(w[u]), (u,),
                                    f"one unit holds {int(w[u])} households, more than {bounds.hi}: it is a grid by itself."))
    for piece in components(graph, rest):
        total = int(w[piece].sum())
        if total < bounds.lo and over.size:
            host = _adjacent_big(graph, piece, big_groups)
            if host is not None:
                groups[host] = np.concatenate([groups[host], piece])
                continue
        k, fits = grid_count(total, bounds)
        if not fits:
            kind = "island" if total < bounds.lo else "no_count"
            why = (f"a piece of ground cut off from the rest holds {total} households, fewer than {bounds.lo}: it is kept as one grid."
                   if kind == "island" else
                   f"a piece of ground holds {total} households, which no number of grids of {bounds.lo}-{bounds.hi} can share: "
                   f"it makes {k} grids of about {total // k}.")
            problems.append(Problem(kind, total, tuple(piece.tolist()), why))
        groups.extend(_bisect(graph, wts, piece, k, bounds))
    labels = np.full(graph.n, -1, dtype=np.int64)
    for g, units in enumerate(groups):
        labels[units] = g
    polish(graph, labels, bounds, passes=polish_passes, frozen=exempt, wts=wts)
    if any(_violation(float(w[units].sum()), bounds) > 0 for g, units in enumerate(_groups_of(labels, members))
           if len(units) > 1 or not bounds.exempt_single):
        # a few leaves missed their bounds: repair them with their neighbours, then polish again
        stuck = {g for g, units in enumerate(groups) if any(set(p.units) >= set(units.tolist()) for p in problems)}
        labels, leftover = rebalance(graph, labels, bounds, frozen=exempt | stuck, split_over=False)
        if not bounds.exempt_single:
            problems.extend(leftover)
        polish(graph, labels, bounds, passes=polish_passes, frozen=exempt | stuck, wts=wts)
    if street_discount > 0 and polish_passes:
        # the pull towards streets has done its work on the cuts; a last pass scores true compactness
        polish(graph, labels, bounds, passes=max(1, polish_passes // 4), frozen=exempt, wts=_weights(graph, 0.0))
    return _groups_of(labels, members), problems


def _adjacent_big(graph: UnitGraph, piece: _Ints, big_groups: dict[int, int]) -> int | None:
    for u in piece.tolist():
        for v, _ in graph.neighbours[u]:
            if v in big_groups:
                return big_groups[v]
    return None


def _groups_of(labels: _Ints, members: _Ints) -> list[_Ints]:
    order = members[np.argsort(labels[members], kind="stable")]
    cuts = np.nonzero(np.diff(labels[order]))[0] + 1
    return [g for g in np.split(order, cuts) if len(g)]


# --- 2. bisect ------------------------------------------------------------------


def _bisect(graph: UnitGraph, wts: _Weights, units: _Ints, k: int, bounds: Bounds) -> list[_Ints]:
    if k <= 1 or len(units) < 2:
        return [units]
    w = graph.households[units]
    total = float(w.sum())
    k1 = k // 2
    k2 = k - k1
    lo_a = max(k1 * bounds.lo, total - k2 * bounds.hi)
    hi_a = min(k1 * bounds.hi, total - k2 * bounds.lo)
    if lo_a > hi_a:  # the piece cannot be cut within bounds: aim at an even share
        lo_a = hi_a = total * k1 / k
    target = total * k1 / k
    side = _best_split(graph, wts, units, lo_a, hi_a, target)
    a, b = units[side], units[~side]
    return _bisect(graph, wts, a, k1, bounds) + _bisect(graph, wts, b, k2, bounds)


def _local_edges(graph: UnitGraph, units: _Ints) -> tuple[_Ints, _Ints, _Ints]:
    local = np.full(graph.n, -1, dtype=np.int64)
    local[units] = np.arange(len(units))
    a, b = local[graph.edge_i], local[graph.edge_j]
    keep = (a >= 0) & (b >= 0)
    return a[keep], b[keep], np.nonzero(keep)[0]


@dataclass
class _Sweep:
    """What scoring the cut positions of one ordering of a piece needs."""

    w: _Floats
    area: _Floats
    cell: _Floats  # weighted cell perimeters
    ea: _Ints
    eb: _Ints
    cw: _Floats
    lo_a: float
    hi_a: float
    target: float
    share: float  # the part of the piece's grids side A is to hold

    def candidates(self, order: _Ints, limit: int = _CANDIDATES) -> list[tuple[float, _Mask]]:
        """The best cut positions whose side A's households fall in [lo_a, hi_a].

        Each position is scored by the compactness both sides would have
        (Polsby-Popper from the graph, street edges counting short), with a
        mild pull towards the even share.
        """
        m = len(order)
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m)
        hh = np.cumsum(self.w[order])  # side A = order[:p+1]
        ok = np.nonzero((hh[:-1] >= self.lo_a - 1e-9) & (hh[:-1] <= self.hi_a + 1e-9))[0]
        if len(ok) == 0:
            return []
        r1 = np.minimum(rank[self.ea], rank[self.eb])
        r2 = np.maximum(rank[self.ea], rank[self.eb])
        inner_a = np.cumsum(np.bincount(r2, weights=self.cw, minlength=m))  # edges with both ends in A
        leave_b = np.cumsum(np.bincount(r1, weights=self.cw, minlength=m))  # edges with an end in A
        total_edges = float(self.cw.sum())
        area_a = np.cumsum(self.area[order])
        cell_a = np.cumsum(self.cell[order])
        perim_a = cell_a - 2.0 * inner_a
        perim_b = (cell_a[-1] - cell_a) - 2.0 * (total_edges - leave_b)
        area_b = area_a[-1] - area_a
        pa = 4.0 * math.pi * area_a[ok] / np.maximum(perim_a[ok], 1e-9) ** 2
        pb = 4.0 * math.pi * area_b[ok] / np.maximum(perim_b[ok], 1e-9) ** 2
        cost = 1.0 - (self.share * pa + (1.0 - self.share) * pb) + _BALANCE * ((hh[ok] - self.target) / max(self.target, 1.0)) ** 2
        pick = np.argsort(cost)[:limit]
        out = []
        for p, c in zip(ok[pick].tolist(), cost[pick].tolist(), strict=True):
            mask = np.zeros(m, dtype=bool)
            mask[order[: p + 1]] = True
            out.append((c, mask))
        return out


def _best_split(graph: UnitGraph, wts: _Weights, units: _Ints, lo_a: float, hi_a: float, target: float) -> _Mask:
    """A boolean mask over `units`: the side that takes `target` households."""
    m = len(units)
    w = graph.households[units].astype(float)
    xy = graph.xy[units]
    ea, eb, eidx = _local_edges(graph, units)
    sweep = _Sweep(w, graph.area[units], wts.cell[units], ea, eb, wts.cut[eidx], lo_a, hi_a, target,
                   target / max(float(w.sum()), 1.0))
    angles = _ANGLES if m >= 40 else _ANGLES[::2]  # a handful of units has few distinct sweeps
    orders = [np.argsort(xy @ np.array([math.cos(t), math.sin(t)]), kind="stable") for t in angles]
    if abs(target * 2 - float(w.sum())) > 1e-6:  # uneven shares: the smaller side may lie at either end
        orders += [o[::-1].copy() for o in orders]
    for limit in (_CANDIDATES, 10 * _CANDIDATES):  # the cheapest first; more only when none leaves both sides whole
        tried = sorted((c for order in orders for c in sweep.candidates(order, limit)), key=lambda t: t[0])
        for _, mask in tried:
            if _connected(graph, units[mask]) and _connected(graph, units[~mask]):
                return mask
    # no straight sweep leaves both sides whole: grow one side along the graph instead
    grown: list[tuple[float, _Mask]] = []
    for theta in angles:
        proj = xy @ np.array([math.cos(theta), math.sin(theta)])
        grown.extend(sweep.candidates(_frontier_order(graph, units, proj), 10 * _CANDIDATES))
    grown.sort(key=lambda t: t[0])
    for _, mask in grown:
        if _connected(graph, units[~mask]):
            return mask
    if grown:
        return _absorb_strays(graph, units, grown[0][1])
    # nothing inside the bounds at all: the even share along the first direction
    order = _frontier_order(graph, units, xy[:, 0])
    prefix = np.cumsum(w[order])
    p = int(np.argmin(np.abs(prefix[:-1] - target)))
    mask = np.zeros(m, dtype=bool)
    mask[order[: p + 1]] = True
    return _absorb_strays(graph, units, mask)


def _frontier_order(graph: UnitGraph, units: _Ints, proj: _Floats) -> _Ints:
    """Units in the order a front sweeping along `proj` reaches them through the graph: every prefix is connected."""
    local = {int(u): k for k, u in enumerate(units.tolist())}
    start = int(np.argmin(proj))
    seen = np.zeros(len(units), dtype=bool)
    heap = [(float(proj[start]), start)]
    seen[start] = True
    order = []
    while heap:
        _, k = heapq.heappop(heap)
        order.append(k)
        for v, _ in graph.neighbours[int(units[k])]:
            j = local.get(v)
            if j is not None and not seen[j]:
                seen[j] = True
                heapq.heappush(heap, (float(proj[j]), j))
    if len(order) < len(units):  # not connected (should not happen): the rest in sweep order
        rest = [k for k in np.argsort(proj).tolist() if not seen[k]]
        order.extend(rest)
    return np.asarray(order, dtype=np.int64)


def _connected(graph: UnitGraph, units: _Ints) -> bool:
    return len(units) > 0 and len(components(graph, units)) == 1


def _absorb_strays(graph: UnitGraph, units: _Ints, mask: _Mask) -> _Mask:
    """Give every piece cut off from its side's main body to the other side."""
    mask = mask.copy()
    for flag in (False, True):
        pieces = components(graph, units[mask == flag])
        if len(pieces) < 2:
            continue
        where = {int(u): k for k, u in enumerate(units.tolist())}
        for piece in pieces[1:]:
            mask[[where[int(u)] for u in piece.tolist()]] = not flag
    return mask


# --- 3. polish ------------------------------------------------------------------


class _State:
    """Per-group households, area and weighted perimeter, kept in step with moves."""

    def __init__(self, graph: UnitGraph, labels: _Ints, wts: _Weights) -> None:
        self.g = graph
        self.labels = labels
        self.wts = wts
        count = int(labels.max()) + 1 if (labels >= 0).any() else 0
        live = labels >= 0
        # with weights np.bincount gives float64 (numpy's stubs say intp whatever the weights)
        self.hh = cast(_Floats, np.bincount(labels[live], weights=graph.households[live], minlength=count))
        self.area = cast(_Floats, np.bincount(labels[live], weights=graph.area[live], minlength=count))
        perim = cast(_Floats, np.bincount(labels[live], weights=wts.cell[live], minlength=count))
        li, lj = labels[graph.edge_i], labels[graph.edge_j]
        inside = (li == lj) & (li >= 0)
        perim -= 2.0 * np.bincount(li[inside], weights=wts.cut[inside], minlength=count)
        self.perim = perim
        self.size = np.bincount(labels[live], minlength=count)

    def shared(self, u: int) -> dict[int, float]:
        out: dict[int, float] = {}
        for v, e in self.g.neighbours[u]:
            lv = int(self.labels[v])
            if lv >= 0:
                out[lv] = out.get(lv, 0.0) + float(self.wts.cut[e])
        return out

    @staticmethod
    def pp(area: float, perim: float) -> float:
        return 4.0 * math.pi * area / (perim * perim) if perim > 0 else 0.0

    def move(self, u: int, h: int, shared: dict[int, float]) -> None:
        g = int(self.labels[u])
        w, a, p = float(self.g.households[u]), float(self.g.area[u]), float(self.wts.cell[u])
        self.perim[g] += -p + 2.0 * shared.get(g, 0.0)
        self.perim[h] += p - 2.0 * shared.get(h, 0.0)
        self.hh[g] -= w
        self.hh[h] += w
        self.area[g] -= a
        self.area[h] += a
        self.size[g] -= 1
        self.size[h] += 1
        self.labels[u] = h


def _violation(hh: float, bounds: Bounds) -> float:
    return max(0.0, bounds.lo - hh, hh - bounds.hi)


def _stays_connected(graph: UnitGraph, labels: _Ints, u: int) -> bool:
    """Would u's group stay connected without u? (a search from one of its neighbours in the group)"""
    g = labels[u]
    same = [v for v, _ in graph.neighbours[u] if labels[v] == g]
    if not same:
        return False
    if len(same) == 1:
        return True
    goal = set(same)
    seen = {same[0], u}
    stack = [same[0]]
    goal.discard(same[0])
    while stack and goal:
        x = stack.pop()
        for v, _ in graph.neighbours[x]:
            if v not in seen and labels[v] == g:
                seen.add(v)
                goal.discard(v)
                stack.append(v)
    return not goal


def polish(graph: UnitGraph, labels: _Ints, bounds: Bounds, passes: int = 40, frozen: set[int] | None = None,
           wts: _Weights | None = None) -> int:
    """Move boundary units between neighbouring groups while it helps; returns the number of moves.

    A move must not add to any group's distance outside the bounds, must keep
    the group it leaves connected, and is taken when it brings a group back
    towards its bounds or raises the two groups' summed compactness.
    """
    wts = wts or _weights(graph)
    state = _State(graph, labels, wts)
    frozen = frozen or set()
    w = graph.households
    moves = 0
    for _ in range(passes):
        changed = 0
        li, lj = labels[graph.edge_i], labels[graph.edge_j]
        border = np.unique(np.concatenate([graph.edge_i[(li != lj) & (li >= 0) & (lj >= 0)],
                                           graph.edge_j[(li != lj) & (li >= 0) & (lj >= 0)]]))
        for u in border.tolist():
            g = int(labels[u])
            if g in frozen or state.size[g] <= 1:
                continue
            shared = state.shared(u)
            best_gain, best_h = 1e-9, -1
            wu, au, pu = float(w[u]), float(graph.area[u]), float(wts.cell[u])
            for h in shared:
                if h == g or h in frozen:
                    continue
                before_v = _violation(state.hh[g], bounds) + _violation(state.hh[h], bounds)
                after_v = _violation(state.hh[g] - wu, bounds) + _violation(state.hh[h] + wu, bounds)
                if after_v > before_v + 1e-9:
                    continue
                pg = state.perim[g] - pu + 2.0 * shared.get(g, 0.0)
                ph = state.perim[h] + pu - 2.0 * shared[h]
                gain = (state.pp(state.area[g] - au, pg) + state.pp(state.area[h] + au, ph)
                        - state.pp(state.area[g], state.perim[g]) - state.pp(state.area[h], state.perim[h]))
                gain += 10.0 * (before_v - after_v) / max(bounds.lo, 1)
                if gain > best_gain:
                    best_gain, best_h = gain, h
            if best_h >= 0 and _stays_connected(graph, labels, u):
                state.move(u, best_h, shared)
                changed += 1
        moves += changed
        if changed == 0:
            break
    return moves


# --- rebalance ------------------------------------------------------------------


def rebalance(graph: UnitGraph, labels: _Ints, bounds: Bounds, max_rounds: int = 200,
              frozen: set[int] | None = None, split_over: bool = True) -> tuple[_Ints, list[Problem]]:
    """Bring every group within bounds by moving as few households as possible.

    Groups far over the bounds (room for another whole grid) are split. The
    rest is done unit by unit, smallest sufficient move first, between a group
    out of bounds and a neighbour with room; where no single move helps, the
    group and one neighbour are merged (when that fits) or cut afresh as a pair.
    `frozen` groups (a tower that is a grid by itself) are left alone.
    """
    labels = labels.copy()
    frozen = frozen or set()
    problems: list[Problem] = []
    wts = _weights(graph)
    w = graph.households
    next_label = int(labels.max()) + 1
    if split_over:  # split what holds a whole extra grid
        for g in np.unique(labels[labels >= 0]).tolist():
            units = np.nonzero(labels == g)[0]
            total = int(w[units].sum())
            k, fits = grid_count(total, bounds)
            if g not in frozen and total > bounds.hi and k >= 2 and (total - bounds.hi) >= bounds.lo / 2:
                for part in _bisect(graph, wts, units, k, bounds)[1:]:
                    labels[part] = next_label
                    next_label += 1
    tried_pairs: set[tuple[int, ...]] = set()
    for _ in range(max_rounds):
        state = _State(graph, labels, wts)
        bad = [g for g in range(len(state.hh))
               if g not in frozen and state.size[g] > 0 and _violation(state.hh[g], bounds) > 0]
        if not bad:
            break
        progressed = False
        for g in sorted(bad, key=lambda g: -_violation(float(state.hh[g]), bounds)):
            if _shift_one(graph, labels, state, g, bounds, frozen):
                progressed = True
        if not progressed:
            for g in bad:
                if state.size[g] > 0 and _recut_pair(graph, wts, labels, state, g, bounds, frozen, tried_pairs):
                    progressed = True
                    break
        if not progressed:
            break
    state = _State(graph, labels, wts)
    for g in range(len(state.hh)):
        if g not in frozen and state.size[g] and _violation(state.hh[g], bounds) > 0:
            members = tuple(np.nonzero(labels == g)[0].tolist())
            problems.append(Problem("no_count", int(state.hh[g]), members,
                                    f"a grid of {int(state.hh[g])} households could not be brought within "
                                    f"{bounds.lo}-{bounds.hi} by moving units to or from its neighbours."))
    return labels, problems


def _shift_one(graph: UnitGraph, labels: _Ints, state: _State, g: int, bounds: Bounds, frozen: set[int]) -> bool:
    """One unit across g's boundary that lessens g's violation without pushing a neighbour out of bounds."""
    w = graph.households
    hh = state.hh[g]
    need = bounds.lo - hh if hh < bounds.lo else hh - bounds.hi
    best: tuple[float, int, int] | None = None
    units = np.nonzero(labels == g)[0]
    if hh > bounds.hi:  # give away: g's boundary units to neighbours with room
        for u in units.tolist():
            wu = float(w[u])
            for h in {int(labels[v]) for v, _ in graph.neighbours[u] if labels[v] >= 0 and labels[v] != g}:
                if h in frozen or state.hh[h] + wu > bounds.hi or state.hh[g] - wu < bounds.lo:
                    continue
                # the smallest unit that does the whole job, else the largest that helps
                score = abs(wu - need) if wu >= need else 1e6 - wu
                if (best is None or score < best[0]) and _stays_connected(graph, labels, u):
                    best = (score, u, h)
    else:  # take in: neighbours' units next to g, from neighbours with some to spare
        candidates = {v for u in units.tolist() for v, _ in graph.neighbours[u] if labels[v] >= 0 and labels[v] != g}
        for v in candidates:
            h = int(labels[v])
            wv = float(w[v])
            if h in frozen or state.hh[h] - wv < bounds.lo or state.hh[g] + wv > bounds.hi or state.size[h] <= 1:
                continue
            score = abs(wv - need) if wv >= need else 1e6 - wv
            if (best is None or score < best[0]) and _stays_connected(graph, labels, v):
                best = (score, v, g)
    if best is None:
        return False
    _, u, h = best
    state.move(u, h, state.shared(u))
    return True


def _recut_pair(graph: UnitGraph, wts: _Weights, labels: _Ints, state: _State, g: int, bounds: Bounds,
                frozen: set[int], tried: set[tuple[int, ...]]) -> bool:
    """Merge g into a neighbour that has room for it, else cut g with one neighbour (or two) afresh.

    Cutting g and two neighbours as one piece may make one grid fewer (three
    grids of 278, 306 and 332 become two of about 458): the last resort.
    """
    units = np.nonzero(labels == g)[0]
    around = sorted({int(labels[v]) for u in units.tolist() for v, _ in graph.neighbours[u]
                     if labels[v] >= 0 and labels[v] != g and int(labels[v]) not in frozen}, key=lambda h: state.hh[h])
    if state.hh[g] < bounds.lo:
        hosts = [h for h in around if state.hh[h] + state.hh[g] <= bounds.hi]
        if hosts:
            labels[units] = hosts[0]
            return True
    groups = [(h,) for h in around] + [(h1, h2) for i, h1 in enumerate(around) for h2 in around[i + 1:]]
    for others in groups:
        key = tuple(sorted((g, *others)))
        if key in tried:
            continue
        tried.add(key)
        members = [units] + [np.nonzero(labels == h)[0] for h in others]
        both = np.concatenate(members)
        total = int(graph.households[both].sum())
        k, fits = grid_count(total, bounds)
        if not fits:
            continue
        before = _violation(state.hh[g], bounds) + sum(_violation(state.hh[h], bounds) for h in others)
        parts = _bisect(graph, wts, both, k, bounds)
        after = sum(_violation(float(graph.households[p].sum()), bounds) for p in parts)
        if after >= before or any(not _connected(graph, p) for p in parts):
            continue
        # each old label goes to the part holding most of its households, so codes follow their ground
        old = labels.copy()
        w = graph.households
        pairs = sorted(((float(w[p][old[p] == h].sum()), k, h) for k, p in enumerate(parts) for h in (g, *others)), reverse=True)
        named: dict[int, int] = {}
        for _, k, h in pairs:
            if k not in named and h not in named.values():
                named[k] = h
        fresh = int(labels.max()) + 1
        for k, part in enumerate(parts):
            if k not in named:
                named[k] = fresh
                fresh += 1
            labels[part] = named[k]
        return True
    return False

"""Our grid generator against PySAL spopt's MaxPHeuristic, on the same blocks and bounds, in one run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/partition.py                 # ~1,000 and ~4,000 blocks; MaxP default only at 1,000
    .venv/bin/python bench/partition.py --full          # MaxP with its default settings at 4,000 too (over 5 minutes)

Blocks are synthetic Voronoi cells of 5-60 households (geo.synth.voronoi_blocks),
with a street along every fifth row and column of blocks. Both plans are scored
by the same code (geo.plan.Ground.evaluate): share of grids within 300-500,
mean Polsby-Popper, contiguity, share of grid boundary along streets. Our time
includes building the unit graph and cutting the micro-grids; MaxP's includes
building its rook weights. Then `rebalance` is timed after 5% of households move.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from gridops.geo.crs import LocalProjection
from gridops.geo.districting import Bounds
from gridops.geo.plan import Ground, Unit
from gridops.geo.synth import voronoi_blocks

PROJ = LocalProjection(104.06, 30.66)
GRID, MICRO = Bounds(300, 500), Bounds(50, 80)


def _maxp(cells, hh, construction: int, annealing: int, seed: int) -> tuple[dict[str, str], float]:
    import geopandas as gpd
    from libpysal.weights import Rook
    from spopt.region.maxp import MaxPHeuristic

    started = time.perf_counter()
    frame = gpd.GeoDataFrame({"households": hh, "code": [f"B{k:05d}" for k in range(len(hh))]}, geometry=list(cells))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = Rook.from_dataframe(frame, use_index=False, silence_warnings=True)
        np.random.seed(seed)
        model = MaxPHeuristic(frame, w, ["households"], "households", 300, top_n=2,
                              max_iterations_construction=construction, max_iterations_sa=annealing)
        model.solve()
    elapsed = time.perf_counter() - started
    return {code: f"R{int(label)}" for code, label in zip(frame["code"], model.labels_, strict=True)}, elapsed


def _row(name: str, seconds: float, metrics: dict) -> str:
    return (f"  {name:<26} {seconds:8.2f} s  grids {metrics['grids']:4d}  in 300-500 {100 * metrics['grids_within_bounds']:5.1f}%  "
            f"PP {metrics['mean_polsby_popper']:.3f}  contiguous {100 * metrics['grids_contiguous']:5.1f}%  "
            f"along streets {100 * metrics.get('boundary_along_streets', 0):4.1f}%  "
            f"households {metrics['grid_households_min']}-{metrics['grid_households_max']}")


def run(n: int, seed: int, full: bool, skip_peer: bool) -> None:
    cells, hh, streets = voronoi_blocks(n, seed=seed)
    units = [Unit(f"B{k:05d}", hh[k], PROJ.to_wgs84(cells[k])) for k in range(n)]
    streets_ll = [PROJ.to_wgs84(s) for s in streets]
    print(f"{n} blocks, {sum(hh):,} households, seed {seed}")

    started = time.perf_counter()
    ground = Ground(units, streets=streets_ll)
    ours = ground.generate(GRID, MICRO, "P")
    t_ours = time.perf_counter() - started
    print(_row("gridops generate", t_ours, ours.metrics) + f"  micro-grids {ours.metrics['micro_grids']}")

    peers: list[tuple[str, float]] = []
    if not skip_peer:
        settings = [("MaxP 10/1 iterations", 10, 1)]
        if full or n <= 1500:
            settings.insert(0, ("MaxP default (99/10)", 99, 10))
        for name, construction, annealing in settings:
            assignment, t_peer = _maxp(cells, hh, construction, annealing, seed)
            scored = ground.evaluate(assignment, GRID, MICRO, "P").metrics
            print(_row(name, t_peer, scored))
            peers.append((name, t_peer))
    for name, t_peer in peers:
        print(f"  speed: gridops is {t_peer / t_ours:5.1f}x faster than {name}")

    # rebalance after 5% of households move between buildings
    rng = np.random.default_rng(seed + 1)
    moved_hh = np.array(hh)
    target, moved = int(0.05 * moved_hh.sum()), 0
    while moved < target:
        a, b = rng.integers(0, n, 2)
        take = min(int(moved_hh[a]), int(rng.integers(5, 30)))
        moved_hh[a] -= take
        moved_hh[b] += take
        moved += take
    changed = [Unit(u.code, int(h), u.geometry) for u, h in zip(units, moved_hh, strict=True)]
    started = time.perf_counter()
    ground2 = Ground(changed, streets=streets_ll)
    fixed = ground2.rebalance(ours.assignment, GRID, MICRO, "P")
    t_rebalance = time.perf_counter() - started
    out_before = sum(not (300 <= sum(int(moved_hh[int(c[1:])]) for c in g.units) <= 500) for g in ours.grids)
    print(f"  rebalance after 5% of households moved: {t_rebalance:.2f} s; grids out of bounds {out_before} -> "
          f"{sum(not a.within_bounds for a in fixed.grids)}; households keep their grid "
          f"{100 * fixed.metrics['households_keep_grid']:.1f}%; moved {fixed.metrics['households_moved']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also MaxP with default settings at every size")
    parser.add_argument("--no-peer", action="store_true", help="only our generator (no spopt)")
    args = parser.parse_args()
    for n in args.sizes:
        run(n, args.seed, args.full, args.no_peer)


if __name__ == "__main__":
    main()

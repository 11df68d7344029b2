"""The grid generator on its own: bounds, contiguity, compactness, nesting, codes, the impossible cases, rebalancing."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from gridops.geo.crs import LocalProjection
from gridops.geo.districting import Bounds
from gridops.geo.plan import Ground, PlanError, Unit
from gridops.geo.synth import synthesize, voronoi_blocks
from gridops.geo.validate import coverage_problems

PROJ = LocalProjection(104.06, 30.66)
GRID, MICRO = Bounds(300, 500), Bounds(50, 80)


def _blocks(n: int, seed: int = 3) -> tuple[list[Unit], list]:
    cells, hh, streets = voronoi_blocks(n, seed=seed)
    units = [Unit(f"B{k:04d}", hh[k], PROJ.to_wgs84(cells[k])) for k in range(n)]
    return units, [PROJ.to_wgs84(s) for s in streets]


@pytest.fixture(scope="module")
def blocks():
    units, streets = _blocks(400)
    ground = Ground(units, streets=streets)
    return units, ground, ground.generate(GRID, MICRO, "510104001001")


def test_every_grid_is_within_bounds_contiguous_and_compact(blocks):
    units, _, plan = blocks
    assert plan.problems == []
    assert {a.households for a in plan.grids} and all(300 <= a.households <= 500 for a in plan.grids)
    assert all(a.contiguous and a.geometry.geom_type == "Polygon" for a in plan.grids)
    assert plan.metrics["mean_polsby_popper"] >= 0.6
    assert sum(a.households for a in plan.grids) == sum(u.households for u in units)
    # each building in exactly one grid and one micro-grid
    assert sorted(plan.assignment) == sorted(u.code for u in units)
    assert sorted(b for a in plan.grids for b in a.units) == sorted(u.code for u in units)


def test_grids_tile_the_ground_and_micro_grids_nest_in_them(blocks):
    units, _, plan = blocks
    ground = shapely.union_all([u.geometry for u in units])
    problems = coverage_problems([a.code for a in plan.grids], [a.geometry for a in plan.grids], ground, min_area_m2=1.0)
    assert problems == []
    for grid in plan.grids:
        kids = [m for m in plan.micro_grids if m.parent_code == grid.code]
        assert kids and all(m.code.startswith(grid.code) and len(m.code) == len(grid.code) + 3 for m in kids)
        assert sum(m.households for m in kids) == grid.households
        assert coverage_problems([m.code for m in kids], [m.geometry for m in kids], grid.geometry, min_area_m2=1.0) == []
    within = [m.within_bounds for m in plan.micro_grids]
    assert np.mean(within) >= 0.8


def test_codes_follow_the_hierarchy_and_unchanged_grids_keep_theirs(blocks):
    _, ground, plan = blocks
    assert all(a.code.startswith("510104001001") and len(a.code) == 15 for a in plan.grids)
    again = ground.generate(GRID, MICRO, "510104001001", previous=plan.assignment)
    assert {a.code for a in again.grids} == {a.code for a in plan.grids}
    assert all(a.status == "unchanged" for a in again.grids) and again.retired == []
    assert {m.code for m in again.micro_grids} == {m.code for m in plan.micro_grids}


def test_rebalance_moves_few_households_and_brings_every_grid_back(blocks):
    units, _, plan = blocks
    rng = np.random.default_rng(5)
    # people move: 5% of households leave some buildings for others
    hh = np.array([u.households for u in units])
    moved = 0
    target = int(0.05 * hh.sum())
    while moved < target:
        a, b = rng.integers(0, len(units), 2)
        take = min(int(hh[a]), int(rng.integers(5, 30)))
        hh[a] -= take
        hh[b] += take
        moved += take
    # and one grid's buildings fill up: it is now well over 500
    first = plan.grids[0]
    for code in first.units:
        hh[int(code[1:])] += 20
    changed = [Unit(u.code, int(h), u.geometry) for u, h in zip(units, hh, strict=True)]
    ground = Ground(changed)
    out_before = sum(not (300 <= sum(int(hh[int(c[1:])]) for c in g.units) <= 500) for g in plan.grids)
    assert out_before >= 1
    fixed = ground.rebalance(plan.assignment, GRID, MICRO, "510104001001")
    assert all(300 <= a.households <= 500 and a.contiguous for a in fixed.grids)
    assert fixed.metrics["households_keep_grid"] >= 0.8
    assert fixed.metrics["households_moved"] < 0.2 * hh.sum()
    kept = {a.code for a in fixed.grids} & {a.code for a in plan.grids}
    assert len(kept) >= len(plan.grids) - 1


def test_footprints_are_never_split_and_points_work_too():
    city = synthesize(7)
    community = city.communities[0]
    units = [Unit(f"B{k}", city.buildings[k].households, PROJ.to_wgs84(city.buildings[k].footprint)) for k in community.buildings]
    container = PROJ.to_wgs84(community.polygon)
    streets = [PROJ.to_wgs84(r[0]) for r in city.roads]
    plan = Ground(units, container=container, streets=streets).generate(GRID, MICRO, "C")
    assert plan.metrics["grids_within_bounds"] == 1.0 and plan.metrics["grids_contiguous"] == 1.0
    assert 0.0 < plan.metrics["boundary_along_streets"] <= 1.0
    by_code = {a.code: a.geometry for a in plan.grids}
    for u in units:
        grid = by_code[plan.assignment[u.code][0]]
        assert PROJ.to_metric(u.geometry).difference(PROJ.to_metric(grid)).area < 0.5  # the whole footprint
    points = [Unit(u.code, u.households, u.geometry.centroid) for u in units]
    from_points = Ground(points, container=container).generate(GRID, MICRO, "C")
    assert from_points.metrics["grids_within_bounds"] == 1.0 and from_points.metrics["grids_contiguous"] == 1.0


def test_what_cannot_be_met_is_named_and_the_rest_is_still_planned():
    units, _ = _blocks(120, seed=9)
    # a tower of 620 households, and a river cutting off a corner of about 120 households
    tower = units[60]
    units[60] = Unit("TOWER", 620, tower.geometry)
    xy = np.array([[PROJ.to_metric(u.geometry).centroid.x, PROJ.to_metric(u.geometry).centroid.y] for u in units])
    corner = np.argsort(xy[:, 0] + xy[:, 1])
    total, chosen = 0, []
    for k in corner.tolist():
        if total + units[k].households > 130:
            break
        chosen.append(k)
        total += units[k].households
    cut = shapely.union_all([PROJ.to_metric(units[k].geometry) for k in chosen]).buffer(0.5).exterior
    plan = Ground(units, barriers=[PROJ.to_wgs84(LineString(cut.coords))]).generate(GRID, MICRO, "C")
    kinds = {p["kind"]: p for p in plan.problems}
    assert "TOWER" in kinds["over_unit"]["buildings"] and "620" in kinds["over_unit"]["message"]
    assert kinds["island"]["households"] == total and "fewer than 300" in kinds["island"]["message"]
    assert sorted(kinds["island"]["buildings"]) == sorted(units[k].code for k in chosen)
    rest = [a for a in plan.grids if "TOWER" not in a.units and not set(a.units) & set(kinds["island"]["buildings"])]
    assert rest and all(300 <= a.households <= 500 and a.contiguous for a in rest)


def test_bad_input_is_refused_with_the_reason():
    square = box(104.0, 30.0, 104.001, 30.001)
    with pytest.raises(PlanError, match="unique"):
        Ground([Unit("A", 5, square), Unit("A", 6, Point(104.0005, 30.0005))])
    with pytest.raises(PlanError, match="negative"):
        Ground([Unit("A", -5, square)])
    with pytest.raises(PlanError, match="no buildings"):
        Ground([])


def test_an_assignment_naming_buildings_no_longer_there_still_scores(blocks):
    units, ground, plan = blocks
    gone = {**plan.assignment, "DEMOLISHED": ("510104001001999", "510104001001999001")}
    scored = ground.evaluate({u: g for u, (g, _) in gone.items()}, GRID, MICRO, "510104001001", previous=plan.assignment)
    assert {a.code for a in scored.grids} == {a.code for a in plan.grids}
    assert all(a.status == "unchanged" for a in scored.grids)

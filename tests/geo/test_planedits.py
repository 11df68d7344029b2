"""A planner's edits on plain data, no database: every edit relabels whole buildings, and a bad one names its field."""

from __future__ import annotations

import pytest
from shapely.geometry import mapping

from gridops.geo.crs import LocalProjection
from gridops.geo.districting import Bounds
from gridops.geo.plan import Ground, Unit
from gridops.geo.planchecks import plan_checks
from gridops.geo.planedits import EditRefused, apply_edit, fresh_code
from gridops.geo.synth import voronoi_blocks

PROJ = LocalProjection(104.06, 30.66)
GRID, MICRO = Bounds(300, 500), Bounds(50, 80)
PREFIX = "510104001001"


@pytest.fixture(scope="module")
def planned():
    cells, hh, streets = voronoi_blocks(120, seed=5)
    units = [Unit(f"B{k:04d}", hh[k], PROJ.to_wgs84(cells[k])) for k in range(len(cells))]
    ground = Ground(units, streets=[PROJ.to_wgs84(s) for s in streets])
    plan = ground.generate(GRID, MICRO, PREFIX)
    return ground, {u: g for u, (g, _) in plan.assignment.items()}


def _edit(ground, grid_of, **edit):
    return apply_edit(ground, grid_of, edit, bounds=GRID, prefix=PREFIX, taken=set(grid_of.values()))


def test_fresh_codes_extend_the_prefix_past_the_highest_taken():
    assert fresh_code(PREFIX, {PREFIX + "001", PREFIX + "007", "x"}) == PREFIX + "008"
    assert fresh_code(PREFIX, set(), digits=2) == PREFIX + "01"


def test_move_takes_the_named_buildings_and_only_them(planned):
    ground, grid_of = planned
    a, b = sorted(set(grid_of.values()))[:2]
    moved = next(u for u, g in grid_of.items() if g == a)
    after = _edit(ground, grid_of, op="move", buildings=[moved], to=b)
    assert after[moved] == b and {u: g for u, g in after.items() if u != moved} == {u: g for u, g in grid_of.items() if u != moved}


def test_merge_keeps_the_first_code_and_split_makes_new_ones(planned):
    ground, grid_of = planned
    a, b = sorted(set(grid_of.values()))[:2]
    merged = _edit(ground, grid_of, op="merge", grids=[a, b])
    assert b not in merged.values() and sum(g == a for g in merged.values()) == sum(g in (a, b) for g in grid_of.values())
    split = _edit(ground, merged, op="split", grid=a)
    new = set(split.values()) - set(merged.values())
    assert len(new) >= 1 and all(c.startswith(PREFIX) and c not in grid_of.values() for c in new)
    plan = ground.evaluate(split, GRID, MICRO, PREFIX)
    findings = plan_checks(plan, GRID, None, PREFIX, ground.proj)
    assert not [f for f in findings if f["kind"] in ("overlap", "gap")]  # still buildings' cells: no gap, no overlap


def test_redraw_moves_the_buildings_whose_entrance_is_inside(planned):
    ground, grid_of = planned
    a = sorted(set(grid_of.values()))[0]
    target = next(u for u in ground.units if grid_of[u.code] != a)
    polygon = mapping(target.geometry.representative_point().buffer(1e-6))
    after = _edit(ground, grid_of, op="redraw", grid=a, polygon=polygon)
    assert after[target.code] == a


@pytest.mark.parametrize(("edit", "field"), [
    ({"op": "move", "buildings": ["nope"], "to": "x"}, "buildings"),
    ({"op": "move", "buildings": [], "to": "x"}, "buildings"),
    ({"op": "split", "grid": "nope"}, "grid"),
    ({"op": "merge", "grids": ["only-one"]}, "grids"),
    ({"op": "redraw", "grid": None, "polygon": {}}, "grid"),
    ({"op": "rotate"}, "op"),
])
def test_a_bad_edit_is_refused_naming_its_field(planned, edit, field):
    ground, grid_of = planned
    with pytest.raises(EditRefused) as refused:
        _edit(ground, grid_of, **edit)
    assert refused.value.details["field"] == field

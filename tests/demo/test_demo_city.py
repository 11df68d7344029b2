"""The demo city is what `make demo` shows and what tests and benchmarks use:
it must be deterministic, readable by GIS tools, and true to the field's rules."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from gridops.geo.crs import local_projection
from gridops.geo.validate import coverage_problems

from gridops.demo.city import ACTORS, DEFAULT_END, INCIDENT_FIELDS, generate_city, write_city
from gridops.incidents.loop import STEPS


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def areas(demo_city_dir):
    doc = json.loads((demo_city_dir / "areas.geojson").read_text(encoding="utf-8"))
    return [(f["properties"], shape(f["geometry"])) for f in doc["features"]]


def by_level(areas, level):
    return [(p, g) for p, g in areas if p["level"] == level]


def test_same_seed_same_files_byte_for_byte(demo_city_dir, tmp_path):
    write_city(generate_city(seed=7, end=DEFAULT_END, weeks=8), tmp_path)
    assert digest(tmp_path) == digest(demo_city_dir)


def test_another_seed_another_city(tmp_path, demo_city_dir):
    write_city(generate_city(seed=8, end=DEFAULT_END, weeks=2), tmp_path)
    areas8 = json.loads((tmp_path / "areas.geojson").read_text(encoding="utf-8"))
    assert all(300 <= f["properties"]["households"] <= 500 for f in areas8["features"] if f["properties"]["level"] == "grid")
    assert digest(tmp_path)["areas.geojson"] != digest(demo_city_dir)["areas.geojson"]


def test_the_city_has_the_shape_the_issue_asks_for(areas):
    levels = Counter(p["level"] for p, _ in areas)
    assert levels["district"] == 1
    assert levels["street"] == 2
    assert 5 <= levels["community"] <= 8
    assert levels["grid"] >= 30 and levels["micro_grid"] >= 5 * levels["grid"]


def test_every_grid_holds_300_to_500_households(areas):
    counts = [p["households"] for p, _ in by_level(areas, "grid")]
    assert min(counts) >= 300 and max(counts) <= 500


def test_micro_grids_hold_roughly_50_to_80_households_or_one_building(areas, demo_city_dir):
    doc = json.loads((demo_city_dir / "buildings.geojson").read_text(encoding="utf-8"))
    points = [shapely.Point(f["properties"]["entrance_lon"], f["properties"]["entrance_lat"]) for f in doc["features"]]
    micro = by_level(areas, "micro_grid")
    tree = shapely.STRtree([g for _, g in micro])
    inside = Counter(int(j) for j in tree.query(points, predicate="within")[1])
    in_range = sum(1 for p, _ in micro if 50 <= p["households"] <= 80)
    single = sum(1 for k, (p, _) in enumerate(micro) if not 50 <= p["households"] <= 80 and inside[k] == 1)
    # the rest are a building or two at the edge of a block, or a school's own ground
    assert (in_range + single) / len(micro) >= 0.9
    assert all(p["households"] <= 100 for p, _ in micro)


def test_households_add_up_the_tree(areas):
    children = defaultdict(int)
    for p, _ in areas:
        if p["parent_code"]:
            children[p["parent_code"]] += p["households"]
    for p, _ in areas:
        if p["level"] != "micro_grid":
            assert children[p["code"]] == p["households"], p["code"]


def test_codes_follow_the_hierarchy(areas):
    digits = {"street": 3, "community": 3, "grid": 3, "micro_grid": 3}
    for p, _ in areas:
        if p["level"] == "district":
            assert len(p["code"]) == 6 and p["parent_code"] is None
        else:
            assert p["code"].startswith(p["parent_code"])
            assert len(p["code"]) == len(p["parent_code"]) + digits[p["level"]]


@pytest.mark.parametrize(("child", "parent"), [
    ("street", "district"), ("community", "street"), ("grid", "community"), ("micro_grid", "grid"),
])
def test_children_tile_their_parent_without_gap_or_overlap_over_a_square_metre(areas, child, parent):
    kids = defaultdict(list)
    for p, g in by_level(areas, child):
        kids[p["parent_code"]].append((p["code"], g))
    for p, g in by_level(areas, parent):
        codes, polys = zip(*kids[p["code"]], strict=True)
        problems = coverage_problems(codes, polys, container=g, min_area_m2=1.0)
        assert problems == [], (p["code"], problems[:3])


def test_grids_and_micro_grids_are_each_one_piece_and_valid(areas):
    for p, g in by_level(areas, "grid") + by_level(areas, "micro_grid"):
        assert g.is_valid, p["code"]
        assert len(shapely.get_parts(g)) == 1, p["code"]


def test_grids_follow_streets_where_they_can(areas, demo_city_dir):
    """Most of every grid boundary runs along a street centre line."""
    roads = json.loads((demo_city_dir / "roads.geojson").read_text(encoding="utf-8"))
    network = shapely.union_all([shape(f["geometry"]) for f in roads["features"]])
    grids = [g for _, g in by_level(areas, "grid")]
    proj = local_projection(tuple(shapely.total_bounds(np.asarray(grids, dtype=object))))
    street = proj.to_metric(network).buffer(0.5)
    edges = shapely.union_all([proj.to_metric(g).boundary for g in grids])
    assert edges.intersection(street).length / edges.length > 0.75


def test_the_city_writes_reports_and_their_scripts_not_a_history(demo_city_dir):
    """incidents.geojson holds the reports as they come in; incident_steps.csv what an office does with each and
    when — steps of the loop by kinds of actor, in time order after the report and never after the snapshot.
    What became of a report (status, assignee, merges) is left to the real loop when the city is loaded."""
    manifest = json.loads((demo_city_dir / "city.json").read_text(encoding="utf-8"))
    incidents = json.loads((demo_city_dir / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    with (demo_city_dir / "incident_steps.csv").open(encoding="utf-8") as fh:
        steps = list(csv.DictReader(fh))
    assert not (demo_city_dir / "incident_events.csv").exists()
    assert manifest["counts"]["incidents"] == len(incidents) and manifest["counts"]["steps"] == len(steps)
    assert list(incidents[0]["properties"]) == [f for f in INCIDENT_FIELDS if f not in ("lon", "lat")]  # those are the point
    assert not {"status", "assignee", "due_at", "closed_at", "merged_into", "rating"} & set(incidents[0]["properties"])
    reported = {f["properties"]["ref"]: f["properties"]["reported_at"] for f in incidents}
    by_ref = defaultdict(list)
    for st in steps:
        by_ref[st["incident_ref"]].append(st)
    assert set(by_ref) <= set(reported)
    for ref, script in by_ref.items():
        assert [int(st["step"]) for st in script] == list(range(1, len(script) + 1)), ref
        times = [reported[ref]] + [st["at"] for st in script]
        assert times == sorted(times) and len(set(times)) == len(times), ref
        assert script[-1]["at"] <= manifest["snapshot_at"]
        for st in script:
            step = STEPS[st["action"]]  # a step of the loop
            assert st["actor"] in ACTORS
            assert not step.needs_note or st["note"], (ref, st)
            assert (st["action"] == "rate") == bool(st["rating"]) and (not st["rating"] or 1 <= int(st["rating"]) <= 5)
            assert st["action"] not in ("check_in", "resolve") or (st["lon"] and st["lat"]), (ref, st)
    actions = Counter(st["action"] for st in steps)
    assert {"accept", "assess", "dispatch", "take", "check_in", "resolve", "verify", "return", "close", "rate",
            "escalate", "supervise", "reject"} <= set(actions)
    # some scripts end before the loop is closed: the snapshot moment came first
    assert sum(1 for script in by_ref.values() if script[-1]["action"] not in ("close", "rate")) > 0
    assert "incident_steps.csv" in (demo_city_dir / "README.txt").read_text(encoding="utf-8")


def test_the_city_has_real_hot_spots(demo_city_dir, areas):
    """E-bike charging reports gather in a few grids; rubbish reports spread with the households."""
    incidents = json.loads((demo_city_dir / "incidents.geojson").read_text(encoding="utf-8"))["features"]
    grids = by_level(areas, "grid")
    tree = shapely.STRtree([g for _, g in grids])

    def top3_share(category):
        pts = [shape(f["geometry"]) for f in incidents if f["properties"]["category"] == category]
        hits = Counter(int(j) for j in tree.query(pts, predicate="intersects")[1])
        return sum(n for _, n in hits.most_common(3)) / len(pts)

    assert top3_share("hazard.ebike_charging") > 2 * top3_share("environment.garbage")


def test_files_open_in_gis_tools(demo_city_dir):
    import geopandas as gpd

    for name in ("areas", "roads", "buildings", "workers", "incidents"):
        frame = gpd.read_file(demo_city_dir / f"{name}.geojson")
        assert len(frame) > 0 and frame.crs.to_epsg() == 4326

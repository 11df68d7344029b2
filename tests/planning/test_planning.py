"""Planners over the API: a draft is generated, edited, checked, its impact shown, then published as a version."""

from __future__ import annotations

from datetime import timedelta

import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import shape
from sqlalchemy import func, select

from gridops.cli import cli
from gridops.core.models import Assignment, BoundaryVersion, Building, Incident, IncidentEvent, Task, Worker
from tests.conftest import TEST_GRID

COMMUNITY = TEST_GRID[:12]


def _draft(city, method="generate", **extra) -> dict:
    res = city.client.post("/api/v1/plans", json={"community": COMMUNITY, "method": method, **extra}, headers=city.h("planner"))
    assert res.status_code == 201, res.json
    return res.json


def test_a_generated_draft_meets_the_bounds_and_says_what_it_would_move(city):
    draft = _draft(city)
    m = draft["metrics"]
    assert m["grids_within_bounds"] == 1.0 and m["grids_contiguous"] == 1.0 and m["mean_polsby_popper"] >= 0.5
    assert 0 < m["boundary_along_streets"] <= 1
    assert all(300 <= g["households"] <= 500 and g["code"].startswith(COMMUNITY) for g in draft["grids"])
    assert not [c for c in draft["checks"] if c["kind"] in ("gap", "overlap", "micro_gap", "micro_overlap", "not_contiguous")]
    impact = draft["impact"]
    assert set(impact) >= {"households_moved", "workers", "open_incidents", "patrol_visits", "grids"}
    assert 0 <= impact["households_keep_grid"] <= 1
    # the map layers: the draft's grids and micro-grids, and the grids in force over the same ground
    res = city.client.get(f"/api/v1/plans/{draft['id']}/geojson", headers=city.h("planner"))
    assert res.status_code == 200 and res.mimetype == "application/geo+json"
    levels = {f["properties"]["level"] for f in res.json["features"]}
    assert levels == {"grid", "micro_grid"}
    old = city.client.get(f"/api/v1/plans/{draft['id']}/geojson?which=published", headers=city.h("planner")).json
    assert old["features"] and all(f["properties"]["code"].startswith(COMMUNITY) for f in old["features"])


def test_a_copy_of_the_grids_in_force_moves_nothing(city):
    draft = _draft(city, "copy")
    assert draft["impact"]["households_moved"] == 0 and draft["impact"]["open_incidents"] == []
    assert all(g["status"] == "unchanged" for g in draft["grids"])
    assert draft["impact"]["grids"]["retired"] == []


def test_edits_are_checked_at_once_and_show_their_impact(city):
    draft = _draft(city, "copy")
    features = city.client.get(f"/api/v1/plans/{draft['id']}/geojson", headers=city.h("planner")).json["features"]
    shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in features if f["properties"]["level"] == "grid"}
    # merge two neighbours: one grid over the bounds, the other's code retired, its workers told
    neighbours = next((x, y) for x in sorted(shapes) for y in sorted(shapes) if x < y and shapes[x].touches(shapes[y]))
    res = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "merge", "grids": list(neighbours), "revision": 1},
                           headers=city.h("planner"))
    assert res.status_code == 200, res.json
    merged = res.json
    assert merged["revision"] == 2
    assert neighbours[1] in merged["impact"]["grids"]["retired"]
    assert any(c["kind"] == "households_over" and neighbours[0] in c["codes"] for c in merged["checks"])
    assert any(w["change"] == "retired" and w["area"].startswith(neighbours[1]) for w in merged["impact"]["workers"])
    assert merged["impact"]["households_moved"] > 0
    # a stale revision is refused, and nothing changes
    stale = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "split", "grid": neighbours[0], "revision": 1},
                             headers=city.h("planner"))
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    # split it again: back within bounds
    res = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "split", "grid": neighbours[0]}, headers=city.h("planner"))
    assert res.status_code == 200, res.json
    split = res.json
    assert all(300 <= g["households"] <= 500 for g in split["grids"]), [g["households"] for g in split["grids"]]
    assert not [c for c in split["checks"] if c["kind"] in ("gap", "overlap", "not_contiguous")]
    # move one building across a boundary: the draft says which households and grids change
    plan = city.client.get(f"/api/v1/plans/{draft['id']}/geojson", headers=city.h("planner")).json
    grid_shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in plan["features"] if f["properties"]["level"] == "grid"}
    with city.session() as s:
        buildings = s.execute(select(Building.code, Building.households, Building.location.ST_AsBinary())
                              .where(Building.code.like("%"))).all()
    target, building = None, None
    for code, hh, wkb in buildings:
        p = shapely.from_wkb(bytes(wkb))
        home = next((c for c, g in grid_shapes.items() if g.intersects(p)), None)
        if home is None or hh == 0:
            continue
        near = [c for c, g in grid_shapes.items() if c != home and g.distance(p) < 0.0003]
        if near:
            target, building = near[0], code
            break
    assert building is not None
    res = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "move", "buildings": [building], "to": target},
                           headers=city.h("planner"))
    assert res.status_code == 200, res.json
    moved = {g["code"]: g for g in res.json["grids"]}
    before = {g["code"]: g for g in split["grids"]}
    assert moved[target]["households"] > before[target]["households"]
    # redraw by hand: a polygon around a grid's buildings hands them to another grid
    a, b = sorted(g["code"] for g in res.json["grids"])[:2]
    cell = grid_shapes[a].buffer(-0.00005)
    res = city.client.post(f"/api/v1/plans/{draft['id']}/edits",
                           json={"op": "redraw", "grid": b, "polygon": shapely.geometry.mapping(cell)}, headers=city.h("planner"))
    assert res.status_code == 200, res.json
    assert a not in {g["code"] for g in res.json["grids"]} or {g["code"]: g for g in res.json["grids"]}[a]["households"] < 100


@pytest.mark.parametrize("edit, field", [
    ({"op": "move", "buildings": ["NOPE"], "to": "x"}, "buildings"),
    ({"op": "split", "grid": "nope"}, "grid"),
    ({"op": "merge", "grids": ["only-one"]}, "grids"),
    ({"op": "redraw", "grid": "nope", "polygon": {"type": "Polygon", "coordinates": []}}, "grid"),
    ({"op": "paint"}, "op"),
])
def test_a_bad_edit_is_refused_naming_the_field_and_changes_nothing(city, edit, field):
    draft = _draft(city, "copy")
    res = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json=edit, headers=city.h("planner"))
    assert res.status_code == 400 and res.mimetype == "application/problem+json", res.json
    assert field in str(res.json)
    again = city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("planner")).json
    assert again["revision"] == 1


def test_only_planners_draw_and_publish(city, english):
    for role in ("grid_worker", "resident", "command_centre"):
        res = city.client.post("/api/v1/plans", json={"community": COMMUNITY}, headers=city.h(role))
        assert res.status_code == 403, role
    assert city.client.post("/api/v1/plans", json={"community": COMMUNITY}).status_code == 401
    draft = _draft(city, "copy")
    assert city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("command_centre")).status_code == 200
    assert city.client.post(f"/api/v1/plans/{draft['id']}/publish", json={}, headers=city.h("command_centre")).status_code == 403
    res = city.client.post("/api/v1/plans", json={"community": TEST_GRID}, headers=city.h("planner"))
    assert res.status_code == 400 and "not a community" in res.json["detail"]
    assert city.client.post("/api/v1/plans", json={"community": "999999999999"}, headers=city.h("planner")).status_code == 404


def test_publishing_makes_a_version_that_new_reports_use_while_open_work_stays_put(city):
    draft = _draft(city)
    impact = draft["impact"]
    effective = city.clock["t"] + timedelta(hours=1)
    features = city.client.get(f"/api/v1/plans/{draft['id']}/geojson", headers=city.h("planner")).json["features"]
    old = city.client.get(f"/api/v1/plans/{draft['id']}/geojson?which=published", headers=city.h("planner")).json["features"]
    with city.session() as s:
        versions_before = s.scalar(select(func.count(BoundaryVersion.id)))
    res = city.client.post(f"/api/v1/plans/{draft['id']}/publish", json={"effective_from": effective.isoformat(),
                           "accept_uncovered": impact["grids_without_worker"]}, headers=city.h("planner"))
    assert res.status_code == 200, res.json
    done = res.json
    assert done["status"] == "published" and done["published"]["effective_from"].startswith(effective.astimezone().isoformat()[:10])
    with city.session() as s:
        assert s.scalar(select(func.count(BoundaryVersion.id))) == versions_before + 1
        noted = s.scalars(select(IncidentEvent).where(IncidentEvent.action == "comment", IncidentEvent.note.like("%stays with%"))).all()
        assert len(noted) == len(impact["open_incidents"])
        for item in impact["open_incidents"][:5]:
            inc = s.get(Incident, int(item["id"]))
            holder = s.get(Worker, inc.assignee_id).code if inc.assignee_id else None
            assert holder == item["assignee"]  # still with the same person
        for item in impact["patrol_visits"]:
            task = s.get(Task, item["task"])
            if task.scheduled_for is None or task.scheduled_for >= effective:
                assert task.area_code == item["to"]
        ended = s.scalars(select(Assignment).where(Assignment.valid_to.is_not(None))).all()
        assert len(ended) >= sum(1 for w in impact["workers"] if w["change"] == "retired")
    # each assignment of a retired grid ended in the trail, as the people register ends one by hand
    trail = city.client.get("/api/v1/audit?kind=assignment&limit=2000", headers=city.h("admin")).json["changes"]
    retired = [c for c in trail if c["action"] == "end" and c["note"] == f"plan draft {draft['id']} published"]
    assert len(retired) == done["published"]["assignments_ended"] > 0
    assert all(c["after"]["valid_to"] == done["published"]["effective_from"] for c in retired)
    # a published draft cannot be edited or published again
    assert city.client.post(f"/api/v1/plans/{draft['id']}/publish", json={}, headers=city.h("planner")).status_code == 409
    # places are found in the old grids until the effective time and in the new ones after it
    city.app.extensions["gridops.geocoder"].registry.refresh()
    checked = 0
    for f in features:
        if f["properties"]["level"] != "grid" or f["properties"]["status"] == "unchanged":
            continue
        spot = shapely.point_on_surface(shape(f["geometry"]))
        was = next((o["properties"]["code"] for o in old if shape(o["geometry"]).contains(spot)), None)
        for when, expected in ((effective - timedelta(minutes=5), was), (effective + timedelta(minutes=5), f["properties"]["code"])):
            res = city.client.get("/api/v1/locate", query_string={"lon": spot.x, "lat": spot.y, "at": when.isoformat()})
            assert res.status_code == 200, res.json
            assert res.json["grid"]["code"] == expected, (when, res.json)
        checked += 1
    assert checked


def test_the_cli_plans_a_file_without_a_database(tmp_path):
    import json

    from gridops.geo.crs import LocalProjection
    from gridops.geo.synth import voronoi_blocks

    proj = LocalProjection(104.06, 30.66)
    cells, hh, _ = voronoi_blocks(150, seed=4)
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(proj.to_wgs84(c)), "properties": {"bid": f"K{k}", "hu": h}}
        for k, (c, h) in enumerate(zip(cells, hh, strict=True))]}
    src = tmp_path / "blocks.geojson"
    src.write_text(json.dumps(doc))
    out = tmp_path / "plan.geojson"
    result = CliRunner().invoke(cli, ["plan", "generate", "--from", str(src), "--households-column", "hu",
                                      "--code-column", "bid", "--prefix", "510199009009", "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    grids = [f for f in plan["features"] if f["properties"]["level"] == "grid"]
    assert grids and all(300 <= f["properties"]["households"] <= 500 for f in grids)
    assert sum(f["properties"]["households"] for f in grids) == sum(hh)
    assert plan["metrics"]["grids_contiguous"] == 1.0 and "within bounds" in result.output
    bad = CliRunner().invoke(cli, ["plan", "generate", "--from", str(src), "--households-column", "nope", "--out", str(out)])
    assert bad.exit_code != 0 and "nope" in bad.output and "hu" in bad.output


def test_rebalance_brings_grids_back_within_bounds_moving_few_households(city):
    # people move in: the buildings of one grid fill up until it is far over 500
    draft = _draft(city, "copy")
    grids = sorted(draft["grids"], key=lambda g: g["code"])
    full = grids[0]
    with city.session() as s:
        fc = city.client.get(f"/api/v1/plans/{draft['id']}/geojson?which=buildings", headers=city.h("planner")).json
        codes = [f["properties"]["code"] for f in fc["features"] if f["properties"]["grid"] == full["code"]]
        for b in s.scalars(select(Building).where(Building.code.in_(codes))):
            b.households += max(1, round(b.households * 0.25))
    res = city.client.post("/api/v1/plans", json={"community": COMMUNITY, "method": "rebalance"}, headers=city.h("planner"))
    assert res.status_code == 201, res.json
    fixed = res.json
    assert all(300 <= g["households"] <= 500 for g in fixed["grids"]), [g["households"] for g in fixed["grids"]]
    assert fixed["metrics"]["grids_contiguous"] == 1.0
    assert fixed["impact"]["households_keep_grid"] >= 0.8
    # grids that did not need to change keep their code and their ground
    assert sum(g["status"] == "unchanged" for g in fixed["grids"]) >= len(grids) // 2
    assert {g["code"] for g in grids} - {g["code"] for g in fixed["grids"]} == set()


def test_the_cli_drafts_and_publishes_a_community(writable_demo_url, tmp_path):
    from tests.cli.test_cli import run

    out = tmp_path / "draft.geojson"
    made = run("plan", "generate", "--community", COMMUNITY, "--out", str(out), url=writable_demo_url)
    assert made.returncode == 0, made.stderr
    assert "within bounds" in made.stdout and "publish with: gridops plan publish" in made.stdout
    draft_id = made.stdout.split("draft ")[1].split()[0]
    assert out.exists() and '"micro_grid"' in out.read_text()
    listed = run("plan", "list", url=writable_demo_url)
    assert listed.stdout.startswith(f"{draft_id}\t{COMMUNITY}\tdraft")
    uncovered = made.stdout.split("nobody would answer for: ")[1].split(" (")[0].split() if "nobody would" in made.stdout else []
    if uncovered:
        refused = run("plan", "publish", draft_id, "--effective", "2030-01-01T00:00", url=writable_demo_url)
        assert refused.returncode != 0 and "nobody answering" in refused.stderr, refused.stderr
    accepted = [arg for g in uncovered for arg in ("--accept-uncovered", g)]
    done = run("plan", "publish", draft_id, "--effective", "2030-01-01T00:00", *accepted, url=writable_demo_url)
    assert done.returncode == 0, done.stderr
    assert "published grid version 2, effective 2029-12-31T16:00:00+00:00" in done.stdout
    again = run("plan", "publish", draft_id, url=writable_demo_url)
    assert again.returncode != 0 and "published" in again.stderr


def test_a_draft_with_findings_is_published_only_when_the_planner_accepts_them(city):
    draft = _draft(city, "copy")
    fc = city.client.get(f"/api/v1/plans/{draft['id']}/geojson", headers=city.h("planner")).json
    shapes = {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"] if f["properties"]["level"] == "grid"}
    pair = next([x, y] for x in sorted(shapes) for y in sorted(shapes) if x < y and shapes[x].touches(shapes[y]))
    merged = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "merge", "grids": pair}, headers=city.h("planner")).json
    assert merged["checks"]
    with city.session() as s:
        versions = s.scalar(select(func.count(BoundaryVersion.id)))
    refused = city.client.post(f"/api/v1/plans/{draft['id']}/publish", json={}, headers=city.h("planner"))
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "accept_warnings" in refused.json["detail"] and refused.json["report"]["warnings"]
    with city.session() as s:
        assert s.scalar(select(func.count(BoundaryVersion.id))) == versions  # nothing stored
    assert city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("planner")).json["status"] == "draft"
    done = city.client.post(f"/api/v1/plans/{draft['id']}/publish", json={
        "accept_warnings": True, "accept_uncovered": merged["impact"]["grids_without_worker"]}, headers=city.h("planner"))
    assert done.status_code == 200, done.json
    assert done.json["published"]["version"] == 2


def test_a_plan_leaving_grids_with_nobody_is_published_only_naming_their_workers_or_accepting_them(city, english):
    draft = _draft(city, "copy")
    first = sorted(g["code"] for g in draft["grids"])[0]
    split = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "split", "grid": first}, headers=city.h("planner"))
    assert split.status_code == 200, split.json
    uncovered = split.json["impact"]["grids_without_worker"]
    assert uncovered, "a split makes a new grid nobody answers for yet"
    path = f"/api/v1/plans/{draft['id']}/publish"
    refused = city.client.post(path, json={"accept_warnings": True}, headers=city.h("planner"))
    assert refused.status_code == 409 and refused.json["type"] == "/problems/grids-uncovered", refused.json
    assert [u["grid"] for u in refused.json["report"]["uncovered"]] == uncovered
    assert all(u["households"] >= 0 for u in refused.json["report"]["uncovered"])
    partly = city.client.post(path, json={"accept_warnings": True, "accept_uncovered": uncovered[1:]}, headers=city.h("planner"))
    assert partly.status_code == 409 and [u["grid"] for u in partly.json["report"]["uncovered"]] == uncovered[:1]
    stray = city.client.post(path, json={"accept_warnings": True, "workers": {"510199999999999": "W0001"}}, headers=city.h("planner"))
    assert stray.status_code == 422 and stray.json["field"] == "workers" and stray.json["value"] == "510199999999999"
    assert city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("planner")).json["status"] == "draft"  # nothing stored
    newcomer = city.client.post("/api/v1/people", json={"code": "W9400", "name": "吴新", "role": "grid_worker"}, headers=city.h("admin"))
    assert newcomer.status_code == 201
    done = city.client.post(path, json={"accept_warnings": True, "workers": {uncovered[0]: "W9400"},
                                        "accept_uncovered": uncovered[1:]}, headers=city.h("admin"))
    assert done.status_code == 200, done.json
    assert done.json["published"]["workers_named"] == {uncovered[0]: "W9400"}
    person = city.client.get("/api/v1/people/W9400", headers=city.h("admin")).json
    assert [(a["area"], a["duty"]) for a in person["assignments"]] == [(uncovered[0], "primary")]
    trail = city.client.get("/api/v1/audit?kind=assignment", headers=city.h("admin")).json["changes"]
    assert any(f"plan draft {draft['id']}" in (c["note"] or "") for c in trail)


def test_two_planners_saving_the_same_revision_never_overwrite_each_other(city, english):
    """The draft's revision is an optimistic lock: the second save of the same revision is refused."""
    import pytest as _pytest
    from sqlalchemy.orm.exc import StaleDataError

    from gridops.core.models import PlanDraft

    draft = _draft(city, "copy")
    db = city.app.extensions["gridops.db"]
    with db.session() as first:
        mine = first.get(PlanDraft, draft["id"])
        with db.session() as second:  # the other planner saves first
            theirs = second.get(PlanDraft, draft["id"])
            theirs.assignment = {**theirs.assignment}
            theirs.metrics = {**(theirs.metrics or {}), "note": "theirs"}
        mine.metrics = {**(mine.metrics or {}), "note": "mine"}
        with _pytest.raises(StaleDataError):
            first.flush()
        first.rollback()
    kept = city.client.get(f"/api/v1/plans/{draft['id']}", headers=city.h("planner")).json
    assert kept["revision"] == 2
    # over the API the same race reads as 409 with the current revision to reload
    stale = city.client.post(f"/api/v1/plans/{draft['id']}/edits", json={"op": "split", "grid": kept["grids"][0]["code"], "revision": 1},
                             headers=city.h("planner"))
    assert stale.status_code == 409 and "revision 2" in stale.json["detail"]

"""`gridops load` stores the city faithfully, makes its incident history by driving the real loop (so every
event is one the API can write), places incidents as intake does, and is all-or-nothing."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from gridops.core.config import load_config
from gridops.core.db import Database
from gridops.core.errors import InvalidParameter
from gridops.core.models import Area, Building, Household, Incident, IncidentEvent, IncidentFollower, StreamEvent, Task, Worker
from gridops.demo.loader import load_city
from gridops.incidents import loop


@pytest.fixture
def demo_db(demo_url):
    db = Database(demo_url)
    yield db
    db.dispose()


def test_everything_in_the_files_is_in_the_database(demo_db, demo_city_dir):
    manifest = json.loads((demo_city_dir / "city.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    with demo_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level == "grid")) == counts["grids"]
        assert s.scalar(select(func.count()).select_from(Area).where(Area.level == "micro_grid")) == counts["micro_grids"]
        assert s.scalar(select(func.count(Building.id))) == counts["buildings"]
        assert s.scalar(select(func.count(Household.id))) == counts["households"]
        assert s.scalar(select(func.count(Worker.id))) == counts["workers"]
        assert s.scalar(select(func.count(Incident.id))) == counts["incidents"]
        assert s.scalar(select(func.count(IncidentEvent.id))) > counts["incidents"]
        assert s.scalar(select(func.count(Task.id))) > 0


def test_incidents_are_placed_by_their_coordinates_in_the_database_too(demo_db):
    """The loader's placement agrees with the database's own ST_Covers on every incident."""
    with demo_db.session() as s:
        rows = s.execute(
            select(Incident.id, Incident.grid_id, Incident.micro_grid_id, Incident.location_status, Incident.snap_distance_m)
        ).all()
        covering = s.execute(
            select(Incident.id, Area.id, Area.code, Area.level)
            .join(Area, func.ST_Covers(Area.geom, Incident.location))
            .where(Area.version_id == Incident.boundary_version_id, Area.level.in_(["grid", "micro_grid"]))
        ).all()
    best: dict[tuple[int, str], tuple[str, int]] = {}
    for inc, area_id, code, level in covering:
        key = (inc, level)
        if key not in best or code < best[key][0]:  # the documented tie-break: smallest code
            best[key] = (code, area_id)
    snapped = 0
    for inc, grid_id, micro_id, status, distance in rows:
        if status == "snapped":  # a drain on the district's outer road, a few metres outside
            assert 0 < distance <= 50 and (inc, "grid") not in best
            snapped += 1
            continue
        assert status in {"inside", "on_boundary"} and distance is None
        assert best[(inc, "grid")][1] == grid_id
        assert best[(inc, "micro_grid")][1] == micro_id
    assert snapped < len(rows) / 100


def test_a_load_that_fails_part_way_leaves_nothing(migrated_url, demo_city_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(demo_city_dir, broken)
    incidents = json.loads((broken / "incidents.geojson").read_text(encoding="utf-8"))
    incidents["features"][-1]["properties"]["category"] = "no.such.category"
    (broken / "incidents.geojson").write_text(json.dumps(incidents, ensure_ascii=False), encoding="utf-8")
    db = Database(migrated_url)
    try:
        with pytest.raises(InvalidParameter, match="no.such.category"):
            with db.session() as s:
                load_city(s, broken, config=load_config({"DATABASE_URL": migrated_url}))
        with db.session() as s:
            assert s.scalar(select(func.count(Area.id))) == 0
            assert s.scalar(select(func.count(Building.id))) == 0
    finally:
        db.dispose()


# what intake itself writes besides the loop's steps: the report, and a duplicate merged on arrival
INTAKE_WRITES = {(None, "reported", "report"), ("reported", "merged", "merge")}


def test_every_event_of_the_loaded_history_is_one_the_api_can_write(demo_db):
    """The history is made by intake and `steps.act` with the clock moved, never written by hand: every
    (from, to, action) is a transition of the loop (or intake's own), each incident's events chain, and the
    incident's columns are where its events left them."""
    possible = set(loop.transitions()) | INTAKE_WRITES
    actions = set(loop.ACTIONS) | set(loop.RECORDED_ONLY) | {a for _, _, a in INTAKE_WRITES}
    with demo_db.session() as s:
        events = s.execute(select(IncidentEvent.incident_id, IncidentEvent.seq, IncidentEvent.at, IncidentEvent.action,
                                  IncidentEvent.from_status, IncidentEvent.to_status)
                           .order_by(IncidentEvent.incident_id, IncidentEvent.seq)).all()
        incidents = {i.id: i for i in s.scalars(select(Incident))}
        stream = s.scalar(select(func.count(StreamEvent.id)))
    impossible = Counter((f, t, a) for _, _, _, a, f, t in events if (f, t, a) not in possible)
    assert not impossible, impossible
    assert {a for _, _, _, a, _, _ in events} <= actions
    by_incident = defaultdict(list)
    for e in events:
        by_incident[e[0]].append(e)
    assert set(by_incident) == set(incidents)
    for iid, evs in by_incident.items():
        assert [e[1] for e in evs] == list(range(1, len(evs) + 1)), iid
        assert evs[0][3] == "report" and evs[0][2] == incidents[iid].reported_at
        for before, after in zip(evs, evs[1:], strict=False):
            assert after[4] == before[5] and after[2] >= before[2], (iid, before, after)
        assert evs[-1][5] == incidents[iid].status, iid
    assert stream == 0  # a loaded history is not live news


def test_the_loaded_history_is_lively(demo_db, demo_load_counts):
    """Not an empty or a trivial history: most reports closed and many called back, some escalated, returned,
    merged and supervised, a few still open at the snapshot — and the script's steps nearly all taken."""
    with demo_db.session() as s:
        status = Counter(dict(s.execute(select(Incident.status, func.count()).group_by(Incident.status)).all()))
        actions = Counter(dict(s.execute(select(IncidentEvent.action, func.count()).group_by(IncidentEvent.action)).all()))
        rated = s.scalar(select(func.count()).select_from(Incident).where(Incident.rating.is_not(None)))
        followers = s.scalar(select(func.count(IncidentFollower.id)))
        merged_into_open_or_done = s.scalar(select(func.count()).select_from(Incident).where(Incident.merged_into_id.is_not(None)))
        incident_tasks = s.scalar(select(func.count(Task.id)).where(Task.incident_id.is_not(None)))
        tiers = set(s.scalars(select(Incident.tier).distinct()))
        taken_by_workers = s.scalar(select(func.count()).select_from(IncidentEvent).where(
            IncidentEvent.action == "take", IncidentEvent.actor_label.like("grid_worker:%")))
        reopened_by_rating = s.scalar(select(func.count()).select_from(IncidentEvent).where(
            IncidentEvent.action == "rate", IncidentEvent.to_status == "reopened"))
    total = sum(status.values())
    handled = total - status["merged"]
    done = status["closed"] + status["followed_up"]
    still_open = sum(status[x] for x in loop.OPEN)
    assert total == demo_load_counts["incidents"] > 1000
    assert done > 0.85 * handled
    # a rating ends the loop, or (1 or 2) reopens it to be done again and called again
    assert status["followed_up"] > 0.5 * done and reopened_by_rating >= 10
    assert 0 <= rated - status["followed_up"] <= reopened_by_rating  # rated, not ended: reopened, being redone
    assert rated <= actions["rate"] <= rated + reopened_by_rating
    assert 0 < still_open < 0.1 * handled
    assert actions["escalate"] >= 20 and actions["return"] >= 20 and actions["supervise"] >= 20
    assert actions["reject"] > 0 and actions["check_in"] > 0.9 * handled
    assert taken_by_workers > 0  # a patrol's finding, taken on the spot: one `take` event
    assert status["merged"] == merged_into_open_or_done == followers == demo_load_counts["merged"] >= 20
    assert {"grid", "grid_leader", "district"} <= tiers  # real routing: the grid team, an escalation, the departments
    assert incident_tasks >= handled  # the loop handed out the work as it does live
    # what the live state refused is skipped, not fatal — and rare
    assert demo_load_counts["steps skipped"] < 0.01 * demo_load_counts["steps played"]

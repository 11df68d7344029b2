"""Patrol visits (走访): registers become visit tasks for the right worker, visits are recorded, misses are told."""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from gridops.access.masking import mask_id_number
from gridops.cli import cli
from gridops.core.models import Household, Notification, PatrolRegister, Task
from gridops.field.patrols import schedule_visits
from gridops.field.sweep import sweep
from gridops.web.context import use_case_context
from tests.conftest import TEST_GRID


def _a_household_in_the_test_grid(city) -> str:
    """A household of the test grid with nobody registered yet."""
    with city.session() as s:
        codes = [c for c in s.scalars(select(Household.code).order_by(Household.code))]
        registered = set(s.scalars(select(PatrolRegister.household_id)))
        ids = dict(s.execute(select(Household.code, Household.id)).all())
    ctx = use_case_context(city.app)
    from gridops.core.models import Household as H
    from gridops.field.patrols import grid_of

    with city.session() as s:
        for code in codes:
            if ids[code] in registered:
                continue
            bid = s.scalar(select(H.building_id).where(H.code == code))
            if grid_of(s, ctx, bid) == TEST_GRID:
                return code
    raise AssertionError("no free household in the test grid")


def test_the_demo_city_registers_who_needs_visits_and_links_its_visits(city):
    with city.session() as s:
        kinds = dict(s.execute(select(PatrolRegister.kind, func.count(PatrolRegister.id)).group_by(PatrolRegister.kind)).all())
        assert kinds.get("elderly_alone", 0) > 100 and kinds.get("disabled", 0) > 0
        visits = s.scalar(select(func.count(Task.id)).where(Task.kind == "patrol"))
        linked = s.scalar(select(func.count(Task.id)).where(Task.kind == "patrol", Task.patrol_id.is_not(None)))
        assert visits > 0 and linked == visits
        reg = s.scalar(select(PatrolRegister).where(PatrolRegister.id_number.is_not(None)).limit(1))
        assert len(reg.id_number) == 18 and reg.phone.startswith("1")


def test_id_numbers_and_phones_are_shown_to_those_whose_work_needs_them(city):
    seen = {}
    for role in ("grid_worker", "grid_leader", "community_admin", "command_centre"):
        res = city.client.get(f"/api/v1/patrols?area={TEST_GRID}", headers=city.h(role))
        assert res.status_code == 200, res.json
        assert res.json["registers"], role
        seen[role] = res.json["registers"][0]
    with city.session() as s:
        reg = s.get(PatrolRegister, seen["grid_worker"]["id"])
    assert seen["command_centre"]["id_number"] == reg.id_number == seen["community_admin"]["id_number"]
    assert seen["grid_worker"]["id_number"] == mask_id_number(reg.id_number) != reg.id_number
    assert "*" in seen["grid_leader"]["id_number"] and reg.id_number[6:14] not in seen["grid_leader"]["id_number"]  # no birth date
    assert seen["grid_worker"]["phone"] == reg.phone  # the visitor calls ahead
    for role in ("resident", "planner", "fire"):
        assert city.client.get("/api/v1/patrols", headers=city.h(role)).status_code == 403
    stranger = city.client.get(f"/api/v1/patrols?area={TEST_GRID}", headers=city.h("stranger_worker")).json["registers"]
    assert stranger == []  # not their ground


def test_a_register_becomes_one_visit_task_for_the_grids_worker_and_only_one(city):
    household = _a_household_in_the_test_grid(city)
    res = city.client.post("/api/v1/patrols", json={"household": household, "kind": "left_behind_child", "person": "小明",
                                                   "phone": "13900001111", "id_number": "510199201501011234"},
                           headers=city.h("grid_leader"))
    assert res.status_code == 201, res.json
    reg = res.json
    assert reg["grid"] == TEST_GRID and reg["interval_days"] == 14 and reg["open_visit"] is None
    assert datetime.fromisoformat(reg["next_visit_from"]) == city.clock["t"]  # a child just registered is visited now, not in 14 days
    ctx = use_case_context(city.app)
    now = city.clock["t"]
    with city.session() as s:
        first = schedule_visits(s, ctx, now=now)
    with city.session() as s:
        mine = [s.get(Task, t) for t in first.created if s.get(Task, t).patrol_id == reg["id"]]
        assert len(mine) == 1
        task = mine[0]
        assert task.worker_id is not None and task.area_code == TEST_GRID and "留守儿童" in task.title
        assert task.due_at.astimezone(now.tzinfo).date() == (now + timedelta(days=2)).date()  # the third day's end
        again = schedule_visits(s, ctx, now=now + timedelta(days=1))
        assert reg["id"] not in {s.get(Task, t).patrol_id for t in again.created}


def test_a_worker_records_a_visit_and_the_next_one_counts_from_it(city):
    tasks = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json["tasks"]
    visit = next(t for t in tasks if t["kind"] == "patrol")
    assert visit["allowed"] == ["visit"] and visit["patrol"]["person"] and visit["patrol"]["kind_name"] == "独居老人"
    assert city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json={"note": " "}, headers=city.h("grid_worker")).status_code == 400
    assert city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json={"note": "好"}, headers=city.h("stranger_worker")).status_code == 404
    lon, lat = visit["location"]["lon"], visit["location"]["lat"]
    done = city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json={"note": "身体状况良好", "lon": lon, "lat": lat + 0.0001},
                            headers=city.h("grid_worker"))
    assert done.status_code == 200, done.json
    assert done.json["status"] == "done" and 5 < done.json["distance_m"] < 20 and "身体状况良好" in done.json["note"]
    assert city.client.post(f"/api/v1/tasks/{visit['id']}/visit", json={"note": "again"}, headers=city.h("grid_worker")).status_code == 409
    with city.session() as s:
        task = s.get(Task, visit["id"])
        reg = s.get(PatrolRegister, task.patrol_id)
        assert reg.last_visit_at == city.clock["t"]
        now = city.clock["t"]
        assert reg.id not in {s.get(Task, t).patrol_id for t in schedule_visits(s, use_case_context(city.app), now=now).created}
        due = schedule_visits(s, use_case_context(city.app), now=now + timedelta(days=reg.interval_days))
        assert reg.id in {s.get(Task, t).patrol_id for t in due.created}


def test_a_missed_visit_is_overdue_and_its_worker_is_told_once(city):
    tasks = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json["tasks"]
    visit = next(t for t in tasks if t["kind"] == "patrol")
    city.clock["t"] = city.clock["t"] + timedelta(days=10)
    late = next(t for t in city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json["tasks"] if t["id"] == visit["id"])
    assert late["overdue"]
    ctx = use_case_context(city.app)
    db = city.app.extensions["gridops.db"]
    first, second = sweep(db, ctx), sweep(db, ctx)
    assert visit["id"] in first.overdue_visits and visit["id"] not in second.overdue_visits
    with city.session() as s:
        told = s.scalars(select(Notification).where(Notification.kind == "visit_overdue")).all()
        mine = [n for n in told if n.data["task"] == visit["id"]]
        assert len(mine) == 1 and mine[0].message.startswith("【走访逾期】") and mine[0].data["register"] in mine[0].message


def test_registers_need_a_keeper_a_real_door_and_a_known_kind(city):
    household = _a_household_in_the_test_grid(city)
    body = {"household": household, "kind": "elderly_alone"}
    assert city.client.post("/api/v1/patrols", json=body, headers=city.h("grid_worker")).status_code == 403
    assert city.client.post("/api/v1/patrols", json=body, headers=city.h("resident")).status_code == 403
    bad = city.client.post("/api/v1/patrols", json={**body, "kind": "tourist"}, headers=city.h("grid_leader"))
    assert bad.status_code == 400 and bad.json["field"] == "kind"
    missing = city.client.post("/api/v1/patrols", json={**body, "household": "NO-SUCH-DOOR"}, headers=city.h("grid_leader"))
    assert missing.status_code == 404 and "NO-SUCH-DOOR" in missing.json["detail"]
    far = city.client.post("/api/v1/patrols", json=body, headers=city.h("community_admin"))
    assert far.status_code in (201, 403)  # the community admin answers for the test grid's community
    assert far.status_code == 201
    bad_id = city.client.post("/api/v1/patrols", json={**body, "id_number": "12345"}, headers=city.h("grid_leader"))
    assert bad_id.status_code == 400 and bad_id.json["field"] == "id_number"


def test_the_command_line_schedules_adds_and_lists(city, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])
    household = _a_household_in_the_test_grid(city)
    runner = CliRunner()
    added = runner.invoke(cli, ["patrols", "add", household, "--kind", "disabled", "--every", "1", "--person", "王大爷"])
    assert added.exit_code == 0, added.output
    assert f"grid {TEST_GRID}" in added.output and "every 1 days" in added.output
    scheduled = runner.invoke(cli, ["patrols", "schedule", "--horizon-days", "2"])
    assert scheduled.exit_code == 0 and scheduled.output.startswith("scheduled ")
    assert int(scheduled.output.split()[1]) >= 1
    assert runner.invoke(cli, ["patrols", "schedule", "--horizon-days", "2"]).output.startswith("scheduled 0 visits")
    listed = runner.invoke(cli, ["patrols", "list", "--area", TEST_GRID])
    assert listed.exit_code == 0 and "王大爷" in listed.output and listed.output.rstrip().endswith("registers")


def test_a_visit_is_proved_at_the_door_or_says_why_not_and_is_counted_apart(city):
    """1.2 km away, or with no position at all, a visit is not recorded — unless the worker says why it
    was made elsewhere; the measures then count it apart from the visits made at the door."""
    tasks = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json["tasks"]
    visit = next(t for t in tasks if t["kind"] == "patrol")
    lon, lat = visit["location"]["lon"], visit["location"]["lat"]
    url = f"/api/v1/tasks/{visit['id']}/visit"
    far = city.client.post(url, json={"note": "在家", "lon": lon + 0.0125, "lat": lat}, headers=city.h("grid_worker"))
    assert far.status_code == 422 and far.json["distance_m"] > 1000 and "away_reason" in far.json["detail"]
    blind = city.client.post(url, json={"note": "在家"}, headers=city.h("grid_worker"))
    assert blind.status_code == 400 and blind.json["field"] == "lon"
    before = city.client.get(f"/api/v1/stats?level=grid&area={visit['area'] if 'area' in visit else TEST_GRID}",
                             headers=city.h("command_centre")).json["totals"]
    done = city.client.post(url, json={"note": "老人住院，电话问候", "away_reason": "住院，电话回访"}, headers=city.h("grid_worker"))
    assert done.status_code == 200 and done.json["away_reason"] == "住院，电话回访" and done.json["distance_m"] is None
    after = city.client.get(f"/api/v1/stats?level=grid&area={visit['area'] if 'area' in visit else TEST_GRID}",
                            headers=city.h("command_centre")).json["totals"]
    assert after["visits"] == before["visits"] + 1 and after["visits_away"] == before["visits_away"] + 1


def test_a_position_off_the_globe_is_a_400_not_a_nan(city):
    """lat=1e16 made every task's distance NaN, which is no JSON; a visit or a check-in there measured nothing."""
    for query in ({"lon": 1e16, "lat": 30.6}, {"lon": 104.1, "lat": -91}):
        res = city.client.get("/api/v1/me/tasks", query_string=query, headers=city.h("grid_worker"))
        assert res.status_code == 400 and res.json["field"] in ("lon", "lat"), res.json
    res = city.client.post("/api/v1/tasks/1/visit", json={"note": "在家", "lon": 104.1, "lat": 1e300}, headers=city.h("grid_worker"))
    assert res.status_code == 400 and res.json["field"] == "lat"

"""Who a report goes to, and the reason stored with it (分格发令，部门执行)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridops.core.models import RosterDay, Worker
from tests.conftest import TEST_POINT

SH = ZoneInfo("Asia/Shanghai")


def report(city, category="dispute.neighbour", point=TEST_POINT):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": point[0], "lat": point[1]}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json


def off_shift(city, *roles):
    """Those workers are off today (a day with no window, as leave makes it)."""
    today = city.clock["t"].astimezone(SH).date()
    with city.session() as s:
        ids = s.scalars(select(Worker.id).where(Worker.code.in_([city.workers[r] for r in roles])))
        s.add_all([RosterDay(worker_id=i, day=today, kind="off", reason="leave") for i in ids])


def test_the_grid_worker_on_shift(city):
    body = report(city)
    assert body["assignee"]["code"] == city.workers["grid_worker"] and body["routing_reason"] == "grid worker on shift"
    assert body["tier"] == "grid" and body["department"] is None


def test_the_backup_when_the_grid_worker_is_off(city):
    city.clock["t"] = datetime(2026, 11, 29, 10, 0, tzinfo=SH)  # Sunday: this grid's worker works Saturdays
    body = report(city)
    assert body["assignee"]["code"] == city.workers["backup"] and body["routing_reason"] == "backup: primary off shift"


def test_the_grid_leader_when_both_are_off(city):
    off_shift(city, "grid_worker", "backup")
    body = report(city)
    assert body["assignee"]["code"] == city.workers["grid_leader"]
    assert body["routing_reason"] == "grid leader: grid workers off shift"


def test_the_nearest_worker_on_shift_in_the_community_along_the_streets(city):
    off_shift(city, "grid_worker", "backup", "grid_leader")
    body = report(city)
    assert body["routing_reason"].startswith("nearest on shift in the community: ")
    assert body["routing_reason"].endswith(" m along the streets")
    assert body["assignee"]["code"] not in city.workers.values()


def test_nobody_on_shift_keeps_it_with_the_grids_own_worker_and_says_so(city):
    city.clock["t"] = datetime(2026, 11, 23, 22, 30, tzinfo=SH)  # Monday night
    body = report(city)
    assert body["assignee"]["code"] == city.workers["grid_worker"]
    assert body["routing_reason"] == "nobody on shift: the grid's own worker"


def test_a_critical_request_with_nobody_on_shift_goes_to_the_command_centre_on_duty(city):
    city.clock["t"] = datetime(2026, 11, 23, 2, 30, tzinfo=SH)  # Monday, half past two at night
    body = report(city, "care.elderly")
    assert body["routing_reason"] == "critical and nobody on shift in the community: the command centre on duty"
    assert body["assignee"]["role"] == "supervisor" and body["tier"] == "district"
    assert body["due_at"].startswith("2026-11-22T20:30")  # two hours: 04:30 local


def test_a_public_holiday_is_worked_as_a_sunday(city):
    city.clock["t"] = datetime(2026, 10, 5, 10, 0, tzinfo=SH)  # a Monday in the National Day holiday
    body = report(city)
    assert body["assignee"]["code"] == city.workers["backup"]  # the Sunday rota


def test_a_departments_category_goes_to_its_staff_and_spreads_the_work(city):
    first = report(city, "hazard.fire_lane")
    second = report(city, "hazard.fire_lane", (TEST_POINT[0] + 0.01, TEST_POINT[1]))  # far enough not to be a duplicate
    assert first["department"] == second["department"] == "fire" and first["tier"] == "district"
    assert first["routing_reason"] == "department fire: staff on shift"
    assert first["assignee"]["code"] != second["assignee"]["code"]  # the least loaded takes the next


def test_among_equals_the_least_open_work(city):
    """Two workers answer for the grid and are on shift: reports alternate between them."""
    from gridops.core.models import Assignment, Layer

    with city.session() as s:
        primary = s.scalar(select(Worker).where(Worker.code == city.workers["grid_worker"]))
        second = s.scalar(select(Worker).where(Worker.code == city.workers["backup"]))
        grid = s.scalar(select(Assignment).where(Assignment.worker_id == primary.id, Assignment.duty == "primary"))
        layer_id = s.scalar(select(Layer.id).where(Layer.code == "grid"))
        s.add(Assignment(worker_id=second.id, layer_id=layer_id, area_code=grid.area_code, duty="primary", valid_from=grid.valid_from))
    from gridops.incidents.routing import open_work

    ids = {primary.code: primary.id, second.code: second.id}
    chosen = []
    # different categories at one spot: never duplicates of each other
    for category in ["dispute.neighbour", "order.noise", "dispute.property", "hazard.ebike_charging", "care.elderly"]:
        with city.session() as s:
            load = open_work(s, list(ids.values()))
        expected = min(ids, key=lambda code: (load[ids[code]], ids[code]))
        got = report(city, category)["assignee"]["code"]
        assert got == expected, (category, load)
        chosen.append(got)
    assert set(chosen) == set(ids)  # the work really was spread


def test_a_changed_shift_or_assignment_is_seen_by_the_very_next_report(city):
    """Routing's reference data is cached per process; database triggers tell it when to re-read."""
    assert report(city)["assignee"]["code"] == city.workers["grid_worker"]  # the cache is warm now
    off_shift(city, "grid_worker", "backup")
    assert report(city, category="dispute.property")["assignee"]["code"] == city.workers["grid_leader"]
    with city.session() as s:
        from gridops.core.models import Assignment

        primary = s.scalars(select(Assignment).where(Assignment.area_code == "510199001002005", Assignment.duty == "primary")).one()
        leader = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_leader"]))
        primary.worker_id = leader  # the planner hands the grid to its leader
    body = report(city, category="order.noise")
    assert body["assignee"]["code"] == city.workers["grid_leader"] and body["routing_reason"] == "grid worker on shift"

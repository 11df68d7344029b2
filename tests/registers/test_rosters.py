"""Rosters kept day by day, over the API on both backends: a worker's leave sends the grid's next report to the
backup, a swap gives each the other's day, someone with no rota is on duty in office hours, and a department's
own office hours set its working-time deadlines — each change read by the very next report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gridops.cli import cli
from gridops.core.errors import ConfigError
from gridops.core.models import Worker
from gridops.reference.calendar import BadOfficeHours, parse_windows
from tests.conftest import TEST_GRID, TEST_POINT, make_app

SH = ZoneInfo("Asia/Shanghai")
TODAY = "2026-11-23"  # the city fixture's Monday


def report(city, category):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                           headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json


def test_leave_sends_the_grids_reports_to_the_backup_until_it_is_cleared(city, english):
    keeper, worker = city.h("community_admin"), city.workers["grid_worker"]
    assert report(city, "dispute.neighbour")["assignee"]["code"] == worker
    res = city.client.post(f"/api/v1/people/{worker}/leave", json={"first": TODAY, "last": "2026-11-25", "note": "病假"},
                           headers=keeper)
    assert res.status_code == 200, res.json
    assert res.json["days"] == 3 and res.json["open_tasks"] >= 1  # their open work stays theirs, and the answer says so
    during = report(city, "order.noise")
    assert during["assignee"]["code"] == city.workers["backup"], during
    assert "backup" in during["routing_reason"]
    days = city.client.get(f"/api/v1/people/{worker}/days?since={TODAY}", headers=keeper).json["days"]
    assert [(d["day"], d["reason"], d["windows"]) for d in days] == [
        ("2026-11-23", "leave", []), ("2026-11-24", "leave", []), ("2026-11-25", "leave", [])]
    assert city.client.delete(f"/api/v1/people/{worker}/days/{TODAY}", headers=keeper).status_code == 204
    assert report(city, "hazard.ebike_charging")["assignee"]["code"] == worker  # back at work today
    bad = city.client.post(f"/api/v1/people/{worker}/leave", json={"first": "2026-11-25", "last": "2026-11-24"}, headers=keeper)
    assert bad.status_code == 400 and "ends" in bad.json["detail"]
    other = city.client.post(f"/api/v1/people/{worker}/leave", json={"first": TODAY, "last": TODAY}, headers=city.h("stranger_worker"))
    assert other.status_code == 403
    trail = city.client.get(f"/api/v1/audit?kind=roster&key={worker}", headers=keeper).json["changes"]
    assert [c["action"] for c in trail][:2] == ["clear_day", "leave"] and trail[1]["note"] == "病假"


def test_a_swap_gives_each_worker_the_others_day(city, english):
    keeper, worker, backup = city.h("community_admin"), city.workers["grid_worker"], city.workers["backup"]
    off = city.client.put(f"/api/v1/people/{backup}/days/{TODAY}", json={"shifts": [], "reason": "change"}, headers=keeper)
    assert off.status_code == 200 and off.json["windows"] == []
    mine = city.client.get(f"/api/v1/people/{worker}/shifts", headers=keeper).json["shifts"]
    monday = [{"start": w["start"], "end": w["end"]} for w in mine if w["weekday"] == 0]
    assert monday, "the demo's grid worker works Mondays"
    res = city.client.post("/api/v1/rosters/swap", json={"day": TODAY, "a": worker, "with": backup, "note": "家中有事"},
                           headers=keeper)
    assert res.status_code == 200, res.json
    assert [(d["swap_with"], d["windows"]) for d in res.json["days"]] == [(backup, []), (worker, monday)]
    routed = report(city, "dispute.neighbour")
    assert routed["assignee"]["code"] == backup and routed["routing_reason"].startswith("grid worker") is False, routed
    same = city.client.post("/api/v1/rosters/swap", json={"day": TODAY, "a": worker, "with": worker}, headers=keeper)
    assert same.status_code == 400
    overlap = city.client.put(f"/api/v1/people/{worker}/days/2026-11-24",
                              json={"shifts": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]}, headers=keeper)
    assert overlap.status_code == 400 and "overlap" in overlap.json["detail"]


def test_someone_with_no_rota_is_on_duty_in_office_hours(city):
    admin = city.h("admin")
    added = city.client.post("/api/v1/people", json={"code": "W9300", "name": "周静", "role": "grid_worker"}, headers=admin)
    assert added.status_code == 201
    with city.session() as s:
        wid = s.scalar(select(Worker.id).where(Worker.code == "W9300"))
        ref = city.app.extensions["gridops.references"].current(s)
    assert ref.on_shift([wid], datetime(2026, 11, 23, 10, 0, tzinfo=SH), "Asia/Shanghai") == {wid}  # Monday morning
    assert ref.on_shift([wid], datetime(2026, 11, 23, 12, 30, tzinfo=SH), "Asia/Shanghai") == set()  # lunch
    assert ref.on_shift([wid], datetime(2026, 11, 28, 10, 0, tzinfo=SH), "Asia/Shanghai") == set()  # Saturday


def test_a_departments_own_office_hours_set_its_working_time_deadlines(city):
    admin = city.h("admin")
    res = city.client.patch("/api/v1/categories/livelihood.repair",
                            json={"accept_limit_minutes": 30, "time_limit_minutes": 60, "working_time": True, "dedupe_window_hours": 0.5},
                            headers=admin)
    assert res.status_code == 200, res.json
    dept = res.json["department_code"]
    city_hours = report(city, "livelihood.repair")
    assert datetime.fromisoformat(city_hours["due_at"]).astimezone(SH) == datetime(2026, 11, 23, 11, 0, tzinfo=SH)
    res = city.client.patch(f"/api/v1/departments/{dept}", json={"office_hours": "14:00－18:00", "note": "下午办公"}, headers=admin)
    assert res.status_code == 200 and res.json["office_hours"] == "14:00-18:00", res.json
    city.clock["t"] = datetime(2026, 11, 23, 11, 0, tzinfo=SH)  # an hour on: not a duplicate of the first
    own = report(city, "livelihood.repair")
    assert datetime.fromisoformat(own["due_at"]).astimezone(SH) == datetime(2026, 11, 23, 15, 0, tzinfo=SH)
    listed = city.client.get("/api/v1/departments", headers=city.h("command_centre")).json
    assert listed["city_office_hours"] == "08:30-12:00,13:30-17:30"
    assert {d["code"]: d["office_hours"] for d in listed["departments"]}[dept] == "14:00-18:00"
    bad = city.client.patch(f"/api/v1/departments/{dept}", json={"office_hours": "18:00-14:00"}, headers=admin)
    assert bad.status_code == 400 and "ends before it starts" in bad.json["detail"]
    assert city.client.patch(f"/api/v1/departments/{dept}", json={"office_hours": "09:00-17:00"},
                             headers=city.h("community_admin")).status_code == 403
    first = city.client.get(f"/api/v1/incidents/{own['id']}", headers=admin).json
    assert first["due_at"] == own["due_at"] and city_hours["due_at"] != own["due_at"]


def test_office_hours_are_windows_of_one_day_and_a_bad_setting_stops_the_start(tmp_path, empty_url):
    assert parse_windows("08:30-12:00，13:30–17:30") == parse_windows("08:30-12:00,13:30-17:30")
    for bad in ("", "8-12", "12:00-08:00", "08:00-12:00,11:00-14:00", "morning"):
        with pytest.raises(BadOfficeHours):
            parse_windows(bad)
    with pytest.raises(ConfigError, match="GRIDOPS_OFFICE_HOURS"):
        make_app(empty_url, tmp_path, OFFICE_HOURS="17:00-09:00")


def test_rosters_from_the_command_line(writable_demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", writable_demo_url)
    monkeypatch.setenv("GRIDOPS_INSTANCE_PATH", str(tmp_path / "instance"))
    run = CliRunner()
    found = run.invoke(cli, ["workers", "list", "--area", TEST_GRID])
    code = found.output.split("\t")[0]
    leave = run.invoke(cli, ["rosters", "leave", code, "2027-01-04", "2027-01-05", "--note", "年假"])
    assert leave.exit_code == 0 and f"{code} on leave 2027-01-04 to 2027-01-05 (2 day(s))" in leave.output, leave.output
    day = run.invoke(cli, ["rosters", "day", code, "2027-01-06", "09:00-12:00"])
    assert day.exit_code == 0 and "09:00-12:00" in day.output, day.output
    shown = run.invoke(cli, ["rosters", "show", code, "--days", "400"])
    assert "2027-01-04" in shown.output and "leave" in shown.output and "3 day(s) changed" in shown.output, shown.output
    hours = run.invoke(cli, ["departments", "hours", "fire", "00:00-23:59"])
    assert hours.exit_code == 0 and "fire: office hours 00:00-23:59" in hours.output, hours.output
    back = run.invoke(cli, ["departments", "hours", "fire"])
    assert "the city's (08:30-12:00,13:30-17:30)" in back.output, back.output
    wrong = run.invoke(cli, ["rosters", "day", code, "2027-01-07", "9-12"])
    assert wrong.exit_code != 0

"""The measures (/api/v1/stats, /dashboard) on a day of incidents whose outcome the test decides."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import TEST_GRID, TEST_POINT

NEAR = {"lon": round(TEST_POINT[0] + 0.0001, 7), "lat": TEST_POINT[1]}


def _report(city, category="dispute.neighbour"):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                           headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json["id"]


def _steps(city, iid, *steps):
    for who, action, body in steps:
        res = city.client.post(f"/api/v1/incidents/{iid}/{action}", json=body, headers=city.h(who))
        assert res.status_code == 200, (action, res.json)


def _close(city, iid, rating=None, rework=False):
    _steps(city, iid, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR), ("grid_worker", "resolve", {"note": "好了"}))
    if rework:
        _steps(city, iid, ("grid_leader", "return", {"note": "没修好"}), ("grid_worker", "check_in", NEAR),
               ("grid_worker", "resolve", {"note": "这次好了"}))
    _steps(city, iid, ("grid_leader", "verify", {}), ("grid_leader", "close", {}))
    if rating:
        _steps(city, iid, ("resident", "rate", {"rating": rating, "note": "ok"}))


@pytest.fixture
def day(city):
    """Monday 23 November: five reports in the test grid, each with a known end, closed over the next days."""
    from gridops.core.models import Category

    with city.session() as s:  # five neighbours' disputes at one door: not duplicates, for this test
        s.get(Category, "dispute.neighbour").dedupe_radius_m = None
    start = city.clock["t"]
    on_time = [_report(city) for _ in range(3)]
    late = _report(city)
    escalated = _report(city)
    city.clock["t"] = start + timedelta(hours=5)
    _close(city, on_time[0], rating=5)
    _close(city, on_time[1], rating=3, rework=True)  # 1 or 2 would reopen it (test_loop)
    _close(city, on_time[2], rating=4)
    _steps(city, escalated, ("grid_worker", "escalate", {"note": "物业不配合"}))
    city.clock["t"] = start + timedelta(days=4)  # the dispute's three days are gone
    _close(city, late)
    city.clock["t"] = start + timedelta(days=5)
    return {"since": "2026-11-23T00:00:00+08:00", "until": "2026-11-30T00:00:00+08:00", "escalated": escalated}


def _period(day: dict) -> dict:
    return {"since": day["since"], "until": day["until"]}


def test_the_measures_of_a_week_in_one_grid(city, day):
    res = city.client.get("/api/v1/stats", query_string={**_period(day), "level": "grid", "area": TEST_GRID},
                          headers=city.h("command_centre"))
    assert res.status_code == 200, res.json
    row = next(r for r in res.json["rows"] if r["code"] == TEST_GRID)
    assert row["reported"] == 5 and row["by_category"] == {"dispute.neighbour": 5}
    assert row["closed"] == 4 and row["closure_rate"] == 0.8
    assert row["due"] == 5 and row["closed_on_time"] == 3 and row["on_time_rate"] == 0.6
    assert row["in_grid_rate"] == 1.0  # the four closed never left the grid; the escalated one is still open
    overdue = city.client.get("/api/v1/incidents", query_string={"overdue": "true", "area": TEST_GRID},
                              headers=city.h("command_centre")).json
    assert row["overdue"] == overdue["total"] >= 1  # the escalated one, past its three days (and any older ones still open)
    assert day["escalated"] in {f["id"] for f in overdue["features"]}
    assert row["resolved"] == 4 and row["rework"] == 1 and row["rework_rate"] == 0.25
    assert row["rated"] == 3 and row["satisfaction"] == pytest.approx(0.6667, abs=1e-4)
    assert row["median_hours"] == pytest.approx(5.0, abs=0.01)  # three closed after 5 h, one after 96 h
    assert row["p90_hours"] == pytest.approx(5 + 0.7 * 91, abs=0.01)  # linear between the 3rd and 4th
    grids = res.json["ranking"]["grids"]
    assert grids[0]["code"] == TEST_GRID and grids[0]["rank"] == 1
    worker = next(w for w in res.json["ranking"]["workers"] if w["code"] == city.workers["grid_worker"])
    assert worker["closed"] == 4 and worker["closed_on_time"] == 3
    assert res.json["definitions"]["on_time_rate"].startswith("On-time closure rate:")  # the page says it in Chinese


def test_a_worker_is_measured_on_the_incidents_reported_while_they_answered_for_the_grid(city, day):
    """The office corrects its roster afterwards: W9101 took the grid over at Monday midnight, before the
    week's reports. Those incidents count for W9101, who answered for the grid when they were reported, not
    for the worker the stale roster sent them to and who closed them."""
    admin = city.h("admin")
    monday = "2026-11-23T00:00:00+08:00"
    assert city.client.post("/api/v1/people", json={"code": "W9101", "name": "接任者", "role": "grid_worker"},
                            headers=admin).status_code == 201
    res = city.client.post("/api/v1/people/W9101/assignments", json={"area": TEST_GRID, "duty": "primary", "valid_from": monday},
                           headers=admin)
    assert res.status_code == 201, res.json
    person = city.client.get(f"/api/v1/people/{city.workers['grid_worker']}", headers=admin).json
    mine = next(a for a in person["assignments"] if a["area"] == TEST_GRID and a["duty"] == "primary" and a["valid_to"] is None)
    ended = city.client.post(f"/api/v1/assignments/{mine['id']}/end", json={"valid_to": monday}, headers=admin)
    assert ended.status_code == 200, ended.json
    ranking = city.client.get("/api/v1/stats", query_string={**_period(day), "level": "grid", "area": TEST_GRID},
                              headers=city.h("command_centre")).json["ranking"]["workers"]
    codes = {w["code"]: w for w in ranking}
    assert codes["W9101"]["closed"] == 4 and codes["W9101"]["closed_on_time"] == 3
    assert city.workers["grid_worker"] not in codes


def test_levels_roll_up_and_exports_carry_the_same_figures(city, day):
    community = TEST_GRID[:12]
    up = city.client.get("/api/v1/stats", query_string={**_period(day), "level": "community", "area": community},
                         headers=city.h("command_centre")).json
    assert [r["code"] for r in up["rows"]] == [community] and up["rows"][0]["reported"] == 5
    grids = city.client.get("/api/v1/stats", query_string={**_period(day), "level": "grid", "area": community},
                            headers=city.h("command_centre")).json["rows"]
    for name in ("reported", "closed", "due", "closed_on_time", "overdue", "rework", "rated"):
        assert up["rows"][0][name] == sum(g[name] for g in grids), name  # the community is the sum of its grids
    assert up["totals"]["on_time_rate"] == round(sum(g["closed_on_time"] for g in grids) / sum(g["due"] for g in grids), 4)
    csv_res = city.client.get("/api/v1/stats", query_string={**_period(day), "area": TEST_GRID, "format": "csv"},
                              headers=city.h("command_centre"))
    assert csv_res.status_code == 200 and csv_res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(csv_res.get_data(as_text=True))))
    mine = next(r for r in rows if r["code"] == TEST_GRID)
    assert mine["on_time_rate"] == "0.6" and mine["category:dispute.neighbour"] == "5"
    geo = city.client.get("/api/v1/stats", query_string={**_period(day), "area": TEST_GRID, "format": "geojson"},
                          headers=city.h("command_centre"))
    feature = next(f for f in geo.json["features"] if f["id"] == TEST_GRID)
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon") and feature["properties"]["satisfaction"] == row_sat(mine)


def row_sat(row: dict) -> float:
    return float(row["satisfaction"])


def test_who_sees_the_measures(city, day):
    q = {**_period(day), "area": TEST_GRID}
    assert city.client.get("/api/v1/stats", query_string=q, headers=city.h("resident")).status_code == 403
    assert city.client.get("/api/v1/stats", query_string=q, headers=city.h("grid_leader")).status_code == 200
    other = city.client.get("/api/v1/stats", query_string={**_period(day), "area": "510199002"}, headers=city.h("grid_leader"))
    assert other.status_code == 403 and "area" in other.json["detail"]
    bad = city.client.get("/api/v1/stats", query_string={**_period(day), "level": "planet"}, headers=city.h("command_centre"))
    assert bad.status_code == 400 and bad.json["field"] == "level"


def test_the_dashboard_page_shows_the_table_rankings_and_definitions(city, day):
    client = city.app.test_client()
    client.post("/login", data={"token": city.tokens["command_centre"]})
    page = client.get(f"/dashboard?level=grid&area={TEST_GRID}&month=2026-11")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert TEST_GRID in text and "按期结案率" in text and "格内解决率" in text and "满意率" in text
    assert "format=csv" in text and "format=geojson" in text
    bad = client.get("/dashboard?month=november")
    assert bad.status_code == 400 and "month" in bad.get_data(as_text=True)

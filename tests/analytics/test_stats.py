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
    rows = list(csv.DictReader(io.StringIO(csv_res.get_data().decode("utf-8-sig"))))  # headed for people, in Chinese
    mine = next(r for r in rows if r["编码"] == TEST_GRID)
    assert mine["按期结案率"] == "0.6" and mine["邻里纠纷"] == "5"
    geo = city.client.get("/api/v1/stats", query_string={**_period(day), "area": TEST_GRID, "format": "geojson"},
                          headers=city.h("command_centre"))
    feature = next(f for f in geo.json["features"] if f["id"] == TEST_GRID)
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon") and feature["properties"]["satisfaction"] == row_sat(mine)


def row_sat(row: dict) -> float:
    return float(row["满意率"])


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


# --- what people act on: flags, trends, 主动发现率, the exports a clerk opens, the big screen's figures ---------------


def test_each_row_is_flagged_and_compared_with_the_previous_period(city, day):
    q = {**_period(day), "level": "grid", "area": TEST_GRID}
    now = city.client.get("/api/v1/stats", query_string=q, headers=city.h("command_centre")).json
    row = next(r for r in now["rows"] if r["code"] == TEST_GRID)
    assert row["flags"]["on_time_rate"] == "red"  # 60% < 75%
    assert row["flags"]["satisfaction"] == "red"  # 66.7% < 80%
    assert row["flags"]["in_grid_rate"] == "green"  # 100%
    assert row["flags"]["overdue"] in ("amber", "red")
    assert now["previous"] == {"since": "2026-11-15T16:00:00+00:00", "until": "2026-11-22T16:00:00+00:00"}  # the week before
    before = city.client.get("/api/v1/stats", query_string={**q, "since": "2026-11-16T00:00:00+08:00", "until": day["since"]},
                             headers=city.h("command_centre")).json
    was = next((r for r in before["rows"] if r["code"] == TEST_GRID), None)
    assert was is not None
    for m in ("reported", "closed", "overdue", "visits"):
        assert row["previous"][m] == was[m] and row["trend"][m] == row[m] - was[m], m
    # a calendar month is compared with the calendar month before it
    month = city.client.get("/api/v1/stats", query_string={"level": "street", "since": "2026-11-01T00:00:00+08:00",
                                                           "until": "2026-12-01T00:00:00+08:00"}, headers=city.h("command_centre")).json
    assert month["previous"] == {"since": "2026-09-30T16:00:00+00:00", "until": "2026-10-31T16:00:00+00:00"}
    assert month["thresholds"]["overdue"] == {"higher_is_better": False, "green": 0, "amber": 2}


def test_proactive_discovery_counts_what_the_grid_s_own_people_report(city, day):
    """主动发现率: a worker's patrol report and a worker's own report through the app count; a resident's does not."""
    with city.session() as s:
        from gridops.core.models import Category

        s.get(Category, "hazard.ebike_charging").dedupe_radius_m = None
    q = {"level": "grid", "area": TEST_GRID, "since": "2026-11-28T00:00:00+08:00", "until": "2026-11-29T00:00:00+08:00"}
    empty = next(r for r in city.client.get("/api/v1/stats", query_string=q, headers=city.h("command_centre")).json["rows"]
                  if r["code"] == TEST_GRID)
    assert empty["reported"] == 0 and empty["proactive"] == 0 and empty["proactive_rate"] is None
    for who, channel in (("grid_worker", "patrol"), ("grid_worker", "app"), ("resident", "app"), ("resident", "qr")):
        res = city.client.post("/api/v1/incidents", json={"category": "hazard.ebike_charging", "channel": channel,
                                                          "lon": TEST_POINT[0], "lat": TEST_POINT[1]}, headers=city.h(who))
        assert res.status_code == 201, res.json
    got = city.client.get("/api/v1/stats", query_string=q, headers=city.h("command_centre")).json
    row = next(r for r in got["rows"] if r["code"] == TEST_GRID)
    assert row["reported"] == 4 and row["proactive"] == 2 and row["proactive_rate"] == 0.5
    assert got["totals"]["proactive"] == 2 and row["flags"]["proactive_rate"] == "green"
    assert "patrol" in got["definitions"]["proactive_rate"]


def test_the_workbook_has_a_sheet_per_level_with_chinese_headers(city, day):
    from openpyxl import load_workbook

    res = city.client.get("/api/v1/stats", query_string={**_period(day), "format": "xlsx"}, headers=city.h("command_centre"))
    assert res.status_code == 200 and res.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert res.headers["Content-Disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(res.get_data()))
    assert book.sheetnames == ["区", "街道", "社区", "网格", "网格员", "职能部门及其他人员"]
    grid = book["网格"]
    header = [c.value for c in grid[1]]
    assert header[:2] == ["网格", "编码"] and "按期结案率" in header and "主动发现率" in header and "满意率" in header
    assert "邻里纠纷" in header and "dispute.neighbour" not in header  # categories by name
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in grid.iter_rows(min_row=2, values_only=True)}
    assert rows[TEST_GRID]["按期结案率"] == 0.6 and rows[TEST_GRID]["上报数"] == 5 and rows[TEST_GRID]["邻里纠纷"] == 5
    assert rows[TEST_GRID]["网格"] and rows[TEST_GRID]["网格"] != TEST_GRID  # the grid's name, its code beside it
    on_time = grid.cell(row=list(rows).index(TEST_GRID) + 2, column=header.index("按期结案率") + 1)
    assert on_time.number_format == "0.0%" and on_time.fill.fgColor.rgb.endswith("FFC7CE")  # red: 60%
    assert [c.value for c in book["社区"][1]][:2] == ["社区", "编码"]
    workers = [c.value for c in book["网格员"][1]]
    assert workers[:4] == ["排名", "人员", "工号", "角色"]
    assert city.workers["grid_worker"] in [r[2] for r in book["网格员"].iter_rows(min_row=2, values_only=True)]
    # an area's workbook starts at its own level; in English by choice
    mine = city.client.get("/api/v1/stats", query_string={**_period(day), "format": "xlsx", "area": TEST_GRID[:12], "lang": "en"},
                           headers=city.h("command_centre"))
    book = load_workbook(io.BytesIO(mine.get_data()))
    assert book.sheetnames == ["Community", "Grid", "Grid workers", "Department and other staff"]
    assert "On-time closure rate" in [c.value for c in book["Grid"][1]]


def test_the_csv_starts_with_a_bom_so_excel_reads_the_chinese(city, day):
    res = city.client.get("/api/v1/stats", query_string={**_period(day), "area": TEST_GRID[:12], "format": "csv"},
                          headers=city.h("command_centre"))
    assert res.status_code == 200 and res.mimetype == "text/csv" and res.headers["Content-Type"] == "text/csv; charset=utf-8"
    raw = res.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    mine = next(r for r in rows if r["编码"] == TEST_GRID)
    assert mine["按期结案率"] == "0.6" and mine["邻里纠纷"] == "5" and mine["网格"] != TEST_GRID


def test_an_unknown_area_code_says_so(city, day):
    for path in ("/api/v1/stats", "/api/v1/stats/live"):
        res = city.client.get(path, query_string={"area": "510199999"}, headers=city.h("command_centre"))
        assert res.status_code == 404 and res.mimetype == "application/problem+json", path
        assert res.json["type"] == "/problems/not-found" and res.json["area"] == "510199999"
        assert "没有编码为 510199999 的区域" in res.json["detail"]
    en = city.client.get("/api/v1/stats?lang=en&area=510199999", headers=city.h("command_centre"))
    assert en.status_code == 404 and en.json["detail"].startswith("No area has the code 510199999")
    client = city.app.test_client()
    client.post("/login", data={"token": city.tokens["command_centre"]})
    page = client.get("/dashboard?area=510199999")
    assert page.status_code == 404 and "没有编码为 510199999 的区域" in page.get_data(as_text=True)
    screen = client.get("/screen?area=510199999")
    assert screen.status_code == 404 and "没有编码为 510199999 的区域" in screen.get_data(as_text=True)


def test_the_big_screen_counts_what_is_open_and_today_s_flow(city, day):
    live = city.client.get("/api/v1/stats/live", headers=city.h("command_centre")).json
    open_now = city.client.get("/api/v1/incidents?limit=1", headers=city.h("command_centre")).json["total"]
    assert live["open"] == open_now > 0
    overdue = city.client.get("/api/v1/incidents?overdue=true&limit=1", headers=city.h("command_centre")).json["total"]
    assert live["overdue"] == overdue
    assert [f["step"] for f in live["flow"]] == ["reported", "accepted", "dispatched", "resolved", "verified", "closed"]
    before = live["today"]["reported"]
    iid = _report(city)
    _steps(city, iid, ("grid_worker", "take", {}))
    after = city.client.get("/api/v1/stats/live", headers=city.h("command_centre")).json
    assert after["today"]["reported"] == before + 1 and after["open"] == live["open"] + 1
    flow = {f["step"]: f["n"] for f in after["flow"]}
    assert flow["reported"] == {f["step"]: f["n"] for f in live["flow"]}["reported"] + 1 and flow["dispatched"] >= 1
    assert after["grids"][TEST_GRID]["open"] >= 1
    assert after["worst"] and after["best"] and not {g["code"] for g in after["worst"]} & {g["code"] for g in after["best"]}
    # a community admin's screen is their community's
    mine = city.client.get("/api/v1/stats/live", headers=city.h("community_admin")).json
    assert mine["area"] == TEST_GRID[:12] and set(mine["grids"]) <= {g for g in mine["grids"] if g.startswith(TEST_GRID[:12])}
    assert city.client.get("/api/v1/stats/live", headers=city.h("resident")).status_code == 403

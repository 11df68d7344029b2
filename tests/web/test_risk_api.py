"""Hidden risks as JSON, the same figures the risk page draws; the whole of today counted; patrols ordered from a
hot spot become visit tasks on the right workers' lists, and the spot is then followed for cooling."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.conftest import TEST_POINT

WINDOW = "category=hazard.ebike_charging&since=2026-09-20&until=2026-11-15"
H3_ID = re.compile(r"\b8[0-9a-f]{14}\b")


def _page_client(city, who="command_centre"):
    client = city.app.test_client()
    client.post("/login", data={"token": city.tokens[who]})
    return client


def _embedded(page: str, block: str) -> dict:
    found = re.search(rf'<script[^>]* id="{block}">(.*?)</script>', page, re.S)
    assert found, block
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_the_risk_api_gives_the_figures_the_page_draws_with_named_hot_spots(city):
    api = city.client.get(f"/api/v1/risk?{WINDOW}", headers=city.h("command_centre"))
    assert api.status_code == 200, api.json
    doc = api.json
    page = _page_client(city).get(f"/maps/risk?{WINDOW}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert _embedded(text, "gridops-risk") == doc  # one answer for both
    assert doc["method"]["fdr_corrected"] is True and doc["total"] > 0
    spots = doc["hot_spots"]
    assert spots and spots[0]["gi_bin"] == 3
    top = spots[0]
    assert top["name"] and "网格" in top["name"] and not re.search(r"\d{6}", top["name"]) and not H3_ID.search(top["name"])
    assert top["community_name"].endswith("社区")
    assert top["sentence"].startswith("这里近 8 周电动车违规充电") and "偏多" in top["sentence"]
    assert top["micro_grids"] and all("微网格" in m["name"] for m in top["micro_grids"])
    cell = next(c for c in doc["cells"] if c["cell"] == top["cells"][0])
    assert cell["gi_bin"] > 0 and cell["gi_label"].startswith("热点") and cell["grid_name"]
    assert {"cell", "gi_z", "gi_bin", "trend", "rate_per_1000_households"} <= set(cell)
    assert doc["query"]["since_day"] == "2026-09-20" and doc["query"]["until_day"] == "2026-11-15"
    # the page says it in Chinese: the summary, the form, the note on how to read it
    assert '<html lang="zh-CN">' in text and "怎么看这张图" in text and "电动车违规充电" in text and "Hot spots" not in text
    assert 'name="until" value="2026-11-15"' in text
    english = city.client.get(f"/api/v1/risk?{WINDOW}&lang=en", headers=city.h("command_centre")).json
    assert english["hot_spots"][0]["sentence"].startswith("Over the last 8 weeks, Illegal e-bike charging")
    assert "How to read this map" in _page_client(city).get(f"/maps/risk?{WINDOW}&lang=en").get_data(as_text=True)
    only = city.client.get(f"/api/v1/risk?{WINDOW}&view=spots&lang=zh", headers=city.h("command_centre")).json
    assert "cells" not in only and only["hot_spots"] == spots
    assert "/api/v1/risk" in city.client.get("/api/v1/openapi.json").json["paths"]
    bad = city.client.get("/api/v1/risk?res=12", headers=city.h("command_centre"))
    assert bad.status_code == 400 and bad.json["field"] == "res"


def test_the_pre_filled_form_keeps_the_whole_of_today(city):
    """Early morning in the city is still yesterday in UTC: the form's `until` (today, a day alone) must count
    every report of today, as the page's default does."""
    city.clock["t"] = datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # 2026-11-22 23:30 UTC
    for k in range(3):
        made = city.client.post("/api/v1/incidents", json={"category": "hazard.fire_lane", "lon": TEST_POINT[0] + k * 3e-3,
                                                           "lat": TEST_POINT[1], "description": f"消防通道被堵 {k}"},
                                headers=city.h("resident"))
        assert made.status_code == 201, made.json
    default = city.client.get("/api/v1/risk?category=hazard.fire_lane&view=grids", headers=city.h("command_centre")).json
    page = _page_client(city).get("/maps/risk?category=hazard.fire_lane").get_data(as_text=True)
    since = re.search(r'name="since" value="([^"]*)"', page).group(1)
    until = re.search(r'name="until" value="([^"]*)"', page).group(1)
    assert until == "2026-11-23"  # today, in the city's time
    submitted = city.client.get(f"/api/v1/risk?category=hazard.fire_lane&view=grids&since={since}&until={until}",
                                headers=city.h("command_centre")).json
    assert submitted["total"] == default["total"]
    today = city.client.get("/api/v1/risk?category=hazard.fire_lane&view=grids&since=2026-11-23&until=2026-11-23",
                            headers=city.h("command_centre")).json
    assert today["total"] == 3  # the whole of today, and nothing of yesterday
    assert sum(g["count"] for g in submitted["grids"]) == sum(g["count"] for g in default["grids"])


def test_ordering_patrols_from_a_hot_spot_gives_each_micro_grid_s_worker_a_visit_task(city):
    from gridops.access.users import add_user
    from gridops.core.models import Area, Assignment, Notification, PatrolOrder, Task, Worker

    doc = city.client.get(f"/api/v1/risk?{WINDOW}&view=spots", headers=city.h("command_centre")).json
    spot = doc["hot_spots"][0]
    body = {"category": "hazard.ebike_charging", "res": 10, "cells": spot["cells"]}
    assert city.client.post("/api/v1/risk/patrols", json=body, headers=city.h("grid_worker")).status_code == 403
    assert city.client.post("/api/v1/risk/patrols", json={**body, "cells": ["nonsense"]},
                            headers=city.h("command_centre")).status_code == 400
    done = city.client.post("/api/v1/risk/patrols", json=body, headers=city.h("command_centre"))
    assert done.status_code == 201, done.json
    order = done.json
    assert {t["micro_grid"] for t in order["tasks"]} | {u["code"] for u in order["unassigned"]} == {m["code"] for m in spot["micro_grids"]}
    assert order["tasks"] and order["checklist"][0].startswith("楼道")
    with city.session() as s:
        for t in order["tasks"]:  # each to the primary worker of the micro-grid's grid
            grid = s.scalar(select(Area.code).where(Area.id == select(Area.parent_id).where(Area.code == t["micro_grid"])
                                                    .limit(1).scalar_subquery()))
            primary = s.scalar(select(Assignment.worker_id).where(Assignment.area_code == grid, Assignment.duty == "primary",
                                                                  Assignment.valid_to.is_(None)))
            assert t["worker_id"] == primary and t["grid"] == grid
        assert s.get(PatrolOrder, order["order"]).actor_label.startswith("command_centre:")
        worker_id = order["tasks"][0]["worker_id"]
        told = s.scalars(select(Notification).where(Notification.kind == "patrol_order", Notification.worker_id == worker_id)).all()
        assert len(told) == 1 and "巡查" in told[0].message
        code = s.scalar(select(Worker.code).where(Worker.id == worker_id))
        _, token = add_user(s, "hot-spot-worker", "grid_worker", worker_code=code)
        mine = {t["id"] for t in order["tasks"] if t["worker_id"] == worker_id}
        assert {t.id for t in s.scalars(select(Task).where(Task.order_id == order["order"]))} == {t["id"] for t in order["tasks"]}
    listed = city.client.get("/api/v1/me/tasks", headers={"Authorization": f"Bearer {token}"}).json["tasks"]
    patrols = [t for t in listed if t["id"] in mine]
    assert len(patrols) == len(mine) and all(t["kind"] == "patrol" and t["checklist"] and "巡查" in t["title"] for t in patrols)
    assert all(t["allowed"] == ["visit"] and t["due_at"] for t in patrols)
    # the spot now says patrols began, and after two weeks whether it cooled
    again = city.client.get(f"/api/v1/risk?{WINDOW}&view=spots", headers=city.h("command_centre")).json["hot_spots"][0]
    assert again["patrols"]["state"] == "too_early" and again["patrols"]["orders"] == 1
    city.clock["t"] = city.clock["t"] + timedelta(days=14)
    later = city.client.get(f"/api/v1/risk?{WINDOW}&view=spots", headers=city.h("command_centre")).json["hot_spots"][0]
    assert later["patrols"]["state"] in ("cooled", "not_cooled") and later["patrols"]["before_per_week"] > 0
    assert later["patrols"]["summary"].startswith(("已降温", "尚未降温"))
    # a community admin orders only on their own ground
    other = next(c for c in ("510199001001", "510199001002", "510199002001") if not spot["micro_grids"][0]["code"].startswith(c))
    with city.session() as s:
        _, admin_token = add_user(s, "other-admin", "community_admin", areas=[other])
    refused = city.client.post("/api/v1/risk/patrols", json=body, headers={"Authorization": f"Bearer {admin_token}"})
    assert refused.status_code == 403

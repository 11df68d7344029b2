"""The dispatch console (/map) in headless Chromium, in Chinese, as the command centre: the queue beside the live map,
a new report announced within 2 s, and an incident taken through 核查 → 结案 → 回访 with the mouse alone."""

from __future__ import annotations

import io
import time

from sqlalchemy import select

from gridops.core.models import Building
from tests.conftest import TEST_POINT
from tests.incidents.test_loop import NEAR, new_incident, walk
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

pytestmark = ON_ONE_BACKEND


def _desk(b, base):
    context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
    return context, context.new_page()


def _sign_in(page, city, who: str = "command_centre"):
    page.goto("/map")
    page.fill("#token", city.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url("**/map*")
    page.wait_for_function("() => document.body.dataset.loaded === '1' && document.body.dataset.queued !== undefined")


def _photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_new_report_is_announced_in_the_queue_within_two_seconds(city, artifacts_dir):
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _desk(b, base)
        seen = watch(page, base)
        _sign_in(page, city)
        open_now = city.client.get("/api/v1/incidents?limit=50000", headers=city.h("command_centre")).json["total"]
        assert int(page.evaluate("document.body.dataset.incidents")) == open_now > 0
        assert page.locator("#queue-count").inner_text().startswith(f"共 {open_now} 条")
        assert page.locator("#new-count b").inner_text() == "0"
        assert page.evaluate("[window.gridopsLiveState.boundaries.grids.getLayers().length, "
                             "window.gridopsLiveState.boundaries.micro.getLayers().length]") == [64, 424]  # the demo city's
        # what the map shows at this zoom (clusters and single markers) adds up to every incident, once settled
        page.wait_for_function(f"""() => {{ let n = 0, clusters = 0;
            window.gridopsLiveState.cluster._featureGroup.eachLayer(l => {{
                if (l.getChildCount) {{ n += l.getChildCount(); clusters += 1; }} else {{ n += 1; }} }});
            return n === {open_now} && clusters > 0; }}""", timeout=5000)
        first = page.locator("#queue-list .q-row").first
        assert first.locator(".chip.status").inner_text() in {"已上报", "已受理", "已研判", "已派遣", "处置中", "已反馈",
                                                              "已退回", "已重开", "已核查", "已升级"}
        assert "hazard." not in page.locator("#queue-list").inner_text()  # names, not codes
        page.click(".queue-head h1")  # a person's first touch: the page may make sound from now on

        with city.session() as s:  # a door of the city: the report names its address
            address = s.scalar(select(Building.address).where(Building.address.is_not(None)).order_by(Building.id).limit(1))
        posted_at = time.monotonic()
        res = city.client.post("/api/v1/incidents", json={
            "category": "care.elderly", "address": address,
            "description": "<img src=x onerror=window.pwned=1>独居老人摔倒"}, headers=city.h("resident"))
        iid = res.json["id"]
        row = page.locator(f"#queue-list .q-row.is-new[data-id='{iid}']")
        row.wait_for(timeout=5000)
        page.wait_for_function("() => document.querySelector('#new-count b').textContent === '1'", timeout=5000)
        arrived = time.monotonic() - posted_at
        assert arrived < 2.0, arrived
        assert page.locator("#queue-list .q-row").first.get_attribute("data-id") == str(iid)  # the new one first
        assert page.evaluate("document.body.dataset.chimes") == "1"  # the chime played (sound on)
        said = row.inner_text()
        assert "新" in said and "老人" in said and address in said and "已上报" in said
        assert "<img src=x" in said and page.evaluate("window.pwned") is None  # shown as text
        assert page.locator("#announce").inner_text().startswith(f"新上报：{iid} 号")
        page.screenshot(path=str(artifacts_dir / "console-new-report.png"))

        # the search finds it by its address, and the grid filter keeps it
        page.fill("#queue-search", address)
        page.wait_for_function("() => document.body.dataset.queued === '1'")
        grid = city.client.get(f"/api/v1/incidents/{iid}", headers=city.h("command_centre")).json["grid"]
        assert grid["name"] in said  # the grid by its name
        page.select_option("select[name=grid]", grid["code"])
        assert page.locator("#queue-list .q-row").count() == 1
        page.fill("#queue-search", "")
        page.select_option("select[name=grid]", "")
        page.check("input[name=unassigned]")
        page.wait_for_function(f"() => document.body.dataset.queued !== '{open_now + 1}'")
        assert all(t == "未分派" for t in page.locator("#queue-list .q-row .who").all_inner_texts())
        page.uncheck("input[name=unassigned]")

        # muted, the next report is still counted and highlighted, silently; the choice is kept across a reload
        page.click("#sound-toggle")
        assert page.locator("#sound-toggle").inner_text().endswith("提示音已关")
        second = city.client.post("/api/v1/incidents", json={"category": "hazard.ebike_charging", "lon": TEST_POINT[0],
                                                             "lat": TEST_POINT[1], "description": "楼道里给电动车充电"},
                                  headers=city.h("resident")).json["id"]
        page.locator(f"#queue-list .q-row.is-new[data-id='{second}']").wait_for(timeout=5000)
        assert page.locator("#new-count b").inner_text() == "2" and page.evaluate("document.body.dataset.chimes") == "1"
        page.click("#new-count")  # opens the newest unseen: seen now
        page.locator(f"#incident-panel[data-id='{second}']").wait_for()
        assert page.locator("#new-count b").inner_text() == "1"
        page.reload()
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert page.locator("#sound-toggle").get_attribute("aria-pressed") == "false"
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


def test_the_command_centre_verifies_closes_and_records_a_follow_up_call_with_the_mouse(city, artifacts_dir):
    iid = new_incident(city, description="楼道堆放杂物，堵住消防通道")
    walk(city, iid, ("grid_worker", "take", {}), ("grid_worker", "check_in", NEAR))
    done = city.client.post(f"/api/v1/incidents/{iid}/resolve", content_type="multipart/form-data", headers=city.h("grid_worker"),
                            data={"note": "已清理杂物", "photo": [(io.BytesIO(_photo()), "fix.jpg")]})
    assert done.status_code == 200, done.json
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _desk(b, base)
        seen = watch(page, base)
        _sign_in(page, city)
        page.select_option("select[name=status]", "resolved")
        row = page.locator(f"#queue-list .q-row[data-id='{iid}']")
        row.click()
        panel = page.locator(f"#incident-panel[data-id='{iid}']")
        panel.wait_for()
        status = panel.locator("#panel-status")
        assert status.inner_text() == "已反馈"
        text = panel.inner_text()
        assert "楼道堆放杂物" in text and "13812345678" in text  # the reporter: the command centre calls back (the API masks it for others)
        assert "已清理杂物" in text and "处置反馈" in text  # the history, by names
        steps = panel.locator(".step-buttons button")
        offered = steps.all_inner_texts()
        assert {"核查", "退回重办", "督办", "备注"} <= set(offered) and "结案" not in offered  # what the API allows now
        panel.locator(".photo").first.click()  # the resolution's photo, enlarged
        page.locator("#lightbox img").wait_for()
        page.wait_for_function("() => document.querySelector('#lightbox img').naturalWidth === 640")
        page.click("#lightbox")
        assert page.locator("#lightbox").is_hidden()
        page.screenshot(path=str(artifacts_dir / "console-panel.png"))

        panel.get_by_role("button", name="核查", exact=True).click()
        panel.get_by_role("button", name="确认核查").click()
        page.wait_for_function("() => document.getElementById('panel-status').dataset.status === 'verified'", timeout=10000)
        assert status.inner_text() == "已核查" and "已完成：核查" in panel.inner_text()
        page.wait_for_function(f"() => !document.querySelector(\"#queue-list .q-row[data-id='{iid}']\")")  # the list shows 已反馈 only

        panel.get_by_role("button", name="结案", exact=True).click()
        panel.get_by_role("button", name="确认结案").click()
        page.wait_for_function("() => document.getElementById('panel-status').dataset.status === 'closed'", timeout=10000)
        assert status.inner_text() == "已结案"

        panel.get_by_role("button", name="回访", exact=True).click()
        form = panel.locator("form.step-form[data-step=follow_up]")
        form.get_by_role("button", name="确认回访").click()
        assert form.locator(".form-status").inner_text() == "请选择是否已接通居民电话。"  # asked, not sent
        form.get_by_role("button", name="已接通").click()
        form.get_by_role("button", name="4 星").click()
        page.screenshot(path=str(artifacts_dir / "console-follow-up.png"))
        form.get_by_role("button", name="确认回访").click()
        page.wait_for_function("() => document.getElementById('panel-status').dataset.status === 'followed_up'", timeout=10000)
        assert status.inner_text() == "已回访" and "★★★★☆" in panel.inner_text()
        assert "回访" not in panel.locator(".step-buttons").inner_text()  # the loop is over: no second call to record
        page.screenshot(path=str(artifacts_dir / "console-followed-up.png"))

        events = city.client.get(f"/api/v1/incidents/{iid}/history", headers=city.h("command_centre")).json["events"]
        assert [e["action"] for e in events[-3:]] == ["verify", "close", "follow_up"]
        assert events[-1]["data"] == {"reached": True, "rating": 4}
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors
        context.close()


def test_the_panel_follows_the_live_feed_and_markers_stay_clickable_over_the_micro_grids(city, artifacts_dir):
    iid = new_incident(city, description="小区门口积水")
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _desk(b, base)
        seen = watch(page, base)
        _sign_in(page, city)
        page.fill("#queue-search", str(iid))
        page.locator(f"#queue-list .q-row[data-id='{iid}']").click()
        panel = page.locator(f"#incident-panel[data-id='{iid}']")
        panel.wait_for()
        assert panel.locator("#panel-status").inner_text() == "已上报"
        # someone else takes it: the open panel says so without a click
        assert city.client.post(f"/api/v1/incidents/{iid}/take", json={}, headers=city.h("grid_worker")).status_code == 200
        page.wait_for_function("() => document.getElementById('panel-status').dataset.status === 'dispatched'", timeout=10000)
        assert city.workers["grid_worker"] not in panel.inner_text()  # a worker by name, not their code

        # the micro-grid layer on, the incident's marker still takes the click (its own pane, above the boundaries)
        page.locator(".leaflet-control-layers").hover()
        page.locator(".leaflet-control-layers-overlays label", has_text="微网格").locator("input").check()
        page.click(".panel-close")
        assert page.locator("#incident-panel").is_hidden()
        page.wait_for_function(f"() => window.gridopsLiveState.markers.get({iid})._path !== undefined", timeout=10000)
        page.mouse.move(10, 10)
        box = page.evaluate(f"""() => {{ const r = window.gridopsLiveState.markers.get({iid})._path.getBoundingClientRect();
            return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }}""")
        assert page.evaluate(f"() => document.elementFromPoint({box['x']}, {box['y']}).closest('.leaflet-incidents-pane') !== null")
        page.mouse.click(box["x"], box["y"])
        panel.wait_for()

        page.goto("/map?lang=en")  # English by choice: the same console in the other catalogue
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert page.locator(".queue-head h1").inner_text() == "Dispatch console"
        assert page.locator("#queue-list .q-row .chip.status").first.inner_text() in {"reported", "accepted", "assessed",
                                                                                      "dispatched", "in progress", "resolved",
                                                                                      "returned for rework", "reopened",
                                                                                      "verified", "escalated"}
        page.screenshot(path=str(artifacts_dir / "console-en.png"))
        assert seen.errors == [], seen.errors
        context.close()

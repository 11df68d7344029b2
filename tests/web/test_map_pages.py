"""The command centre's pages in headless Chromium: the risk map, the dashboard (the live map, the dispatch console:
tests/web/test_dispatch_console.py)."""

from __future__ import annotations

from tests.web.browser import browser, live_server, watch


def _desk(p, b, base):
    context = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
    return context, context.new_page()


def _sign_in(page, city, path: str, who: str = "command_centre"):
    page.goto(path)
    page.fill("#token", city.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url("**" + path.split("?")[0] + "*")


def test_the_risk_map_in_chinese_names_a_hot_spot_and_orders_patrols_a_worker_then_sees(city, artifacts_dir, backend):
    from sqlalchemy import select

    from gridops.access.users import add_user
    from gridops.core.models import Task, Worker

    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                base_url=base)
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "/maps/risk?since=2026-09-20&until=2026-11-15&category=hazard.ebike_charging")
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert int(page.inner_text("#risk-total").replace(",", "")) > 0
        legend = page.locator("#risk-legend")
        assert legend.get_attribute("data-layer") == "gi" and "冷热点" in legend.inner_text()  # one scale, its legend
        spot = page.locator("#hot-spots li").first
        said = spot.inner_text()
        assert "网格" in said and "社区" in said and "这里近 8 周电动车违规充电" in said and "尚未派发巡查" in said
        assert "8a" not in said.split("\n")[0]  # named, not an H3 id
        chrome = page.locator(".map-chrome")
        assert chrome.locator(".gridops-bell").is_visible() and "中文" in chrome.inner_text()  # bell and switch on the map
        title_zh = page.inner_text("#risk-summary h1")
        page.screenshot(path=str(artifacts_dir / f"risk-map-{backend.name}.png"))
        page.get_by_text("网格千户发生率").click()  # another scale: its legend follows
        assert legend.get_attribute("data-layer") == "rate" and "每千户事件数" in legend.inner_text()
        page.get_by_text("近期事件热力").click()
        assert page.locator("canvas.leaflet-heatmap-layer").count() == 1 and "近期事件" in legend.inner_text()
        page.fill("#week-slider", "2")
        page.dispatch_event("#week-slider", "input")
        assert page.evaluate("document.body.dataset.week") == "2" and legend.get_attribute("data-layer") == "count"
        page.get_by_text("冷热点（Gi*）").click()
        spot.get_by_role("button", name="在地图上查看").click()
        popup = page.locator(".spot-popup")
        popup.get_by_role("button", name="派发巡查").click()
        popup.locator(".order-result.ok").wait_for()
        assert "已派发巡查" in popup.inner_text()
        page.screenshot(path=str(artifacts_dir / f"risk-map-ordered-{backend.name}.png"))
        ordered = int(page.evaluate("document.body.dataset.ordered"))
        assert ordered > 0
        page.reload()
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert page.locator("#hot-spots li .cooling").first.get_attribute("data-state") == "too_early"
        assert seen.outside() == [], seen.outside()
        assert seen.errors == [], seen.errors

        with city.session() as s:
            tasks = s.scalars(select(Task).where(Task.order_id.is_not(None))).all()
            assert len(tasks) == ordered
            code = s.scalar(select(Worker.code).where(Worker.id == tasks[0].worker_id))
            _, token = add_user(s, "patrolling-worker", "grid_worker", worker_code=code)
            titles = {t.title for t in tasks if t.worker_id == tasks[0].worker_id}
        listed = city.client.get("/api/v1/me/tasks", headers={"Authorization": f"Bearer {token}"}).json["tasks"]
        assert titles <= {t["title"] for t in listed}
        worker_context = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                       base_url=base)
        phone = worker_context.new_page()
        phone_seen = watch(phone, base)
        phone.goto("/worker")
        phone.fill("#token", token)
        phone.click("button[type=submit]")
        phone.wait_for_url("**/worker*")
        checklist = phone.locator(".task[data-kind=patrol] .checklist").first
        checklist.wait_for()
        checklist.scroll_into_view_if_needed()
        assert next(iter(titles)) in phone.inner_text("main")
        phone.screenshot(path=str(artifacts_dir / f"risk-patrol-worker-{backend.name}.png"))
        assert phone_seen.errors == [], phone_seen.errors
        worker_context.close()
        page.goto(base + "/maps/risk?since=2026-09-20&until=2026-11-15&category=hazard.ebike_charging")
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        page.locator(".map-chrome").get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en**")
        page.wait_for_function("() => document.body && document.body.dataset.loaded === '1'")
        search = page.evaluate("location.search")
        assert "category=hazard.ebike_charging" in search and "since=2026-09-20" in search  # the filters are kept
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.inner_text("#risk-summary h1") != title_zh
        bad = page.goto(base + "/maps/risk?res=99&lang=zh")
        assert bad is not None and bad.status == 400 and "res" in page.inner_text("[role=alert]")
        context.close()


def test_map_pages_need_a_role_that_watches_the_ground(city):
    client = city.app.test_client()
    assert client.get("/map").status_code == 302  # to sign in
    client.post("/login", data={"token": city.tokens["resident"]})
    assert client.get("/map").status_code == 403
    assert client.get("/maps/risk").status_code == 403


def test_the_dashboard_in_a_browser_asks_nothing_outside(city, artifacts_dir, backend):
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _desk(p, b, base)
        seen = watch(page, base)
        _sign_in(page, city, "/dashboard?level=grid&month=2026-10")
        page.locator("#measures tbody tr").first.wait_for()
        assert page.locator("#measures tbody tr").count() == 64 and page.locator("#grid-ranking tbody tr").count() > 0
        page.screenshot(path=str(artifacts_dir / f"dashboard-{backend.name}.png"), full_page=True)
        assert seen.outside() == [] and seen.errors == [], (seen.outside(), seen.errors)
        context.close()


def test_render_maps_writes_standalone_files_that_open_with_no_server(city, tmp_path, monkeypatch):
    import re

    from click.testing import CliRunner

    from gridops.cli import cli

    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])
    done = CliRunner().invoke(cli, ["render-maps", "--out", str(tmp_path), "--since", "2026-09-20", "--until", "2026-11-16"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[-1].startswith("rendered 9 maps into")  # all, seven category groups, the live snapshot
    files = sorted(tmp_path.glob("*.html"))
    assert {f.name for f in files} >= {"risk-all.html", "risk-hazard.html", "live.html"}
    for f in files:
        html = f.read_text(encoding="utf-8")
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html), f.name  # nothing fetched from anywhere
        assert '<script src="/static' not in html  # nor from a server
    with browser() as (p, b):
        page = b.new_page()
        seen = watch(page, "file://")
        page.goto(files[0].as_uri())
        page.goto((tmp_path / "live.html").as_uri())
        page.wait_for_function("() => document.body.dataset.loaded === '1'")
        assert int(page.evaluate("document.body.dataset.incidents")) > 0
        assert seen.outside() == [] and seen.errors == [], (seen.outside(), seen.errors)


def test_a_configured_tile_server_is_the_only_one_the_maps_name(writable_demo_url, tmp_path):
    from gridops.access.users import add_user
    from gridops.web.app import create_app

    app = create_app({"DATABASE_URL": writable_demo_url, "INSTANCE_PATH": str(tmp_path), "TILE_URL": "http://tiles.intranet/{z}/{x}/{y}.png"})
    try:
        with app.extensions["gridops.db"].session() as s:
            _, token = add_user(s, "tiles-viewer", "command_centre")
        client = app.test_client()
        client.post("/login", data={"token": token})
        for path in ("/map", "/maps/risk?since=2026-10-01&until=2026-11-16"):
            html = client.get(path).get_data(as_text=True)
            assert "http://tiles.intranet/{z}/{x}/{y}.png" in html
            assert "openstreetmap" not in html.lower() and "cdn." not in html
    finally:
        app.extensions["gridops.db"].dispose()

"""The worker's phone page (/worker) in headless Chromium, on an emulated phone with a GPS position."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import unquote

from PIL import Image
from sqlalchemy import select

from gridops.geo.chinacrs import wgs84_to_bd09, wgs84_to_gcj02

from gridops.core.models import Attachment, Incident, Task
from gridops.field.tasks import nearest_building
from tests.conftest import TEST_POINT
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
NEAR = {"longitude": TEST_POINT[0] + 0.0001, "latitude": TEST_POINT[1]}


def _report(city, category="dispute.neighbour", description="楼上漏水"):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                      "description": description}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json


def _phone(p, b, base):
    phone = {**p.devices["Pixel 5"], "viewport": {"width": 390, "height": 844}}  # a common phone's CSS size
    context = b.new_context(**phone, geolocation=NEAR, permissions=["geolocation"], locale="zh-CN",
                            timezone_id="Asia/Shanghai", base_url=base)
    page = context.new_page()
    return context, page


def _sign_in(page, city, who="grid_worker"):
    page.goto("/worker")
    assert "/login" in page.url  # not signed in: sent to sign in, and back afterwards
    page.fill("#token", city.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url("**/worker")


def _card(page, title_part: str):
    return page.locator("article.task", has_text=title_part)


def _wait_distance(page, title_part: str, low: float, high: float) -> None:
    """Until the card's distance ('· 957 m', '· 1.9 km') reads between low and high metres."""
    page.wait_for_function("""([part, low, high]) => {
        const card = [...document.querySelectorAll('article.task')].find((a) => a.textContent.includes(part));
        const m = card && /([\\d.]+) (k?m)/.exec(card.querySelector('.dist').textContent);
        const metres = m && Number(m[1]) * (m[2] === 'km' ? 1000 : 1);
        return m && metres >= low && metres <= high;
    }""", arg=[title_part, low, high])


def test_a_worker_takes_checks_in_and_resolves_with_a_photo_and_records_a_visit(city, artifacts_dir, backend):
    first = _report(city, description="楼上漏水 <script>window.pwned=1</script>")
    second = _report(city, "order.noise", "广场舞太吵")
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _phone(p, b, base)
        page.clock.set_fixed_time(city.clock["t"])  # the page reads due times on the service's clock
        seen = watch(page, base)
        _sign_in(page, city)
        card = _card(page, "楼上漏水")
        card.locator(".dist").wait_for()  # once the phone has a fix, the list is ordered and measured from it
        text = card.inner_text()
        assert re.search(r"还剩 \d+ 天", text) and re.search(r"· \d+ m", text), text  # due time and distance, in Chinese
        assert "<script>" in text and page.evaluate("window.pwned") is None  # shown as text, never run
        page.wait_for_function("() => document.querySelectorAll('#map path.leaflet-interactive').length >= 2")  # task and worker
        assert page.locator("#visits article.task").count() >= 1  # the patrol visits due (and overdue) today
        page.screenshot(path=str(artifacts_dir / f"worker-list-{backend.name}.png"))

        card.locator("button[data-step=take]").click()
        page.wait_for_selector("#status.ok")
        card.locator("button[data-step=check_in]").wait_for()
        context.set_geolocation({"longitude": TEST_POINT[0] + 0.01, "latitude": TEST_POINT[1]})  # ~1 km away
        _wait_distance(page, "楼上漏水", 900, 1000)  # the card's distance follows the phone
        card.locator("button[data-step=check_in]").click()
        page.wait_for_selector("#status.error")
        assert re.search(r"离现场 \d[\d,]* m", page.inner_text("#status")), page.inner_text("#status")  # how far, and what to do
        context.set_geolocation(NEAR)
        _wait_distance(page, "楼上漏水", 0, 30)
        card.locator("button[data-step=check_in]").click()
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已到场签到')")
        card.locator("button[data-step=resolve]").click()
        page.fill("#step-note", "已联系楼上住户修好水管")
        page.set_input_files("#step-photo", files=[{"name": "fixed.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
        page.click("#step-ok")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已反馈，等待网格长核查')")

        _card(page, "广场舞太吵").locator("button[data-step=reject]").click()
        page.fill("#step-note", "今天请假")
        page.click("#step-ok")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已退回重新派单')")
        _card(page, "广场舞太吵").wait_for(state="detached")  # went to someone else

        visit = page.locator("#visits article.task").first
        visit_id = int(visit.get_attribute("data-id"))
        visit.locator("button[data-step=visit]").click()
        page.fill("#step-note", "身体状况良好")
        page.click("#step-ok")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('走访已记录：')")
        page.screenshot(path=str(artifacts_dir / f"worker-after-{backend.name}.png"), full_page=True)
        assert seen.outside() == [], seen.outside()
        # the one refused check-in is the browser's only complaint (the page showed it to the worker)
        refused = "console error: Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
        assert seen.errors == [refused], seen.errors
        context.close()

    with city.session() as s:
        done = s.get(Incident, first["id"])
        assert done.status == "resolved"
        photo = s.scalar(select(Attachment).where(Attachment.incident_id == first["id"]))
        assert photo is not None and photo.content_type == "image/jpeg"
        assert s.get(Incident, second["id"]).assignee_id != s.get(Incident, first["id"]).assignee_id
        assert s.get(Task, visit_id).status == "done"


def test_the_page_needs_a_valid_token_and_a_worker(city):
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _phone(p, b, base)
        page.goto("/login")
        page.fill("#token", "gro_not-a-token")
        page.click("button[type=submit]")
        assert "not valid" in page.inner_text("[role=alert]")
        page.fill("#token", city.tokens["planner"])
        page.click("button[type=submit]")
        page.wait_for_url("**/plan")  # a planner starts on the plans, not on a phone's tasks
        page.goto("/worker")
        refusal = page.inner_text("[role=alert]")
        assert "规划" in refusal and "网格员" in refusal, refusal  # whose page it is, by the roles' names
        context.close()


def test_a_page_session_cannot_change_anything_without_the_pages_header(city):
    """Another site could make a browser send the session cookie: a change needs the page's own header."""
    client = city.app.test_client()
    assert client.post("/login", data={"token": city.tokens["grid_worker"]}).status_code == 302
    iid = _report(city)["id"]
    assert client.get("/api/v1/me/tasks").status_code == 200  # reading with the session is fine
    refused = client.post(f"/api/v1/incidents/{iid}/take", json={})
    assert refused.status_code == 403 and "X-Requested-With" in refused.json["detail"]
    assert client.post(f"/api/v1/incidents/{iid}/take", json={}, headers={"X-Requested-With": "gridops"}).status_code == 200
    assert client.post("/login?next=//evil.example/", data={"token": city.tokens["grid_worker"]}).headers["Location"] == "/worker"


def test_the_list_carries_the_map_apps_points_the_number_to_dial_and_the_building_the_worker_is_at(city):
    """What the page's 导航, tap-to-call and "you are at" read, from the API, on either backend."""
    res = city.client.post("/api/v1/incidents", json={
        "category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1], "description": "楼道堆放杂物",
        "reporter_contact": "138-0013-8000"}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    mine = city.client.get(f"/api/v1/me/tasks?lon={NEAR['longitude']}&lat={NEAR['latitude']}", headers=city.h("grid_worker")).json
    row = next(t for t in mine["tasks"] if t["incident_id"] == res.json["id"])
    g_lon, g_lat = wgs84_to_gcj02(*TEST_POINT)
    b_lon, b_lat = wgs84_to_bd09(*TEST_POINT)
    assert row["navigate"]["gcj02"] == {"lon": round(g_lon, 7), "lat": round(g_lat, 7)}
    assert row["navigate"]["bd09"] == {"lon": round(b_lon, 7), "lat": round(b_lat, 7)}
    assert set(row["navigate"]["links"]) == {"amap", "baidu", "tencent"}
    assert row["incident"]["contact"] == "138-0013-8000" and row["incident"]["call"] == "13800138000"  # the assignee calls back
    here = mine["here"]
    assert here["name"] and here["address"] and 0 <= here["distance_m"] <= 150
    with city.session() as s:
        assert nearest_building(s, NEAR["longitude"], NEAR["latitude"]) == here
        assert nearest_building(s, 104.5, 31.2) is None  # far from every building: no name rather than a wrong one
    # asked from nowhere: no building, and Baidu's link shows the place instead of a route from an unknown start
    blind = city.client.get("/api/v1/me/tasks", headers=city.h("grid_worker")).json
    assert blind["here"] is None
    assert next(t for t in blind["tasks"] if t["incident_id"] == res.json["id"])["navigate"]["links"]["baidu"].startswith(
        "https://api.map.baidu.com/marker?")


def _image(kind: str, size: tuple[int, int], exif: Image.Exif | None = None) -> bytes:
    """A camera-sized picture with some detail in it (a flat colour would compress to nothing)."""
    img = Image.merge("RGB", [Image.effect_noise((size[0] // 16, size[1] // 16), 90).resize(size, Image.BILINEAR)
                              for _ in range(3)])
    out = io.BytesIO()
    img.save(out, kind, **({"exif": exif} if exif is not None else {}), **({"quality": 95} if kind == "JPEG" else {}))
    return out.getvalue()


@ON_ONE_BACKEND
def test_around_the_task_navigate_call_the_reporter_follow_the_distance_and_send_small_photos(city, artifacts_dir, backend):
    res = city.client.post("/api/v1/incidents", json={
        "category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1], "description": "楼道堆放杂物",
        "reporter_contact": "138 0013 8000"}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    iid = res.json["id"]
    with city.session() as s:
        place = nearest_building(s, NEAR["longitude"], NEAR["latitude"])
    assert place is not None
    big_png = _image("PNG", (3200, 2400))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: the pixels lie on their side
    exif[0x8769] = {0x9003: "2026:11:23 09:58:00"}  # DateTimeOriginal, in the Exif IFD
    camera = _image("JPEG", (4000, 3000), exif)
    assert len(big_png) > 1_000_000 and len(camera) > 1_000_000
    with live_server(city.app) as base, browser() as (p, b):
        context, page = _phone(p, b, base)
        page.clock.set_fixed_time(city.clock["t"])
        seen = watch(page, base)
        _sign_in(page, city)
        card = _card(page, "楼道堆放杂物")
        card.locator(".dist").wait_for()
        _wait_distance(page, "楼道堆放杂物", 0, 30)
        # where the worker is, as the street names it
        page.wait_for_function("name => document.getElementById('where').textContent.includes(name)", arg=place["name"])
        where = page.inner_text("#where")
        assert "你在" in where and not re.search(r"\d+\.\d{4,}", where), where  # a name, no degrees

        # 导航: each app gets the point in its own datum, converted by the server
        card.locator("details.navigate summary").click()
        card.locator("details.navigate a[data-app=tencent]").wait_for()
        links = {a.get_attribute("data-app"): unquote(a.get_attribute("href"))
                 for a in card.locator("details.navigate a").all()}
        assert [card.locator("details.navigate a").nth(i).inner_text() for i in range(3)] == ["高德地图", "百度地图", "腾讯地图"]
        g_lon, g_lat = wgs84_to_gcj02(*TEST_POINT)
        b_lon, b_lat = wgs84_to_bd09(*TEST_POINT)
        assert links["amap"].startswith("https://uri.amap.com/navigation?") and f"to={g_lon:.6f},{g_lat:.6f}," in links["amap"]
        assert "coordinate=gaode" in links["amap"]
        assert f"destination=latlng:{b_lat:.6f},{b_lon:.6f}|" in links["baidu"] and "coord_type=bd09ll" in links["baidu"]
        assert f"tocoord={g_lat:.6f},{g_lon:.6f}" in links["tencent"]
        assert abs(g_lon - TEST_POINT[0]) > 0.001  # really shifted: a raw WGS-84 point would be ~500 m off in the apps
        # the worker handles it: the reporter's number is whole, and a tap dials it
        call = card.locator("a.call")
        assert call.get_attribute("href") == "tel:13800138000" and "138 0013 8000" in call.inner_text()
        page.screenshot(path=str(artifacts_dir / f"worker-around-task-{backend.name}.png"))

        # walking away: the distance on the card follows, with no reload
        context.set_geolocation({"longitude": TEST_POINT[0] + 0.02, "latitude": TEST_POINT[1]})
        _wait_distance(page, "楼道堆放杂物", 1800, 2000)
        assert "1.9 km" in card.locator(".dist").inner_text()
        context.set_geolocation(NEAR)
        _wait_distance(page, "楼道堆放杂物", 0, 30)

        card.locator("button[data-step=take]").click()
        card.locator("button[data-step=check_in]").click()
        card.locator("button[data-step=resolve]").click()
        page.fill("#step-note", "已清理楼道杂物")
        page.set_input_files("#step-photo", files=[
            {"name": "scan.png", "mimeType": "image/png", "buffer": big_png},
            {"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": camera}])
        page.wait_for_function("() => document.querySelectorAll('#step-previews figure img').length === 2")
        captions = page.locator("#step-previews figcaption").all_inner_texts()
        assert captions[0].startswith("1600×1200 · ") and captions[1].startswith("1200×1600 · "), captions  # upright
        page.screenshot(path=str(artifacts_dir / f"worker-photo-preview-{backend.name}.png"))
        page.click("#step-ok")
        page.wait_for_function("() => document.getElementById('status').textContent.includes('已反馈，等待网格长核查')")
        assert seen.outside() == [], seen.outside()
        context.close()

    with city.session() as s:
        photos = s.scalars(select(Attachment).where(Attachment.incident_id == iid).order_by(Attachment.id)).all()
    assert len(photos) == 2
    stored = [Path(city.app.config["INSTANCE_PATH"]) / ph.path for ph in photos]
    for ph, path, sent in zip(photos, stored, (big_png, camera), strict=True):
        img = Image.open(path)
        assert ph.content_type == "image/jpeg" and img.format == "JPEG" and max(img.size) <= 1600, (ph.path, img.size)
        assert ph.size_bytes < len(sent) / 4, (ph.size_bytes, len(sent))  # a fraction of what went into the form
    kept = Image.open(stored[1]).getexif()
    assert kept.get(0x0112) == 1 and kept.get_ifd(0x8769).get(0x9003) == "2026:11:23 09:58:00"  # the evidence stays
    assert Image.open(stored[1]).size == (1200, 1600)

"""The worker's phone page (/worker) in headless Chromium, on an emulated phone with a GPS position."""

from __future__ import annotations

import re

from sqlalchemy import select

from gridops.core.models import Attachment, Incident, Task
from tests.conftest import TEST_POINT
from tests.web.browser import browser, live_server, watch

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
NEAR = {"longitude": TEST_POINT[0] + 0.0001, "latitude": TEST_POINT[1]}


def _report(city, category="dispute.neighbour", description="楼上漏水"):
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                      "description": description}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json


def _phone(p, b, base):
    phone = p.devices["Pixel 5"]
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
        page.wait_for_function("() => document.getElementById('where').textContent.includes('%.5f')" % (TEST_POINT[0] + 0.01))
        card.locator("button[data-step=check_in]").click()
        page.wait_for_selector("#status.error")
        assert re.search(r"离现场 \d[\d,]* m", page.inner_text("#status")), page.inner_text("#status")  # how far, and what to do
        context.set_geolocation(NEAR)
        page.wait_for_function(f"() => document.getElementById('where').textContent.includes('{NEAR['longitude']:.5f}')")
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

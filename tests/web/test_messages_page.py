"""The bell and the messages page in headless Chromium: a worker whose page is open sees the count go from 0 to 1
when a task is given to them (pushed on the live feed, no polling), opens the list and marks it read; and sets how
they are reached on /me/messages, a refusal shown in Chinese. On a 360 px phone and on a desktop."""

from __future__ import annotations

from sqlalchemy import select, update

from gridops.core.models import Contact, Notification
from tests.conftest import TEST_POINT
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _sign_in(page, city, who: str, then: str) -> None:
    page.goto(then)
    page.fill("#token", city.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url("**" + then)


def _count(page) -> str:
    return page.get_attribute(".bell-count", "data-count")


@ON_ONE_BACKEND
def test_a_worker_sees_a_new_task_arrive_on_the_bell_and_marks_it_read(city, artifacts_dir, backend):
    with city.session() as s:  # the demo city's old messages are read
        s.execute(update(Notification).values(read_at=city.clock["t"], fanned_at=city.clock["t"]))
    with live_server(city.app) as base, browser() as (p, b):
        context = b.new_context(**PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base,
                                geolocation={"longitude": TEST_POINT[0], "latitude": TEST_POINT[1]}, permissions=["geolocation"])
        page = context.new_page()
        seen = watch(page, base)
        _sign_in(page, city, "grid_worker", "/worker")
        page.wait_for_function("() => document.querySelector('.bell-count').dataset.count === '0'")
        page.wait_for_timeout(700)  # the page's live feed is open (its first poll on SpatiaLite)
        fetched = len([u for u in seen.requests if "/api/v1/me/notifications" in u])

        made = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1],
                                                           "description": "楼上漏水"}, headers=city.h("resident"))
        assert made.status_code == 201
        page.wait_for_function("() => document.querySelector('.bell-count').dataset.count === '1'", timeout=5000)
        assert len([u for u in seen.requests if "/api/v1/me/notifications" in u]) == fetched + 1  # asked once, when told
        page.screenshot(path=str(artifacts_dir / "bell-phone-unread.png"))

        page.click(".bell-button")
        item = page.locator(".bell-item.unread")
        item.wait_for()
        assert item.count() == 1 and str(made.json["id"]) in item.inner_text() and "新任务" in item.inner_text()
        assert item.locator("a").get_attribute("href") == f"/worker#incident-{made.json['id']}"
        assert page.locator(".bell-all").inner_text() == "全部标为已读"
        page.screenshot(path=str(artifacts_dir / "bell-phone-open.png"))
        page.click(".bell-all")
        page.wait_for_function("() => document.querySelector('.bell-count').dataset.count === '0'")
        assert page.locator(".bell-item.unread").count() == 0 and page.locator(".bell-item").count() >= 1
        page.screenshot(path=str(artifacts_dir / "bell-phone-read.png"))

        page.goto("/me/messages")
        page.locator("article.message").first.wait_for()
        page.check("input[name=quiet_mode][value=own]")
        page.fill("input[name=quiet_from]", "22:00")
        page.fill("input[name=quiet_to]", "22:00")
        page.click("#contact-form button[type=submit]")
        page.wait_for_selector("#contact-status.bad")
        assert "免打扰时段的开始与结束时间相同" in page.inner_text("#contact-status")
        page.screenshot(path=str(artifacts_dir / "messages-phone-refused.png"), full_page=True)
        page.fill("input[name=quiet_to]", "07:00")
        page.select_option("select[name=lang]", "en")
        page.click("#contact-form button[type=submit]")
        page.wait_for_selector("#contact-status.ok")
        page.wait_for_load_state("load")
        with city.session() as s:
            row = s.scalars(select(Contact)).one()
            assert (row.quiet_hours, row.lang) == ("22:00-07:00", "en")
        assert seen.outside() == [], seen.outside()
        refused = "console error: Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"
        assert [e for e in seen.errors if e != refused] == [], seen.errors
        context.close()

        desk = b.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=base)
        page = desk.new_page()
        _sign_in(page, city, "grid_worker", "/me/messages")
        page.locator("article.message").first.wait_for()
        page.click(".bell-button")
        page.locator(".bell-item").first.wait_for()
        page.screenshot(path=str(artifacts_dir / "messages-desktop.png"))
        desk.close()

"""The reader's language, over a real HTTP client on both backends: problem details said in Chinese by default and
in English by choice (`type` and the field codes unchanged), validation naming the field as the reader names it,
error pages in Chinese for a browser asking for a page (the API keeps its JSON), and a signed-in person's own
language kept from the language switch — their next page, on any browser, and the messages sent to them."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from gridops.core.models import AppUser, Delivery, MessageSetting, Notification, Worker
from gridops.messages.dispatcher import Dispatcher, Policy
from tests.conftest import TEST_POINT
from tests.messages.fakes import http_sms
from tests.web.browser import ON_ONE_BACKEND, browser, live_server, watch

EN = {"Accept-Language": "en-GB,en;q=0.9"}
PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _incident(city) -> int:
    res = city.client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": TEST_POINT[0], "lat": TEST_POINT[1]},
                           headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json["id"]


def _step(city, who: str, iid: int, action: str, headers: dict | None = None, query: str = "", **body):
    return city.client.post(f"/api/v1/incidents/{iid}/{action}{query}", json=body, headers={**city.h(who), **(headers or {})})


def test_a_step_on_an_unknown_incident_is_refused_in_the_readers_language(city):
    zh = _step(city, "command_centre", 999999999, "accept")
    en = _step(city, "command_centre", 999999999, "accept", headers=EN)
    asked = _step(city, "command_centre", 999999999, "accept", query="?lang=en")
    assert zh.status_code == en.status_code == asked.status_code == 404
    assert zh.mimetype == "application/problem+json" and zh.json["type"] == en.json["type"] == "/problems/not-found"
    assert zh.json["title"] == "未找到" and zh.json["detail"] == "没有您可查看的事件 999999999。"
    assert en.json["title"] == "Not found" and en.json["detail"] == "no incident 999999999 that you may see."
    assert asked.json["detail"] == en.json["detail"]


def test_a_step_the_status_does_not_allow_names_statuses_and_steps_as_people_do(city):
    iid = _incident(city)
    zh = _step(city, "command_centre", iid, "close")
    en = _step(city, "command_centre", iid, "close", headers=EN)
    assert zh.status_code == en.status_code == 409 and zh.json["type"] == "/problems/illegal-transition"
    assert zh.json["status_now"] == "reported" and zh.json["allowed"] == en.json["allowed"]  # codes stay codes
    assert zh.json["detail"] == f"事件 {iid} 当前已上报；“结案”要求事件处于：已核查。", zh.json
    assert zh.json["title"] == "当前状态不能进行此操作" and en.json["title"] == "Illegal transition"
    assert en.json["detail"] == f"incident {iid} is reported; close needs it verified."


def test_a_step_for_another_role_names_the_roles_in_chinese(city):
    iid = _incident(city)
    zh = _step(city, "grid_worker", iid, "supervise", note="催办")
    en = _step(city, "grid_worker", iid, "supervise", note="催办", headers=EN)
    assert zh.status_code == en.status_code == 403 and zh.json["type"] == "/problems/forbidden"
    assert zh.json["detail"].startswith(f"事件 {iid} 的“督办”由") and "指挥中心" in zh.json["detail"], zh.json
    assert "command centre" in en.json["detail"] and en.json["detail"].startswith(f"supervise on incident {iid} is for ")


def test_validation_names_the_field_in_the_readers_language(city):
    iid = _incident(city)
    zh = _step(city, "command_centre", iid, "follow_up", reached=True, rating=9)
    en = _step(city, "command_centre", iid, "follow_up", reached=True, rating=9, headers=EN)
    assert zh.status_code == en.status_code == 400 and zh.json["field"] == en.json["field"] == "rating"
    assert zh.json["detail"] == "「评分」须在 1 到 5 之间。", zh.json
    assert en.json["detail"] == "`rating` must be from 1 to 5."
    missing = _step(city, "grid_worker", iid, "reject")  # a step that needs a note, sent without one
    assert missing.status_code == 400 and missing.json["field"] == "note"
    assert missing.json["detail"] == "“退单”需要填写说明：原因或处理情况。", missing.json


def test_an_unknown_page_is_a_chinese_page_with_the_way_home_and_the_api_keeps_json(city):
    page = city.client.get("/no/such/page", headers=PAGE)
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "页面不存在" in html and "此地址没有内容" in html
    assert '<a href="/">返回首页</a>' in html and "Not found" not in html
    english = city.client.get("/no/such/page?lang=en", headers=PAGE).get_data(as_text=True)
    assert "Page not found" in english and '<a href="/">Back to the home page</a>' in english
    city.client.delete_cookie("gridops_lang")  # the choice of English above is kept by the browser
    api = city.client.get("/api/v1/no-such-thing", headers=PAGE)
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert api.json["detail"] == "此地址没有内容：请检查链接，或返回首页。"
    fetched = city.client.get("/no/such/page", headers={"Accept": "application/json"})
    assert fetched.mimetype == "application/problem+json"


def test_a_page_for_another_role_says_so_in_chinese(city):
    page = city.client.get("/plan", headers={**city.h("grid_worker"), **PAGE})
    assert page.status_code == 403 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "此页面不对您的角色开放" in html and "您当前登录的角色是网格员" in html and "网格规划员" in html, html
    assert "返回首页" in html and "换一个账号登录" in html


def test_a_failure_of_ours_is_a_chinese_page_and_is_not_explained(city, monkeypatch):
    import gridops.web.pages.landing as landing

    def broken(db):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(landing, "health", broken)
    page = city.client.get("/", headers=PAGE)
    assert page.status_code == 500 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "出错了" in html and "发生意外错误，已记录日志。" in html and "disk" not in html and "重试" in html


@pytest.fixture
def gateway():
    gw = http_sms()
    yield gw
    gw.close()


def test_the_language_switch_is_kept_for_the_person_their_pages_and_their_messages(city, gateway):
    worker = city.h("grid_worker")
    assert city.client.get("/worker?lang=en", headers=worker).status_code == 200
    with city.session() as s:
        kept = s.scalar(select(AppUser.language).where(AppUser.name == "grid_worker"))
    assert kept == "en"
    city.client.delete_cookie("gridops_lang")  # another browser: no cookie, a Chinese Accept-Language
    page = city.client.get("/worker", headers={**worker, "Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page
    stranger = city.client.get("/worker", headers={**city.h("backup"), "Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in stranger  # only that person's pages

    now = city.clock["t"]
    with city.session() as s:  # the demo city's old messages sent; an SMS gateway set on the admin page
        s.execute(update(Notification).values(read_at=now, fanned_at=now))
        for key, value in (("SMS_GATEWAY", "http"), ("SMS_URL", gateway.url + "/send"), ("QUIET_HOURS", "")):
            s.add(MessageSetting(key=key, value=value, updated_at=now))
    iid = _incident(city)
    d = Dispatcher(city.app.extensions["gridops.db"], city.app.config, owner="test", policy=Policy())
    try:
        d.step()
    finally:
        d.close()
    with city.session() as s:
        sent = dict(s.execute(select(Worker.code, Delivery.body).join(Notification, Notification.id == Delivery.notification_id)
                              .join(Worker, Worker.id == Notification.worker_id)
                              .where(Notification.incident_id == iid, Notification.kind == "assigned")).all())
    mine = sent[city.workers["grid_worker"]]
    assert mine.startswith(f"[Grid task] #{iid} ") and "due" in mine, sent

    assert city.client.get("/worker?lang=zh", headers=worker).status_code == 200  # and back to Chinese
    with city.session() as s:
        assert s.scalar(select(AppUser.language).where(AppUser.name == "grid_worker")) == "zh_Hans_CN"


@ON_ONE_BACKEND
def test_error_pages_in_a_browser_are_chinese_with_the_way_home(city, artifacts_dir):
    with live_server(city.app) as base, browser() as (_, b):
        desk = b.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page = desk.new_page()
        seen = watch(page, base)
        answer = page.goto(base + "/no/such/page")
        assert answer.status == 404 and page.locator("h1").inner_text() == "页面不存在"
        page.screenshot(path=str(artifacts_dir / "error-404-desktop.png"))
        page.get_by_role("link", name="返回首页").click()
        page.wait_for_url(base + "/")
        assert _beyond_the_status(seen.errors) == [] and not seen.outside()
        phone = b.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                              extra_http_headers={"Authorization": f"Bearer {city.tokens['grid_worker']}"})
        page = phone.new_page()
        seen = watch(page, base)
        answer = page.goto(base + "/plan")
        assert answer.status == 403 and page.locator("h1").inner_text() == "此页面不对您的角色开放"
        assert "您当前登录的角色是网格员" in page.locator("[role=alert]").inner_text()
        page.screenshot(path=str(artifacts_dir / "error-403-phone.png"))
        assert _beyond_the_status(seen.errors) == [] and not seen.outside()


def _beyond_the_status(errors: list[str]) -> list[str]:
    """The console errors other than Chromium's one note of the page's own status (the 404 or 403 it is about): a
    second such note would be something else the page asked for and did not get."""
    own = next((e for e in errors if "the server responded with a status of 40" in e), None)
    return [e for e in errors if e is not own]


def test_the_landing_page_leads_each_user_to_their_work_in_chinese_and_english(city):
    html = city.client.get("/", headers=PAGE).get_data(as_text=True)
    assert "<h2>工作入口</h2>" in html and ">调度台</a>" in html and ">网格员手机页</a>" in html and ">网格规划</a>" in html
    assert "Where to work" not in html and "What is loaded" not in html and "已载入的数据" in html
    assert "栋楼" in html and "件未办结" in html  # the city's figures, said in Chinese
    english = city.client.get("/?lang=en", headers=PAGE).get_data(as_text=True)
    assert "<h2>Where to work</h2>" in english and ">Dispatch console</a>" in english and "工作入口" not in english


def test_a_time_that_is_no_time_is_refused_in_the_readers_language(city):
    zh = city.client.get("/api/v1/areas?level=grid&at=next-tuesday", headers=city.h("command_centre"))
    en = city.client.get("/api/v1/areas?level=grid&at=next-tuesday", headers={**city.h("command_centre"), **EN})
    assert zh.status_code == en.status_code == 400 and zh.json["field"] == en.json["field"] == "at"
    assert "须为 ISO-8601 时间" in zh.json["detail"] and "must" not in zh.json["detail"], zh.json
    assert en.json["detail"].startswith("`at` must be an ISO-8601 time like"), en.json
    far = city.client.get("/api/v1/areas?level=grid&at=9999-12-31T23:59:59-14:00", headers=city.h("command_centre"))
    assert far.status_code == 400 and "须在 1900 年到 2999 年之间" in far.json["detail"], far.json

"""A person's own messages and choices over HTTP, on both backends: unread first, in their language, with what
became of each copy on another channel; marking read; nobody else's; the contact form's refusals in the page's
language; what a person sets is what the next message obeys; and the live feed tells only that person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gridops.core import clock
from gridops.core.models import Contact, Delivery, MessageSetting, Notification, Worker
from gridops.incidents.stream import events_after, last_id
from gridops.messages.dispatcher import Dispatcher, Policy
from gridops.messages.outbox import enqueue
from tests.conftest import TEST_POINT
from tests.messages.fakes import http_sms


@pytest.fixture
def gateway():
    gw = http_sms()
    yield gw
    gw.close()


def _fresh(city, sms_url: str | None = None) -> None:
    """The demo city's old messages read and sent, and (optionally) an SMS gateway set on the admin page."""
    now = city.clock["t"]
    with city.session() as s:
        s.execute(update(Notification).values(read_at=now, fanned_at=now))
        if sms_url:
            for key, value in (("SMS_GATEWAY", "http"), ("SMS_URL", sms_url), ("QUIET_HOURS", "")):
                s.add(MessageSetting(key=key, value=value, updated_at=now))


def _report(city, description: str = "楼道灯坏了", category: str = "dispute.neighbour", dx: float = 0.0) -> int:
    res = city.client.post("/api/v1/incidents", json={"category": category, "lon": TEST_POINT[0] + dx, "lat": TEST_POINT[1],
                                                      "description": description}, headers=city.h("resident"))
    assert res.status_code == 201, res.json
    return res.json["id"]


def _inbox(city, who: str, **params) -> dict:
    res = city.client.get("/api/v1/me/notifications", query_string=params, headers=city.h(who))
    assert res.status_code == 200, res.json
    return res.json


def _dispatch(city, **policy) -> None:
    d = Dispatcher(city.app.extensions["gridops.db"], city.app.config, owner="test", policy=Policy(**policy))
    try:
        d.step()
    finally:
        d.close()


def test_a_worker_reads_a_new_task_first_in_their_language_and_sees_that_its_sms_did_not_go(city, gateway):
    _fresh(city, gateway.url + "/send")
    before = _inbox(city, "grid_worker")
    assert before["unread"] == 0 and before["total"] > 0  # the demo city's eight weeks of messages, all read
    iid = _report(city)
    mine = _inbox(city, "grid_worker", limit=5)
    top = mine["notifications"][0]
    assert mine["unread"] == 1 and top["read_at"] is None and top["kind"] == "assigned" and top["incident_id"] == iid
    assert top["title"] == "新任务" and str(iid) in top["text"] and top["link"] == f"/worker#incident-{iid}"
    assert top["deliveries"] == []
    assert all(n["read_at"] for n in mine["notifications"][1:])  # unread first …
    older = [n["id"] for n in mine["notifications"][1:]]
    assert older == sorted(older, reverse=True)  # … then the newest

    with city.session() as s:  # a message with its fields, as the sweep writes a warning: rendered from them, as the SMS is
        worker_id = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_worker"]))
        enqueue(s, "warning", at=clock.now(), worker_id=worker_id, incident_id=iid,
                data={"category": "邻里纠纷", "address": "锦华路1号", "pct": 50, "due": "11月24日 17:30"})
    warned = _inbox(city, "grid_worker", limit=1)["notifications"][0]
    assert warned["title"] == "即将超时" and warned["read_at"] is None
    assert warned["text"] == f"【时限提醒】#{iid} 邻里纠纷（锦华路1号）已用去50%的处置时限，请于11月24日 17:30前办结。"

    gateway.faults.down = True
    _dispatch(city, max_attempts=1)
    copy = _inbox(city, "grid_worker", limit=2)["notifications"][1]["deliveries"]
    with city.session() as s:
        phone = s.scalar(select(Worker.phone).where(Worker.code == city.workers["grid_worker"]))
    assert [(c["channel"], c["address"], c["status"]) for c in copy] == [("sms", phone, "failed")]
    assert "503" in copy[0]["error"] and copy[0]["error"].startswith("gave up after 1 tries")

    assert city.client.put("/api/v1/me/contact", json={"lang": "en"}, headers=city.h("grid_worker")).status_code == 200
    english = _inbox(city, "grid_worker", limit=1)["notifications"][0]
    assert english["title"] == "Due soon" and english["text"].startswith(f"[Due soon] #{iid} 邻里纠纷 at 锦华路1号 has used 50%")


def test_a_message_is_marked_read_by_its_person_and_nobody_else_learns_it_exists(city):
    _fresh(city)
    iid = _report(city)
    note = _inbox(city, "grid_worker", limit=1)["notifications"][0]
    assert note["incident_id"] == iid and note["read_at"] is None
    for other in ("backup", "grid_leader", "command_centre", "admin", "resident"):
        res = city.client.post(f"/api/v1/me/notifications/{note['id']}/read", headers=city.h(other))
        assert res.status_code == 404 and res.mimetype == "application/problem+json", (other, res.json)
        assert note["id"] not in [n["id"] for n in _inbox(city, other)["notifications"]]
    assert city.client.post("/api/v1/me/notifications/999999999/read", headers=city.h("grid_worker")).status_code == 404
    assert city.client.post(f"/api/v1/me/notifications/{note['id']}/read").status_code == 401

    res = city.client.post(f"/api/v1/me/notifications/{note['id']}/read", headers=city.h("grid_worker"))
    assert res.status_code == 200 and res.json["unread"] == 0 and res.json["read_at"]
    first = res.json["read_at"]
    city.clock["t"] += timedelta(minutes=5)
    again = city.client.post(f"/api/v1/me/notifications/{note['id']}/read", headers=city.h("grid_worker")).json
    assert again["read_at"] == first  # when it was first read
    assert _inbox(city, "grid_worker", limit=1)["notifications"][0]["read_at"] == first


def test_marking_all_read_up_to_what_the_page_showed_leaves_one_that_came_meanwhile(city):
    _fresh(city)
    _report(city, "一")
    _report(city, "二", "order.noise", 0.0003)  # not the same report again (which would be merged into the first)
    shown = _inbox(city, "grid_worker")
    assert shown["unread"] == 2
    newest = shown["notifications"][0]["id"]
    with city.session() as s:  # came while the page was open
        worker_id = s.scalar(select(Worker.id).where(Worker.code == city.workers["grid_worker"]))
        late = enqueue(s, "warning", at=clock.now(), worker_id=worker_id, incident_id=shown["notifications"][0]["incident_id"],
                       data={"pct": 50}).incident_id
    res = city.client.post("/api/v1/me/notifications/read", json={"up_to": newest}, headers=city.h("grid_worker"))
    assert res.status_code == 200 and res.json == {"marked": 2, "unread": 1}
    left = _inbox(city, "grid_worker")
    assert left["unread"] == 1 and left["notifications"][0]["incident_id"] == late and left["notifications"][0]["read_at"] is None
    res = city.client.post("/api/v1/me/notifications/read", headers=city.h("grid_worker"))  # no body: all of them
    assert res.status_code == 200 and res.json == {"marked": 1, "unread": 0}
    bad = city.client.post("/api/v1/me/notifications/read", json={"up_to": "latest"}, headers=city.h("grid_worker"))
    assert bad.status_code == 400 and bad.json["field"] == "up_to"


def test_contact_choices_are_refused_with_what_is_allowed_in_the_pages_language(city, gateway):
    _fresh(city, gateway.url + "/send")
    zh = {**city.h("grid_worker"), "Accept-Language": "zh-CN,zh;q=0.9"}
    en = {**city.h("grid_worker"), "Accept-Language": "en-GB,en;q=0.9"}
    cases = [
        ({"channels": ["wechat"]}, "channels", "“wechat”不是本市已开通的消息渠道，可选：sms（短信）",
         "'wechat' is not a channel this city has configured; choose from: sms (SMS)"),
        ({"channels": ["sms", "sms"]}, "channels", "重复", "named twice"),
        ({"channels": "sms"}, "channels", "渠道名称列表", "list of channel names"),
        ({"quiet_hours": "25:00-07:00"}, "quiet_hours", "免打扰时段应为两个时刻，如 22:00-07:00", "two times of day like 22:00-07:00"),
        ({"quiet_hours": "22:00-22:00"}, "quiet_hours", "开始与结束时间相同", "start and end at the same time"),
        ({"lang": "fr"}, "lang", "语言只能是 zh_Hans_CN（中文）或 en（英文）", "zh_Hans_CN (Chinese) or en (English)"),
        ({"phone": "call me"}, "phone", "手机号码应由数字组成", "a phone number is digits"),
        ({"email": "not-an-address"}, "email", "不是有效的电子邮箱地址", "is not an e-mail address"),
        ({"wecom_user": "张 三"}, "wecom_user", "企业微信账号", "WeCom userid"),
    ]
    for body, field, chinese, english in cases:
        res = city.client.put("/api/v1/me/contact", json=body, headers=zh)
        assert res.status_code == 400 and res.mimetype == "application/problem+json", (body, res.json)
        assert res.json["field"] == field and chinese in res.json["detail"], (body, res.json)
        res = city.client.put("/api/v1/me/contact", json=body, headers=en)
        assert res.status_code == 400 and english in res.json["detail"], (body, res.json)
    assert city.client.put("/api/v1/me/contact", json={"channels": ["wechat"]}, headers=zh).json["allowed"] == ["sms"]
    # all or nothing: a good field beside a bad one is not stored either
    assert city.client.put("/api/v1/me/contact", json={"phone": "13900000001", "lang": "fr"}, headers=zh).status_code == 400
    assert city.client.get("/api/v1/me/contact", headers=zh).json["phone"] is None


def test_what_a_worker_sets_is_what_the_next_message_obeys(city, gateway):
    _fresh(city, gateway.url + "/send")
    h = city.h("grid_worker")
    seen = city.client.get("/api/v1/me/contact", headers=h).json
    assert seen["available_channels"] == ["sms"] and seen["channels"] is None and seen["quiet_hours"] is None
    assert seen["defaults"]["wecom_user"] == city.workers["grid_worker"]
    res = city.client.put("/api/v1/me/contact", json={"phone": "139 0000 0001", "channels": ["sms"], "quiet_hours": " 21:30-06:45 ",
                                                       "lang": "zh_Hans_CN", "email": "wang@example.gov.cn"}, headers=h)
    assert res.status_code == 200, res.json
    assert (res.json["phone"], res.json["channels"], res.json["quiet_hours"]) == ("13900000001", ["sms"], "21:30-06:45")
    assert res.json["reached_by"] == [{"channel": "sms", "address": "13900000001"}]
    with city.session() as s:  # the worker's row: the dispatcher reads it for every message to the worker
        row = s.scalars(select(Contact)).one()
        worker = s.scalar(select(Worker).where(Worker.code == city.workers["grid_worker"]))
        assert (row.worker_id, row.user_id) == (worker.id, None)
    _report(city)
    _dispatch(city)
    got = gateway.wait_for(1)
    assert [r.body["to"] for r in got] == ["13900000001"] and "【网格任务】" in got[0].body["text"]

    # in its quiet hours, a task waits for the morning; a 督办 does not
    city.clock["t"] = city.clock["t"].replace(hour=23)
    with city.session() as s:
        enqueue(s, "warning", at=clock.now(), worker_id=worker.id, data={"incident": 1, "pct": 75})
        enqueue(s, "supervised", at=clock.now(), worker_id=worker.id, data={"incident": 1, "note": "已超时"})
    _dispatch(city)
    got = gateway.wait_for(2)
    assert len(got) == 2 and "【督办】" in got[1].body["text"]
    with city.session() as s:
        held = s.scalars(select(Delivery).where(Delivery.status == "queued")).one()
    assert held.held and held.next_at.astimezone(city.clock["t"].tzinfo).strftime("%H:%M") == "06:45"
    waiting = [d for n in _inbox(city, "grid_worker", limit=3)["notifications"] for d in n["deliveries"] if d["held_until"]]
    assert len(waiting) == 1 and waiting[0]["status"] == "queued"  # the person sees it waits, and till when

    # back to the defaults: null is "the city's" / "the default"
    res = city.client.put("/api/v1/me/contact", json={"channels": None, "quiet_hours": None, "phone": None}, headers=h)
    back = (res.json["channels"], res.json["quiet_hours"], res.json["phone"], res.json["email"])
    assert back == (None, None, None, "wang@example.gov.cn")
    res = city.client.put("/api/v1/me/contact", json={"channels": [], "quiet_hours": ""}, headers=h)
    assert res.json["reached_by"] == [] and res.json["quiet_hours"] == ""  # in the app only, at any hour


def test_a_resident_keeps_their_own_choices(city):
    _fresh(city)
    h = city.h("resident")
    res = city.client.put("/api/v1/me/contact", json={"phone": "+86 138-0000-0002", "lang": "en"}, headers=h)
    assert res.status_code == 200 and res.json["phone"] == "+8613800000002" and res.json["available_channels"] == []
    refused = city.client.put("/api/v1/me/contact", json={"channels": ["sms"]}, headers={**h, "Accept-Language": "zh-CN"})
    assert refused.status_code == 400 and "本市尚未开通任何渠道" in refused.json["detail"]
    with city.session() as s:
        row = s.scalars(select(Contact)).one()
        assert row.worker_id is None and row.user_id is not None and row.lang == "en"
    assert city.client.get("/api/v1/me/contact", headers=city.h("other_resident")).json["phone"] is None  # not theirs


def test_the_live_feed_tells_a_message_only_to_its_person(city):
    _fresh(city)
    principals = city.app.extensions["gridops.principals"]
    with city.session() as s:
        after = last_id(s)
        who = {name: principals.principal(s, city.tokens[name]) for name in ("grid_worker", "backup", "command_centre", "admin")}
    iid = _report(city)
    with city.session() as s:
        note = s.scalar(select(Notification).where(Notification.incident_id == iid))
        heard = {name: events_after(s, after, p)[0] for name, p in who.items()}
    told = [e for e in heard["grid_worker"] if e["event"] == "notification"]
    assert [e["data"]["id"] for e in told] == [note.id] and told[0]["data"]["kind"] == "assigned"
    for name in ("backup", "command_centre", "admin"):  # staff see the incident, not another person's messages
        assert not [e for e in heard[name] if e["event"] == "notification"], name
    assert [e for e in heard["command_centre"] if e["event"] == "incident"]

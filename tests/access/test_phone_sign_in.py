"""Signing in by phone, over HTTP on both backends, with the real dispatcher and a fake SMS gateway on a port: a
resident asks for a code at their door, the SMS brings it, they sign in and report, and the report is theirs; the
limits per number and per address answer 429 with Retry-After; a code expires, and dies after five wrong tries;
a worker's number signs in as the worker, never as a resident."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from gridops.access.otp import forget_spent
from gridops.core import clock
from gridops.core.models import AppUser, Delivery, Incident, Notification, OneTimeCode, UserArea, Worker
from gridops.messages.dispatcher import Dispatcher
from tests.messages.fakes import http_sms
from tests.web.test_resident_page import a_door, form_key

PHONE = "13900001111"


@pytest.fixture
def sms(city):
    """The fake gateway; the demo city's own history of messages counts as sent long ago (only the codes go out)."""
    with city.session() as s:
        s.execute(update(Notification).where(Notification.fanned_at.is_(None)).values(fanned_at=city.clock["t"]))
    gw = http_sms()
    yield gw
    gw.close()


def deliver(city, gw) -> None:
    """One pass of the real dispatcher, sending through the fake gateway."""
    config = {**city.app.config, "SMS_GATEWAY": "http", "SMS_URL": gw.url + "/send"}
    d = Dispatcher(city.app.extensions["gridops.db"], config, owner="test")
    try:
        d.step()
    finally:
        d.close()


def code_sent(city, gw, phone: str = PHONE) -> str:
    """The code in the last SMS the gateway took for a number."""
    deliver(city, gw)
    texts = [r.body["text"] for r in gw.received if r.body["to"] == phone]
    assert texts, f"no SMS to {phone}: {[r.body for r in gw.received]}"
    assert "验证码" in texts[-1]
    return re.search(r"\d{6}", texts[-1]).group(0)


def ask(client, phone: str = PHONE, **kw):
    return client.post("/api/v1/auth/phone/code", json={"phone": phone}, **kw)


def verify(client, code: str, phone: str = PHONE, **kw):
    return client.post("/api/v1/auth/phone/verify", json={"phone": phone, "code": code}, **kw)


def test_a_resident_signs_in_at_their_door_and_the_report_is_theirs(city, sms):
    door = a_door(city)
    client = city.app.test_client()
    page = client.get(f"/r/{door['code']}").get_data(as_text=True)
    assert "用手机号登录" in page and "获取验证码" in page and "<script" not in page
    asked = client.post(f"/r/{door['code']}/phone", data={"phone": "+86 139-0000-1111", "action": "send"})
    shown = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "验证码已通过短信发送至 139****1111" in shown and 'name="code"' in shown
    code = code_sent(city, sms)
    with city.session() as s:
        row = s.scalars(select(OneTimeCode)).one()
        assert row.phone == PHONE and code not in row.code_hash and len(row.code_hash) == 64  # only an HMAC kept
    signed = client.post(f"/r/{door['code']}/phone", data={"phone": PHONE, "code": code, "action": "verify"})
    assert signed.status_code == 303 and signed.headers["Location"].endswith(f"/r/{door['code']}")
    page = client.get(f"/r/{door['code']}").get_data(as_text=True)
    assert "已登录：139****1111" in page and "获取验证码" not in page
    assert f'value="{PHONE}"' in page  # the call-back number is theirs already
    mark = re.search(r'name="signed" value="([0-9a-f]+)"', page).group(1)
    sent = client.post(f"/r/{door['code']}", data={"form_key": form_key(page), "signed": mark, "category": "livelihood.repair",
                                                   "description": "楼道灯坏了", "contact": PHONE})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:400]
    with city.session() as s:
        user = s.scalar(select(AppUser).where(AppUser.phone == PHONE))
        incident = s.scalar(select(Incident).order_by(Incident.id.desc()).limit(1))
        assert user.role == "resident" and user.active and incident.reporter_user_id == user.id
        assert incident.channel == "qr" and incident.reporter_contact == PHONE
        # the code is no longer kept in words once used
        assert all(code not in n.message and code not in str(n.data) for n in s.scalars(select(Notification)))
    # they see it on their door page, and through the API with the same session
    page = client.get(f"/r/{door['code']}").get_data(as_text=True)
    assert "您的上报" in page and f"编号 {incident.id}" in page
    mine = client.get("/api/v1/incidents")
    assert mine.status_code == 200 and [i["id"] for i in mine.json["features"]] == [incident.id], mine.json
    # a form from another page (no mark of this session) reports anonymously, never as them
    other = client.post(f"/r/{door['code']}", data={"form_key": "k-other", "category": "livelihood.repair", "description": "又坏了"})
    assert other.status_code == 303
    with city.session() as s:
        assert s.scalar(select(Incident.reporter_user_id).order_by(Incident.id.desc()).limit(1)) is None


def test_the_api_answers_alike_for_any_number_and_signs_in_with_a_session(city, sms):
    with city.session() as s:
        worker = s.scalar(select(Worker).where(Worker.code == city.workers["grid_worker"]))
        worker.phone = "138 1234 5678"
    known, unknown = ask(city.client, "13812345678"), ask(city.client, PHONE)
    assert known.status_code == unknown.status_code == 202
    assert set(known.json) == set(unknown.json) == {"sent_to", "expires_in", "next_in"}
    assert (known.json["expires_in"], unknown.json["sent_to"]) == (300, "139****1111")
    client = city.app.test_client()
    first = verify(client, code_sent(city, sms))
    assert first.status_code == 200 and first.json["user"]["role"] == "resident", first.json
    assert client.get("/api/v1/incidents").status_code == 200  # the session cookie signs the API in
    created = client.post("/api/v1/incidents", json={"category": "dispute.neighbour", "lon": 104.1003, "lat": 30.6203},
                          headers={"X-Requested-With": "gridops"})
    assert created.status_code == 201, created.json
    with clock.moved(city.clock["t"] + timedelta(minutes=2)):
        assert ask(city.client).status_code == 202
        again = verify(city.app.test_client(), code_sent(city, sms))
    assert again.json["user"]["id"] == first.json["user"]["id"]  # found, not made again
    with city.session() as s:
        assert s.scalar(select(func.count(AppUser.id)).where(AppUser.phone == PHONE)) == 1
        assert s.get(Incident, created.json["id"]).reporter_user_id == first.json["user"]["id"]


def test_a_number_gets_one_code_a_minute_and_five_an_hour(city, sms):
    start = city.clock["t"]
    assert ask(city.client).status_code == 202
    again = ask(city.client)
    assert again.status_code == 429 and 55 <= int(again.headers["Retry-After"]) <= 60
    assert again.json["type"] == "/problems/too-many-requests" and "验证码请求过于频繁" in again.json["detail"]
    english = ask(city.client, headers={"Accept-Language": "en"})
    assert english.status_code == 429 and "Too many codes were asked for this number" in english.json["detail"]
    for minute in range(1, 5):
        with clock.moved(start + timedelta(seconds=61 * minute)):
            assert ask(city.client).status_code == 202
    with clock.moved(start + timedelta(minutes=10)):
        sixth = ask(city.client)
    assert sixth.status_code == 429 and int(sixth.headers["Retry-After"]) == 50 * 60  # until the first drops out of the hour
    with city.session() as s:
        assert s.scalar(select(func.count(OneTimeCode.id))) == 5
    bad = ask(city.client, "0831-1234567")
    assert bad.status_code == 400 and bad.json["field"] == "phone" and "不是手机号码" in bad.json["detail"]


def test_an_address_gets_twenty_codes_an_hour(city, sms):
    for n in range(20):
        assert ask(city.client, f"1370000{n:04d}").status_code == 202
    over = ask(city.client, "13700009999")
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 3000 and "该网络" in over.json["detail"]
    elsewhere = ask(city.client, "13700009999", environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 202
    deliver(city, sms)
    assert len(sms.received) == 21  # every code asked within the limits went out


def test_a_code_expires_after_five_minutes(city, sms):
    assert ask(city.client).status_code == 202
    code = code_sent(city, sms)
    with clock.moved(city.clock["t"] + timedelta(minutes=5, seconds=1)):
        late = verify(city.client, code)
    assert late.status_code == 400 and late.json["reason"] == "expired" and "验证码已过期" in late.json["detail"]
    assert "set-cookie" not in {k.lower() for k in late.headers.keys()}
    with clock.moved(city.clock["t"] + timedelta(minutes=6)):
        assert ask(city.client).status_code == 202
        fresh = code_sent(city, sms)
        assert verify(city.client, code).json["reason"] in ("wrong", "expired") or code == fresh
        assert verify(city.app.test_client(), fresh).status_code == 200


def test_a_sweep_blanks_the_words_of_codes_that_died_unused_and_leaves_live_ones(city, sms):
    other = "13900002222"
    assert ask(city.client).status_code == 202
    dead = code_sent(city, sms)
    with clock.moved(city.clock["t"] + timedelta(minutes=4)):
        assert ask(city.app.test_client(), other).status_code == 202
        live = code_sent(city, sms, other)
    with clock.moved(city.clock["t"] + timedelta(minutes=6)), city.session() as s:
        assert forget_spent(s, clock.now()) == [PHONE]
    with city.session() as s:
        kept = {n.phone: (n.message, n.data.get("code")) for n in s.scalars(select(Notification).where(
            Notification.kind == "sign_in_code"))}
        bodies = {d.body for d in s.scalars(select(Delivery).join(Notification).where(Notification.phone == PHONE))}
    assert kept[PHONE][1] == "" and dead not in kept[PHONE][0] and bodies and not any(dead in b for b in bodies)
    assert kept[other][1] == live
    with clock.moved(city.clock["t"] + timedelta(minutes=6)):
        assert verify(city.app.test_client(), live, other).status_code == 200


def test_five_wrong_tries_kill_the_code(city, sms):
    assert ask(city.client).status_code == 202
    code = code_sent(city, sms)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lefts = []
    for _ in range(4):
        answer = verify(city.client, wrong)
        assert answer.status_code == 400 and answer.json["reason"] == "wrong"
        lefts.append(answer.json["tries_left"])
    assert lefts == [4, 3, 2, 1]
    assert "还可再试 1 次" in answer.json["detail"]
    fifth = verify(city.client, wrong)
    assert fifth.status_code == 400 and fifth.json["reason"] == "dead" and "已失效" in fifth.json["detail"]
    right = verify(city.client, code)
    assert right.status_code == 400 and right.json["reason"] == "dead"
    with city.session() as s:
        assert s.scalar(select(OneTimeCode.attempts)) == 5
        assert s.scalar(select(func.count(AppUser.id)).where(AppUser.phone == PHONE)) == 0
    english = verify(city.client, "12", headers={"Accept-Language": "en"})
    assert english.status_code == 400 and english.json["reason"] == "malformed" and "6 digits" in english.json["detail"]


def test_a_workers_phone_signs_in_as_the_worker(city, sms):
    with city.session() as s:
        worker = s.scalar(select(Worker).where(Worker.code == city.workers["grid_worker"]))
        worker.phone = "+86 138-1234-5678"
        own = s.scalar(select(AppUser.id).where(AppUser.worker_id == worker.id))
    client = city.app.test_client()
    form = client.get("/login/phone?next=/worker").get_data(as_text=True)
    assert "用手机验证码登录" in form
    asked = client.post("/login/phone", data={"phone": "13812345678", "action": "send", "next": "/worker"})
    assert asked.status_code == 200 and "138****5678" in asked.get_data(as_text=True)
    signed = client.post("/login/phone", data={"phone": "13812345678", "code": code_sent(city, sms, "13812345678"),
                                               "action": "verify", "next": "/worker"})
    assert signed.status_code == 302 and signed.headers["Location"] == "/worker"
    tasks = client.get("/api/v1/me/tasks")
    assert tasks.status_code == 200, tasks.json  # the worker's own tasks: signed in as the worker
    assert client.get("/worker").status_code == 200
    with city.session() as s:
        assert s.scalar(select(func.count(AppUser.id)).where(AppUser.role == "resident", AppUser.phone.like("%5678"))) == 0
        assert s.scalar(select(func.count(AppUser.id)).where(AppUser.worker_id == worker.id)) == 1 and own is not None


def test_a_worker_with_no_sign_in_yet_is_given_one_of_their_role(city, sms):
    with city.session() as s:
        leader = s.scalar(select(Worker).where(Worker.code == city.workers["grid_leader"]))
        s.query(AppUser).filter(AppUser.worker_id == leader.id).update({"worker_id": None, "active": False})
        leader.phone = "13600002222"
        leader_id = leader.id
    assert ask(city.client, "13600002222").status_code == 202
    answer = verify(city.client, code_sent(city, sms, "13600002222"), "13600002222")
    assert answer.status_code == 200 and answer.json["user"]["role"] == "grid_leader" and answer.json["home"] == "/worker"
    with city.session() as s:
        user = s.get(AppUser, answer.json["user"]["id"])
        areas = set(s.scalars(select(UserArea.area_code).where(UserArea.user_id == user.id)))
    assert user.worker_id == leader_id and "510199001002005" in areas

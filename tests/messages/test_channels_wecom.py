"""企业微信 application messages against a fake qyapi on both backends: a worker's task arrives, one token
serves many sends on eight threads, an ended token is fetched again, and what each errcode makes of a copy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gridops.messages.channels.base import Outgoing
from gridops.messages.channels.wecom import WeCom
from tests.messages.fakes import http_sms, wecom
from tests.messages.world import NOON, copies, dispatcher, step, tasks, worker


@pytest.fixture
def gateway():
    gw = wecom()
    yield gw
    gw.close()


def settings(gw, **changes) -> dict:
    return {"WECOM_CORP_ID": "ww-corp", "WECOM_SECRET": "app-secret", "WECOM_AGENT_ID": "1000002", "WECOM_API_URL": gw.url,
            **changes}


def test_a_workers_tasks_arrive_in_wecom_and_one_token_serves_them_all(db, gateway):
    w1 = worker(db, "W001")
    w2 = worker(db, "W002", wecom_user="lisi")  # a contact's userid wins over the 工号
    tasks(db, w1, 12)
    tasks(db, w2, 12, link=True)
    d = dispatcher(db, settings(gateway))
    done = step(d)
    d.close()
    assert done.sent == 24 and gateway.token_fetches == 1
    text = [r.body for r in gateway.received if r.body["touser"] == "W001"]
    cards = [r.body for r in gateway.received if r.body["touser"] == "lisi"]
    assert len(text) == 12 and len(cards) == 12
    assert text[0]["msgtype"] == "text" and text[0]["agentid"] == 1000002 and text[0]["enable_duplicate_check"] == 1
    assert "锦江区春熙路1号3单元" in text[0]["text"]["content"] and "12月3日 17:30前处置" in text[0]["text"]["content"]
    card = cards[0]["textcard"]
    assert cards[0]["msgtype"] == "textcard" and card["title"] == "新任务" and card["url"].startswith("https://grid.example.gov.cn/i/")
    rows = copies(db)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_id.startswith("msg") for r in rows)


def test_a_token_wecom_ended_early_is_fetched_once_more_and_the_message_sent(db, gateway):
    w = worker(db, "W001")
    tasks(db, w, 1)
    d = dispatcher(db, settings(gateway))
    step(d)
    gateway.expire_tokens()  # WeCom ends it before its expires_in
    tasks(db, w, 1, at=NOON + timedelta(seconds=5), first=300)
    again = step(d, NOON + timedelta(seconds=5))
    d.close()
    assert again.sent == 1 and gateway.token_fetches == 2 and len(gateway.received) == 2
    assert {(r.status, r.attempts) for r in copies(db)} == {("sent", 1)}


def test_a_member_wecom_does_not_know_fails_at_once(db, gateway):
    w = worker(db, "W404")
    tasks(db, w, 1)
    d = dispatcher(db, settings(gateway))
    done = step(d)
    d.close()
    assert done.failed == 1
    row = copies(db)[0]
    assert (row.status, row.attempts) == ("failed", 1) and "w404" in row.error and "userid" in row.error


def test_a_worker_who_chose_nothing_and_is_not_in_wecom_gets_an_sms_instead(db, gateway):
    sms = http_sms()
    w = worker(db, "W404")  # no contact: WeCom is tried with the 工号, which WeCom does not know
    tasks(db, w, 1)
    d = dispatcher(db, {**settings(gateway), "SMS_GATEWAY": "http", "SMS_URL": sms.url + "/send"})
    step(d)  # WeCom refuses the member; the SMS copy is made …
    step(d)  # … and sent
    d.close()
    sms.close()
    assert {(r.channel, r.status) for r in copies(db)} == {("wecom", "failed"), ("sms", "sent")}
    assert [r.body["to"] for r in sms.received] == ["13800001111"] and "锦江区春熙路1号3单元" in sms.received[0].body["text"]


def test_a_worker_who_chose_wecom_only_is_not_sent_an_sms(db, gateway):
    sms = http_sms()
    w = worker(db, "W404", channels=["wecom"])
    tasks(db, w, 1)
    d = dispatcher(db, {**settings(gateway), "SMS_GATEWAY": "http", "SMS_URL": sms.url + "/send"})
    step(d)
    step(d)
    d.close()
    sms.close()
    assert [(r.channel, r.status) for r in copies(db)] == [("wecom", "failed")] and not sms.received


def test_a_wrong_secret_fails_naming_the_settings(db, gateway):
    w = worker(db, "W001")
    tasks(db, w, 1)
    d = dispatcher(db, settings(gateway, WECOM_SECRET="wrong"))
    step(d)
    d.close()
    row = copies(db)[0]
    assert row.status == "failed" and "40001" in row.error and "WECOM_SECRET" in row.error


def test_wecom_throttling_pauses_the_channel_and_then_everything_arrives(db):
    gw = wecom(per_minute=3)
    try:
        w = worker(db, "W001")
        tasks(db, w, 5)
        d = dispatcher(db, settings(gw))
        first = step(d)
        assert (first.sent, first.retried) == (3, 2) and "wecom" in d.paused
        assert all("45009" in r.error for r in copies(db) if r.status == "queued")
        gw.skew = 61.0
        step(d, NOON + timedelta(minutes=2))
        d.close()
        assert len(gw.received) == 5 and {r.status for r in copies(db)} == {"sent"}
    finally:
        gw.close()


def test_system_busy_is_tried_again(db, gateway):
    w = worker(db, "W001")
    tasks(db, w, 2)
    real = gateway.handle
    gateway.handle = lambda gw, got: ((200, {}, {"errcode": -1, "errmsg": "system busy"}) if got.path.endswith("/message/send")
                                      else real(gw, got))
    d = dispatcher(db, settings(gateway), backoff_seconds=10.0)
    first = step(d)
    assert first.retried == 2 and all("errcode -1" in r.error for r in copies(db))
    gateway.handle = real
    step(d, NOON + timedelta(seconds=30))
    d.close()
    assert {(r.status, r.attempts) for r in copies(db)} == {("sent", 2)} and len(gateway.received) == 2


def test_a_resend_after_a_lost_answer_is_dropped_by_wecom(gateway):
    channel = WeCom("ww-corp", "app-secret", 1000002, url=gateway.url)
    message = Outgoing(key="gridops-7-wecom", address="W001", title="新任务", body="【网格任务】#7 楼道堆物", kind="assigned")
    first, again = channel.send(message), channel.send(message)
    assert first.status == again.status == "sent" and first.provider_id == again.provider_id
    assert len(gateway.received) == 1 and gateway.repeats == 1 and channel.keyed

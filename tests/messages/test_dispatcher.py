"""The dispatcher against a fake SMS gateway on both backends: what is sent, what a down gateway does to it
(delays it, loses none), when a copy is given up, and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.models import Delivery, Notification
from gridops.messages.dispatcher import Dispatcher, Policy
from gridops.messages.outbox import enqueue
from tests.messages.fakes import http_sms

NOON = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def gateway():
    gw = http_sms()
    yield gw
    gw.close()


def _dispatcher(db: Database, gateway, quiet: str = "22:00-07:00", **policy) -> Dispatcher:
    config = {"SMS_GATEWAY": "http", "SMS_URL": gateway.url + "/send", "QUIET_HOURS": quiet, "TIMEZONE": "Asia/Shanghai"}
    return Dispatcher(db, config, owner="test", policy=Policy(**policy) if policy else None)


def _resident_messages(db: Database, n: int, at: datetime = NOON, kind: str = "accepted") -> None:
    with db.session() as s:
        for i in range(n):
            enqueue(s, kind, at=at, phone=f"1380000{i:04d}",
                    data={"incident": 100 + i, "category": "楼道堆物", "due": "12月3日 17:30", "link": f"https://g.example/f/{i}"})


def test_a_resident_hears_in_chinese_and_every_copy_says_sent(db, gateway):
    _resident_messages(db, 3)
    d = _dispatcher(db, gateway)
    with clock.moved(NOON):
        done = d.step()
    d.close()
    assert (done.fanned, done.sent) == (3, 3)
    got = sorted(gateway.received, key=lambda r: r.body["to"])
    assert [r.body["to"] for r in got] == ["13800000000", "13800000001", "13800000002"]
    assert "您反映的问题（楼道堆物，编号100）已受理" in got[0].body["text"] and "https://g.example/f/0" in got[0].body["text"]
    with db.session() as s:
        rows = list(s.scalars(select(Delivery)))
    assert {r.status for r in rows} == {"sent"} and all(r.provider_id for r in rows)
    assert len({r.key for r in rows}) == 3


def test_a_gateway_that_is_down_delays_the_messages_and_loses_none(db, gateway):
    _resident_messages(db, 5)
    gateway.faults.down = True
    d = _dispatcher(db, gateway, backoff_seconds=10.0)
    with clock.moved(NOON):
        first = d.step()
    assert first.retried == 5 and not gateway.received
    with db.session() as s:
        rows = list(s.scalars(select(Delivery)))
    assert {r.status for r in rows} == {"queued"} and all("503" in (r.error or "") for r in rows)
    assert all(r.next_at > NOON + timedelta(seconds=7) for r in rows)  # backed off (10 s ± 20%)
    with clock.moved(NOON + timedelta(seconds=3)):
        assert not d.step().outcomes  # not yet due again
    gateway.faults.down = False
    with clock.moved(NOON + timedelta(seconds=13)):
        again = d.step()
    d.close()
    assert again.sent == 5 and len(gateway.received) == 5
    with db.session() as s:
        assert {(r.status, r.attempts) for r in s.scalars(select(Delivery))} == {("sent", 2)}


def test_after_the_last_try_a_copy_is_failed_with_the_reason(db, gateway):
    _resident_messages(db, 1)
    gateway.faults.down = True
    d = _dispatcher(db, gateway, max_attempts=3, backoff_seconds=1.0)
    at = NOON
    for _ in range(3):
        with clock.moved(at):
            d.step()
        at += timedelta(seconds=10)
    d.close()
    with db.session() as s:
        row = s.scalars(select(Delivery)).one()
    assert row.status == "failed" and row.attempts == 3
    assert row.error.startswith("gave up after 3 tries") and "503" in row.error


def test_a_refused_message_fails_at_once(db, gateway):
    with db.session() as s:
        enqueue(s, "accepted", at=NOON, phone="13800000000", data={})
        s.flush()
    d = _dispatcher(db, gateway)
    gateway.handle = lambda gw, got: (400, {}, {"error": "invalid mobile"})
    with clock.moved(NOON):
        done = d.step()
    d.close()
    assert done.failed == 1
    with db.session() as s:
        row = s.scalars(select(Delivery)).one()
    assert (row.status, row.attempts) == ("failed", 1) and "invalid mobile" in row.error


def test_quiet_hours_hold_a_message_until_morning_but_never_an_urgent_one(db, gateway):
    night = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    _resident_messages(db, 1, at=night, kind="resolved")
    with db.session() as s:
        enqueue(s, "sign_in_code", at=night, phone="13900000000", data={"code": "123456", "minutes": 5})
    d = _dispatcher(db, gateway)
    with clock.moved(night):
        d.step()
    assert [r.body["to"] for r in gateway.received] == ["13900000000"]
    assert "123456" in gateway.received[0].body["text"]
    with db.session() as s:
        held = s.scalars(select(Delivery).where(Delivery.status == "queued")).one()
    assert held.held and held.next_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # 07:00 next morning
    with clock.moved(datetime(2026, 12, 2, 23, 0, 1, tzinfo=UTC)):
        d.step()
    d.close()
    assert len(gateway.received) == 2


def test_a_throttling_gateway_pauses_its_channel_and_then_takes_everything(db, gateway):
    _resident_messages(db, 6)
    gateway.faults.per_second = 2
    d = _dispatcher(db, gateway, quiet="", backoff_seconds=0.2)  # on the real clock, whatever its hour
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while len(gateway.received) < 6 and datetime.now(UTC) < deadline:
        d.step()
    d.close()
    assert len(gateway.received) == 6 and gateway.repeats == 0
    with db.session() as s:
        assert {r.status for r in s.scalars(select(Delivery))} == {"sent"}
        assert s.scalar(select(Notification.fanned_at).limit(1)) is not None

"""Group robots against fake webhooks on both backends: a group hears of what its robot was set for, a
robot past 20 a minute waits and then says it all, and a robot that refuses says why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.messages.fakes import dingtalk, wecom_robot
from tests.messages.world import NOON, copies, dispatcher, resident, robot, step

PLAIN: dict = {}  # no personal channel: only the robots' copies are made


@pytest.fixture
def wecom_gw():
    gw = wecom_robot()
    yield gw
    gw.close()


@pytest.fixture
def ding_gw():
    gw = dingtalk()
    yield gw
    gw.close()


def test_a_wecom_group_hears_in_chinese(db, wecom_gw):
    robot(db, "wecom_robot", wecom_gw.url + "/cgi-bin/webhook/send?key=robot-key-1")
    resident(db, 2)
    d = dispatcher(db, PLAIN)
    done = step(d)
    d.close()
    assert done.sent == 2 and {r.channel for r in copies(db)} == {"wecom_robot"}
    texts = sorted(r.body["text"]["content"] for r in wecom_gw.received)
    assert texts[0].startswith("您反映的问题（楼道堆物，编号100）已受理")
    assert all(r.body["msgtype"] == "text" for r in wecom_gw.received)


def test_a_wecom_robot_past_twenty_a_minute_waits_then_says_it_all(db, wecom_gw):
    robot(db, "wecom_robot", wecom_gw.url + "/cgi-bin/webhook/send?key=robot-key-1")
    resident(db, 25)
    d = dispatcher(db, PLAIN)
    first = step(d)
    assert (first.sent, first.retried) == (20, 5) and list(d.paused) == [f"robot:{copies(db)[0].address.split(':')[1]}"]
    assert all("45009" in r.error for r in copies(db) if r.status == "queued")
    wecom_gw.skew = 61.0
    step(d, NOON + timedelta(minutes=3))
    d.close()
    assert len(wecom_gw.received) == 25 and {r.status for r in copies(db)} == {"sent"}


def test_one_robot_past_its_rate_waits_alone_and_another_groups_robot_goes_on(db, wecom_gw):
    busy = robot(db, "wecom_robot", wecom_gw.url + "/cgi-bin/webhook/send?key=robot-key-1")
    resident(db, 25)
    d = dispatcher(db, PLAIN)
    assert (step(d).sent, d.paused.keys()) == (20, {f"robot:{busy}"})
    calm = robot(db, "wecom_robot", wecom_gw.url + "/cgi-bin/webhook/send?key=robot-key-2")
    resident(db, 3, phones=[f"1390000{i:04d}" for i in range(3)])
    later = step(d, NOON + timedelta(seconds=5))  # robot 1 still waits; robot 2 says the new ones (and robot 1's)
    d.close()
    by_robot = {a: sorted(r.status for r in copies(db) if r.address == a) for a in (f"robot:{busy}", f"robot:{calm}")}
    assert later.sent == 3 and by_robot[f"robot:{calm}"] == ["sent"] * 3
    assert by_robot[f"robot:{busy}"].count("queued") == 8


def test_a_key_that_is_no_robots_fails_at_once(db, wecom_gw):
    robot(db, "wecom_robot", wecom_gw.url + "/cgi-bin/webhook/send?key=deleted")
    resident(db, 1)
    d = dispatcher(db, PLAIN)
    step(d)
    d.close()
    row = copies(db)[0]
    assert (row.status, row.attempts) == ("failed", 1) and "93000" in row.error


def test_a_dingtalk_group_hears_signed_and_unsigned(db, ding_gw):
    robot(db, "dingtalk", ding_gw.url + "/robot/send?access_token=ding-token-1", secret="SECtest-secret")
    robot(db, "dingtalk", ding_gw.url + "/robot/send?access_token=ding-token-2")  # keyword/IP security: no 加签
    resident(db, 1)
    d = dispatcher(db, PLAIN)
    done = step(d)
    d.close()
    assert done.sent == 2 and len(ding_gw.received) == 2
    signed = [r for r in ding_gw.received if r.query["access_token"] == ["ding-token-1"]][0]
    assert signed.query["timestamp"] and signed.query["sign"]
    assert "已受理" in signed.body["text"]["content"]


@pytest.mark.parametrize(("secret", "skew", "said"), [("SECwrong", 0.0, "sign not match"),
                                                      ("SECtest-secret", 2 * 3600.0, "invalid timestamp")])
def test_dingtalk_refuses_a_wrong_sign_or_an_old_timestamp(db, ding_gw, secret, skew, said):
    ding_gw.skew = skew  # DingTalk's clock two hours from ours
    robot(db, "dingtalk", ding_gw.url + "/robot/send?access_token=ding-token-1", secret=secret)
    resident(db, 1)
    d = dispatcher(db, PLAIN)
    step(d)
    d.close()
    row = copies(db)[0]
    assert row.status == "failed" and "310000" in row.error and said in row.error and "加签" in row.error


def test_a_dingtalk_robot_sent_too_fast_is_quiet_ten_minutes_and_then_says_it_all(db, ding_gw):
    robot(db, "dingtalk", ding_gw.url + "/robot/send?access_token=ding-token-2")
    resident(db, 22)
    d = dispatcher(db, PLAIN, backoff_seconds=30.0)
    first = step(d)
    assert (first.sent, first.retried) == (20, 2)
    assert all("130101" in r.error for r in copies(db) if r.status == "queued")
    ding_gw.skew = 120.0  # past the minute, but DingTalk keeps the robot quiet ten minutes
    step(d, NOON + timedelta(minutes=5))
    assert len(ding_gw.received) == 20
    ding_gw.skew = 700.0
    step(d, NOON + timedelta(hours=1))
    d.close()
    assert len(ding_gw.received) == 22 and {r.status for r in copies(db)} == {"sent"}

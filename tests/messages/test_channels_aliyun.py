"""SMS through Aliyun's SendSms against a fake dysmsapi that checks the signature as Aliyun does, on both
backends: what a resident's phone receives, and what each of Aliyun's answers makes of a copy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gridops.messages.channels.aliyun_sms import AliyunSms, signature
from gridops.messages.channels.base import Outgoing
from tests.messages.fakes import aliyun_sms
from tests.messages.world import NOON, copies, dispatcher, resident, step

TEMPLATES = "accepted=SMS_1001, resolved=SMS_1002"


@pytest.fixture
def gateway():
    gw = aliyun_sms()
    yield gw
    gw.close()


def settings(gw, **changes) -> dict:
    return {"SMS_GATEWAY": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAItest", "ALIYUN_ACCESS_KEY_SECRET": "aliyun-secret",
            "ALIYUN_SMS_SIGN_NAME": "网格通", "SMS_TEMPLATES": TEMPLATES, "ALIYUN_SMS_URL": gw.url, **changes}


def test_the_signature_is_the_one_aliyun_documents():
    # the worked example of Aliyun's "signature mechanism" page (DescribeRegions, secret "testsecret")
    params = {"Timestamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid", "Action": "DescribeRegions",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "Version": "2014-05-26", "SignatureVersion": "1.0"}
    assert signature(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_a_resident_hears_through_the_registered_template_and_every_copy_says_sent(db, gateway):
    resident(db, 2)
    d = dispatcher(db, settings(gateway))
    done = step(d)
    d.close()
    assert (done.fanned, done.sent) == (2, 2)
    got = sorted(gateway.received, key=lambda r: r.body["PhoneNumbers"])
    first = got[0].body
    assert (first["PhoneNumbers"], first["SignName"], first["TemplateCode"]) == ("13800000000", "网格通", "SMS_1001")
    fields = json.loads(first["TemplateParam"])
    assert fields["category"] == "楼道堆物" and fields["incident"] == "100" and fields["link"] == "https://grid.example.gov.cn/f/0"
    rows = copies(db)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_id and r.provider_id.endswith("^0") for r in rows)
    assert sorted(r.body["OutId"] for r in got) == sorted(r.key for r in rows)  # OutId is the delivery key


@pytest.mark.parametrize(("change", "code"), [({"ALIYUN_ACCESS_KEY_SECRET": "not-the-secret"}, "SignatureDoesNotMatch"),
                                              ({"ALIYUN_ACCESS_KEY_ID": "LTAIunknown"}, "InvalidAccessKeyId.NotFound"),
                                              ({"ALIYUN_SMS_SIGN_NAME": "没有的签名"}, "isv.SMS_SIGNATURE_ILLEGAL"),
                                              ({"SMS_TEMPLATES": "accepted=SMS_9999"}, "isv.SMS_TEMPLATE_ILLEGAL")])
def test_what_aliyun_refuses_fails_at_once_with_its_code(db, gateway, change, code):
    resident(db, 1)
    d = dispatcher(db, settings(gateway, **change))
    done = step(d)
    d.close()
    assert done.failed == 1 and not gateway.received
    row = copies(db)[0]
    assert (row.status, row.attempts) == ("failed", 1) and code in row.error


def test_a_number_aliyun_cannot_send_to_fails(db, gateway):
    resident(db, 1, phones=["0288888888"])
    d = dispatcher(db, settings(gateway))
    step(d)
    d.close()
    row = copies(db)[0]
    assert row.status == "failed" and "isv.MOBILE_NUMBER_ILLEGAL" in row.error


def test_a_kind_without_a_template_code_fails_naming_the_setting(db, gateway):
    resident(db, 1, kind="reopened")
    d = dispatcher(db, settings(gateway))
    step(d)
    d.close()
    row = copies(db)[0]
    assert row.status == "failed" and "SMS_TEMPLATES" in row.error and "reopened" in row.error
    assert not gateway.received


def test_a_number_over_its_limit_waits_while_the_other_numbers_go(db):
    gw = aliyun_sms(per_number_per_minute=1)
    try:
        resident(db, 3, phones=["13800000000", "13800000000", "13900000000"])
        d = dispatcher(db, settings(gw))
        first = step(d)
        assert (first.sent, first.retried) == (2, 1)
        waiting = [r for r in copies(db) if r.status == "queued"]
        assert len(waiting) == 1 and "isv.BUSINESS_LIMIT_CONTROL" in waiting[0].error
        assert waiting[0].next_at >= NOON + timedelta(seconds=60)  # as long as Aliyun's minute
        gw.skew = 61.0
        again = step(d, NOON + timedelta(minutes=3))
        d.close()
        assert again.sent == 1 and {r.status for r in copies(db)} == {"sent"}
        assert len(gw.received) == 3
    finally:
        gw.close()


def test_an_account_over_its_rate_is_throttled_and_everything_goes_later(db):
    gw = aliyun_sms(per_second=1)
    try:
        resident(db, 3)
        d = dispatcher(db, settings(gw))
        first = step(d)
        assert (first.sent, first.retried) == (1, 2)
        assert all("Throttling.User" in r.error for r in copies(db) if r.status == "queued")
        assert "sms" in d.paused  # the channel waits as a whole
        for k in range(1, 6):  # one a second, as the account allows: a pass takes what it is let
            gw.skew = 5.0 * k
            step(d, NOON + timedelta(minutes=2 * k))
        d.close()
        assert len(gw.received) == 3 and gw.repeats == 0
        assert {r.status for r in copies(db)} == {"sent"}
    finally:
        gw.close()


def test_aliyun_keeps_a_repeated_out_id_so_the_channel_is_not_keyed(gateway):
    sms = AliyunSms("LTAItest", "aliyun-secret", "网格通", templates={"accepted": "SMS_1001"}, url=gateway.url)
    again = Outgoing(key="gridops-1-sms", address="13800000000", title="已受理", body="…", kind="accepted",
                     data={"incident": 1})
    assert sms.send(again).status == "sent" and sms.send(again).status == "sent"
    assert len(gateway.received) == 2 and gateway.repeats == 1 and sms.keyed is False

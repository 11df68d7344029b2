"""Which channels there are: built from the settings, absent when theirs are missing, rebuilt by a running
dispatcher when an admin changes a setting on the page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gridops.core.config import DEFAULTS, load_config
from gridops.core.db import Database
from gridops.core.models import MessageSetting
from gridops.messages import channels
from gridops.messages.settings import KEYS, SECRET_KEYS
from tests.messages.fakes import http_sms
from tests.messages.world import NOON, copies, dispatcher, resident, step

FULL = {"SMS_GATEWAY": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAI", "ALIYUN_ACCESS_KEY_SECRET": "s", "ALIYUN_SMS_SIGN_NAME": "网格通",
        "WECOM_CORP_ID": "ww", "WECOM_SECRET": "s", "WECOM_AGENT_ID": "1000002",
        "SMTP_HOST": "mail.example.gov.cn", "SMTP_FROM": "gridops@example.gov.cn"}


def test_a_fresh_deployment_has_only_the_robot_channels():
    assert set(channels.build(load_config(environ={}))) == {"wecom_robot", "dingtalk"}
    assert channels.build({**load_config(environ={}), "ROBOTS": "off"}) == {}


def test_every_channel_is_built_from_its_settings():
    assert set(channels.build(FULL)) == {"sms", "wecom", "email", "wecom_robot", "dingtalk"}


@pytest.mark.parametrize("missing", [{"ALIYUN_SMS_SIGN_NAME": ""}, {"ALIYUN_ACCESS_KEY_SECRET": ""}, {"SMS_GATEWAY": ""}])
def test_sms_is_absent_when_a_setting_is_missing(missing):
    assert "sms" not in channels.build({**FULL, **missing}) and "wecom" in channels.build({**FULL, **missing})


@pytest.mark.parametrize("missing", [{"WECOM_SECRET": ""}, {"WECOM_CORP_ID": None}, {"WECOM_AGENT_ID": "not-a-number"}])
def test_wecom_is_absent_when_a_setting_is_missing(missing):
    assert "wecom" not in channels.build({**FULL, **missing})


@pytest.mark.parametrize("missing", [{"SMTP_FROM": ""}, {"SMTP_HOST": ""}, {"SMTP_SECURITY": "tls-please"}])
def test_email_is_absent_when_a_setting_is_missing_or_wrong(missing):
    assert "email" not in channels.build({**FULL, **missing})


def test_the_admin_page_may_set_every_channel_setting_and_masks_the_secrets():
    read = [k for k in DEFAULTS if k.split("_")[0] in {"SMS", "ALIYUN", "WECOM", "SMTP"} or k in {"ROBOTS", "QUIET_HOURS"}]
    assert set(read) <= set(KEYS)
    assert {"ALIYUN_ACCESS_KEY_SECRET", "WECOM_SECRET", "SMTP_PASSWORD", "SMS_TOKEN"} <= SECRET_KEYS


def _set(db: Database, **values: str) -> None:
    with db.session() as s:
        for key, value in values.items():
            row = s.get(MessageSetting, key) or MessageSetting(key=key, value=value, updated_at=NOON)
            row.value = value
            s.add(row)


def test_a_running_dispatcher_takes_up_a_setting_changed_on_the_page(db):
    one, two = http_sms(), http_sms()
    try:
        d = dispatcher(db, {"ROBOTS": False})
        step(d)
        assert "sms" not in d.channels
        _set(db, SMS_GATEWAY="http", SMS_URL=one.url + "/send")
        resident(db, 1, at=NOON + timedelta(seconds=1))
        step(d, NOON + timedelta(seconds=1))
        assert "sms" in d.channels and len(one.received) == 1
        _set(db, SMS_URL=two.url + "/send")  # the admin moves to another gateway
        resident(db, 1, phones=["13900000000"], at=NOON + timedelta(seconds=2))
        step(d, NOON + timedelta(seconds=2))
        d.close()
        assert len(one.received) == 1 and [r.body["to"] for r in two.received] == ["13900000000"]
        assert {r.status for r in copies(db)} == {"sent"}
    finally:
        one.close()
        two.close()

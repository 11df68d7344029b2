"""The channels this city has configured, built from its settings (the environment, then the admin page's).

A channel with no setting is simply not there: its copies are not made, and a person who chose only it is
reached in the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gridops.messages.channels.aliyun_sms import API_URL as ALIYUN_URL
from gridops.messages.channels.aliyun_sms import AliyunSms
from gridops.messages.channels.base import Channel
from gridops.messages.channels.email import SECURITY, Email
from gridops.messages.channels.robots import DingTalk, WeComRobot
from gridops.messages.channels.sms_http import HttpSms
from gridops.messages.channels.wecom import API_URL as WECOM_URL
from gridops.messages.channels.wecom import WeCom

Settings = Mapping[str, Any]


def _pairs(raw: str) -> dict[str, str]:
    """"assigned=SMS_1, resolved=SMS_2" → {"assigned": "SMS_1", "resolved": "SMS_2"}."""
    pairs = (part.split("=", 1) for part in str(raw or "").replace(";", ",").split(",") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}


def _sms(s: Settings) -> Channel | None:
    if s.get("SMS_GATEWAY") == "http" and s.get("SMS_URL"):
        return HttpSms(str(s["SMS_URL"]), token=str(s.get("SMS_TOKEN") or ""), form=_flag(s.get("SMS_FORM")),
                       templates=_pairs(s.get("SMS_TEMPLATES", "")))
    if s.get("SMS_GATEWAY") == "aliyun" and s.get("ALIYUN_ACCESS_KEY_ID") and s.get("ALIYUN_ACCESS_KEY_SECRET") \
            and s.get("ALIYUN_SMS_SIGN_NAME"):
        return AliyunSms(str(s["ALIYUN_ACCESS_KEY_ID"]), str(s["ALIYUN_ACCESS_KEY_SECRET"]), str(s["ALIYUN_SMS_SIGN_NAME"]),
                         templates=_pairs(s.get("SMS_TEMPLATES", "")), url=str(s.get("ALIYUN_SMS_URL") or ALIYUN_URL))
    return None


def _wecom(s: Settings) -> Channel | None:
    agent = str(s.get("WECOM_AGENT_ID") or "").strip()
    if s.get("WECOM_CORP_ID") and s.get("WECOM_SECRET") and agent.isdigit():
        return WeCom(str(s["WECOM_CORP_ID"]), str(s["WECOM_SECRET"]), int(agent), url=str(s.get("WECOM_API_URL") or WECOM_URL),
                     duplicate_seconds=_int(s.get("WECOM_DUPLICATE_SECONDS"), 1800))
    return None


def _email(s: Settings) -> Channel | None:
    security = str(s.get("SMTP_SECURITY") or "starttls").strip().lower()
    if s.get("SMTP_HOST") and s.get("SMTP_FROM") and security in SECURITY:
        return Email(str(s["SMTP_HOST"]), str(s["SMTP_FROM"]), port=_int(s.get("SMTP_PORT"), 0),
                     user=str(s.get("SMTP_USER") or ""), password=str(s.get("SMTP_PASSWORD") or ""), security=security)
    return None


def _robots(s: Settings) -> list[Channel]:
    """A robot row is its own configuration: these channels are there unless switched off."""
    return [] if str(s.get("ROBOTS", True)).strip().lower() in {"0", "false", "no", "off"} else [WeComRobot(), DingTalk()]


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


BUILDERS: list[Callable[[Settings], Channel | list[Channel] | None]] = [_sms, _wecom, _email, _robots]


def build(settings: Settings) -> dict[str, Channel]:
    """Every configured channel by name."""
    channels: dict[str, Channel] = {}
    for builder in BUILDERS:
        built = builder(settings)
        for channel in built if isinstance(built, list) else [built] if built is not None else []:
            channels[channel.name] = channel
    return channels

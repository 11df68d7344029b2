"""The channels this city has configured, built from its settings (the environment, then the admin page's).

A channel with no setting is simply not there: its copies are not made, and a person who chose only it is
reached in the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gridops.messages.channels.base import Channel
from gridops.messages.channels.sms_http import HttpSms

Settings = Mapping[str, Any]


def _pairs(raw: str) -> dict[str, str]:
    """"assigned=SMS_1, resolved=SMS_2" → {"assigned": "SMS_1", "resolved": "SMS_2"}."""
    pairs = (part.split("=", 1) for part in str(raw or "").replace(";", ",").split(",") if "=" in part)
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}


def _sms(s: Settings) -> Channel | None:
    if s.get("SMS_GATEWAY") == "http" and s.get("SMS_URL"):
        return HttpSms(str(s["SMS_URL"]), token=str(s.get("SMS_TOKEN") or ""), form=_flag(s.get("SMS_FORM")),
                       templates=_pairs(s.get("SMS_TEMPLATES", "")))
    return None


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


BUILDERS: list[Callable[[Settings], Channel | None]] = [_sms]


def build(settings: Settings) -> dict[str, Channel]:
    """Every configured channel by name."""
    channels: dict[str, Channel] = {}
    for builder in BUILDERS:
        channel = builder(settings)
        if channel is not None:
            channels[channel.name] = channel
    return channels

"""A person's own choices: where they are reached (phone, e-mail, 企业微信 userid), by which channels in which
order, when not (quiet hours), and in which language.

One row per person, read as the dispatcher reads it (gridops.messages.fanout._people): a user's own row, else,
for a user who stands for a worker, the worker's — so what a person sets here is what the next message obeys.
A new row is the worker's for a worker (their phone and their other sign-ins share it), else the user's.

Refusals are said in the reader's language (`lang`): the page that sent the form shows them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.errors import InvalidParameter
from gridops.core.models import AppUser, Contact, Worker
from gridops.messages import channels as registry
from gridops.messages.fanout import DEFAULT_ORDER, PERSONAL, _channels, _person, parse_quiet_hours
from gridops.messages.kinds import DEFAULT_LANG, LANGS
from gridops.messages.settings import effective

FIELDS = ("phone", "email", "wecom_user", "channels", "quiet_hours", "lang")
CHANNEL_NAMES = {"sms": ("SMS", "短信"), "wecom": ("WeCom", "企业微信"), "email": ("e-mail", "电子邮件")}
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{3,22}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_WECOM_USER = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")  # 企业微信 userid: letters, digits and _ - @ .

# what is refused, in each language: (English, 中文)
_SAID = {
    "channels_type": ("`channels` is a list of channel names in order of preference, or null for the default.",
                      "渠道应为按优先顺序排列的渠道名称列表；留空（null）则用默认渠道。"),
    "channels_unknown": ("{given!r} is not a channel this city has configured; choose from: {allowed}.",
                         "“{given}”不是本市已开通的消息渠道，可选：{allowed}。"),
    "channels_none": ("{given!r} is not a channel this city has configured: none is yet, so messages reach you in the app "
                      "only (send [] or null).",
                      "“{given}”不是本市已开通的消息渠道：本市尚未开通任何渠道，消息只在本系统内送达（请留空）。"),
    "channels_twice": ("{given!r} is named twice in `channels`.", "渠道“{given}”重复选择了。"),
    "quiet_hours": ("quiet hours are two times of day like 22:00-07:00 (\"\" for none, null for the city's), not {given!r}.",
                    "免打扰时段应为两个时刻，如 22:00-07:00（空字符串为不设，null 为沿用本市设置），而不是“{given}”。"),
    "quiet_same": ("quiet hours start and end at the same time ({given}); send \"\" for none.",
                   "免打扰时段的开始与结束时间相同（{given}）；如不需要免打扰请留空。"),
    "lang": ("the language is zh_Hans_CN (Chinese) or en (English), not {given!r}.",
             "语言只能是 zh_Hans_CN（中文）或 en（英文），而不是“{given}”。"),
    "phone": ("a phone number is digits (a leading +, spaces and dashes are fine), not {given!r}.",
              "手机号码应由数字组成（可带开头的 +、空格或短横线），而不是“{given}”。"),
    "email": ("{given!r} is not an e-mail address (name@example.gov.cn).", "“{given}”不是有效的电子邮箱地址（如 name@example.gov.cn）。"),
    "wecom_user": ("a WeCom userid is 1 to 64 letters, digits and _ - @ . (as the WeCom admin console shows it), not {given!r}.",
                   "企业微信账号（userid）应为 1 到 64 位字母、数字或 _ - @ .（见企业微信管理后台），而不是“{given}”。"),
    "text": ("`{field}` is text or null.", "“{field}”应为文字或留空。"),
}


@dataclass(frozen=True)
class Reader:
    """Whose messages and choices: a user, and the worker they stand for, if any."""

    user_id: int
    worker_id: int | None = None


def _say(key: str, lang: str, **fields: Any) -> str:
    english, chinese = _SAID[key]
    return (english if lang == "en" else chinese).format(**fields)


def _refuse(name: str, key: str, lang: str, **fields: Any) -> InvalidParameter:
    return InvalidParameter(name, _say(key, lang, **fields))


def configured(config: Mapping[str, Any], session: Session) -> list[str]:
    """The personal channels this city has configured (environment, then the admin page), in the default order."""
    built = registry.build(effective(config, session))
    return [c for c in DEFAULT_ORDER if c in built and c in PERSONAL]


def _rows(session: Session, reader: Reader) -> tuple[Contact | None, AppUser | None, Worker | None]:
    user = session.get(AppUser, reader.user_id)
    worker_id = reader.worker_id if reader.worker_id is not None else (user.worker_id if user else None)
    worker = session.get(Worker, worker_id) if worker_id is not None else None
    contact = session.scalar(select(Contact).where(Contact.user_id == reader.user_id))
    if contact is None and worker is not None:
        contact = session.scalar(select(Contact).where(Contact.worker_id == worker.id))
    return contact, user, worker


def language(session: Session, reader: Reader) -> str | None:
    """The language the person chose, if they chose one (the pages then read their messages in it): the one set
    for their messages, else their own (the pages' language switch, `app_user.language`)."""
    contact, user, _ = _rows(session, reader)
    if contact is not None and contact.lang:
        return contact.lang
    return user.language if user is not None and user.language else None


def read(session: Session, config: Mapping[str, Any], reader: Reader) -> dict[str, Any]:
    """The person's choices as they set them, what stands in for each one left unset, and the channels a
    message would take now — so the page can say "your SMS goes to 138…" before anything is sent."""
    contact, user, worker = _rows(session, reader)
    enabled = configured(config, session)
    own_phone = (user.phone if user and user.phone else None) or (worker.phone if worker else None)
    person = _person(contact, worker, own_phone)
    return {
        "phone": contact.phone if contact else None,
        "email": contact.email if contact else None,
        "wecom_user": contact.wecom_user if contact else None,
        "channels": list(contact.channels) if contact and contact.channels is not None else None,
        "quiet_hours": contact.quiet_hours if contact else None,
        "lang": contact.lang if contact else None,
        "defaults": {"phone": own_phone, "wecom_user": worker.code if worker else None,
                     "quiet_hours": str(effective(config, session).get("QUIET_HOURS") or ""), "lang": DEFAULT_LANG},
        "available_channels": enabled,
        "reached_by": [{"channel": c, "address": person.addresses[c]} for c in _channels(person, enabled)],
        "updated_at": contact.updated_at.isoformat() if contact else None,
    }


def change(session: Session, config: Mapping[str, Any], reader: Reader, changes: Mapping[str, Any], *, at: datetime,
           lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """Set the fields given (those left out stay as they are), each checked first: all are stored, or none."""
    enabled = configured(config, session)
    checked = {name: _check(name, changes[name], enabled, lang) for name in FIELDS if name in changes}
    contact, user, worker = _rows(session, reader)
    if contact is None:
        contact = Contact(worker_id=worker.id) if worker is not None else Contact(user_id=reader.user_id)
        session.add(contact)
    for name, value in checked.items():
        setattr(contact, name, value)
    contact.updated_at = at
    session.flush()
    return read(session, config, reader)


def _check(name: str, value: Any, enabled: Collection[str], lang: str) -> Any:
    if name == "channels":
        return _check_channels(value, enabled, lang)
    if value is not None and not isinstance(value, str):
        raise _refuse(name, "text", lang, field=name)
    text = (value or "").strip()
    if name == "quiet_hours":
        if value is None:
            return None  # the city's
        ends = [part.strip() for part in text.split("-", 1)]
        if len(ends) == 2 and ends[0] and ends[0] == ends[1]:
            raise _refuse(name, "quiet_same", lang, given=text)
        try:
            window = parse_quiet_hours(text)
        except (InvalidParameter, ValueError):
            raise _refuse(name, "quiet_hours", lang, given=text) from None
        if window is None:
            return ""
        return f"{window[0]:%H:%M}-{window[1]:%H:%M}"
    if not text:
        return None
    if name == "lang":
        if text not in LANGS:
            raise _refuse(name, "lang", lang, given=text)
        return text
    if name == "phone":
        if not _PHONE.match(text) or len(re.sub(r"\D", "", text)) < 5:
            raise _refuse(name, "phone", lang, given=text)
        return re.sub(r"[ \-]", "", text)
    if name == "email":
        if len(text) > 256 or not _EMAIL.match(text):
            raise _refuse(name, "email", lang, given=text)
        return text
    if not _WECOM_USER.match(text):
        raise _refuse(name, "wecom_user", lang, given=text)
    return text


def _check_channels(value: Any, enabled: Collection[str], lang: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise _refuse("channels", "channels_type", lang)
    chosen: list[str] = []
    for raw in value:
        name = raw.strip()
        if name not in enabled:
            if not enabled:
                raise _refuse("channels", "channels_none", lang, given=name)
            allowed = ", ".join(f"{c} ({CHANNEL_NAMES[c][0]})" if lang == "en" else f"{c}（{CHANNEL_NAMES[c][1]}）"
                                for c in enabled)
            raise InvalidParameter("channels", _say("channels_unknown", lang, given=name, allowed=allowed), allowed=list(enabled))
        if name in chosen:
            raise _refuse("channels", "channels_twice", lang, given=name)
        chosen.append(name)
    return chosen

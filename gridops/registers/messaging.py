"""How messages are sent, kept like the other reference data: the wordings, the channels' settings and the group
robots, each change made by someone allowed to (KEEP_MESSAGES) and written to the audit trail in the same
transaction; and the command centre's hand on deliveries — a failed copy sent again (audited too) and a test
message to check a channel.

The reading, checking and rendering is gridops.messages' (wording, configure, deliveries); this module adds the
role policy and the audit trail, which live above that room. `who` None is the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_MESSAGES, READ_MESSAGES, RESEND, Principal, require_permission
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import Area, Delivery, Incident, MessageSetting, MessageTemplate, Notification, Robot
from gridops.core.words import Say
from gridops.messages import channels as registry
from gridops.messages import configure, deliveries, wording
from gridops.messages.fanout import ROBOTS
from gridops.messages.kinds import DEFAULT_LANG, KINDS
from gridops.messages.settings import effective
from gridops.messages.templates import Wording
from gridops.registers.audit import label_of, record_change

KIND_TEMPLATE = "message_template"
KIND_SETTING = "message_setting"
KIND_ROBOT = "robot"
KIND_DELIVERY = "delivery"
SECRET_SHOWN = "••••••"  # what the trail keeps of a secret that was set (never the secret)


def _may(who: Principal | None, permission: str) -> None:
    if who is not None:
        require_permission(who, permission)


# --- wordings ---------------------------------------------------------------------------------------------


def templates(session: Session, who: Principal | None) -> list[dict[str, Any]]:
    _may(who, READ_MESSAGES)
    return wording.catalogue(session)


def set_template(session: Session, who: Principal | None, kind: str, lang: str, text: str, *,
                 note: str | None = None) -> dict[str, Any]:
    """An admin's wording of a kind in a language, used from the next message made (a copy already made keeps its words)."""
    _may(who, KEEP_MESSAGES)
    wording.known(kind, lang)
    text = wording.checked(text)
    row = session.get(MessageTemplate, (kind, lang))
    before = {"text": row.text} if row is not None else None
    now = clock.now()
    if row is None:
        row = MessageTemplate(kind=kind, lang=lang, text=text, updated_at=now, updated_by=label_of(who))
        session.add(row)
    elif row.text != text:
        row.text, row.updated_at, row.updated_by = text, now, label_of(who)
    if before is None or before["text"] != text:
        record_change(session, who, KIND_TEMPLATE, f"{kind}/{lang}", "set", before, {"text": text}, note=note, at=now)
    session.flush()
    return wording.template_view(kind, lang, row)


def reset_template(session: Session, who: Principal | None, kind: str, lang: str, *, note: str | None = None) -> dict[str, Any]:
    """Back to the built-in wording (nothing to do when it already is)."""
    _may(who, KEEP_MESSAGES)
    wording.known(kind, lang)
    row = session.get(MessageTemplate, (kind, lang))
    if row is not None:
        record_change(session, who, KIND_TEMPLATE, f"{kind}/{lang}", "clear", {"text": row.text}, None, note=note)
        session.delete(row)
        session.flush()
    return wording.template_view(kind, lang, None)


# --- channel settings -------------------------------------------------------------------------------------


def settings(session: Session, who: Principal | None, config: Mapping[str, Any]) -> dict[str, Any]:
    _may(who, READ_MESSAGES)
    built = registry.build(effective(config, session))
    return {"settings": configure.listing(config, session), "channels": sorted(built)}


def change_settings(session: Session, who: Principal | None, config: Mapping[str, Any], values: Mapping[str, Any], *,
                    note: str | None = None) -> dict[str, Any]:
    """Set keys (a value) or unset them (null: back to the environment's); all checked before any is stored, so a
    bad value leaves every setting as it was. The dispatchers read the settings each pass: every process follows."""
    _may(who, KEEP_MESSAGES)
    if not values:
        raise InvalidParameter("values", Say("name at least one setting to set (a value) or unset (null)."))
    wanted = {key: (None if value is None else configure.checked(key, value)) for key, value in values.items()}
    for key in wanted:
        if key not in configure.KEYS:
            raise InvalidParameter(key, Say("%(key)s is not a setting of the messages.", key=key))
    now = clock.now()
    for key, value in wanted.items():
        row = session.get(MessageSetting, key)
        before = None if row is None else {"value": _audited(key, row.value)}
        if value is None:
            if row is not None:
                session.delete(row)
                record_change(session, who, KIND_SETTING, key, "clear", before, None, note=note, at=now)
            continue
        if row is not None and row.value == value:
            continue
        if row is None:
            session.add(MessageSetting(key=key, value=value, updated_at=now, updated_by=label_of(who)))
        else:
            row.value, row.updated_at, row.updated_by = value, now, label_of(who)
        # a secret changed shows as changed (before and after both masked would read as no change)
        after = {"value": _audited(key, value) + (" (new)" if configure.is_secret(key) and row is not None else "")}
        record_change(session, who, KIND_SETTING, key, "set", before, after, note=note, at=now)
    session.flush()
    return settings(session, who, config)


def _audited(key: str, value: str) -> str:
    return (SECRET_SHOWN if value else "") if configure.is_secret(key) else value


# --- a test message ---------------------------------------------------------------------------------------


def send_test(session: Session, who: Principal | None, config: Mapping[str, Any], *, channel: str | None = None,
              address: str | None = None, robot: int | None = None) -> dict[str, Any]:
    """A test message through the outbox, to the address the admin gives on a configured channel (or to a robot):
    the dispatcher sends it like any other, so its status says whether the channel works."""
    _may(who, KEEP_MESSAGES)
    configured = set(registry.build(effective(config, session)))
    now = clock.now()
    robots: dict[int, Robot] = {}
    if robot is not None:
        r = session.get(Robot, robot)
        if r is None:
            raise NotFound(Say("no robot %(robot)s.", robot=robot))
        channel, address, robots = r.channel, f"robot:{r.id}", {r.id: r}
    else:
        address = (address or "").strip()
        if not channel or channel in ROBOTS or channel not in deliveries.CHANNELS:
            raise InvalidParameter("channel", Say("a test goes to sms, wecom or email (give `robot` for a group robot)."))
        if not address:
            raise InvalidParameter("address", Say("give the %(channel)s address to send the test to (a phone, a WeCom "
                                                  "userid, an e-mail).",
                                                  channel=channel))
        if len(address) > 256:
            raise InvalidParameter("address", Say("the address is longer than 256 characters."))
    if channel not in configured:
        raise Conflict(Say("the %(channel)s channel is not configured, so nothing would send the test; set its settings "
                           "first (configured now: %(value)s).",
                           channel=channel, value=', '.join(sorted(configured)) or 'none'))
    local = now.astimezone(ZoneInfo(str(config.get("TIMEZONE") or "Asia/Shanghai")))
    data = {"channel": channel, "sent_by": who.name if who else "gridops", "at": local.strftime("%m月%d日 %H:%M")}
    note = Notification(user_id=who.user_id if who else None, kind="test", message=Wording(session).render("test", DEFAULT_LANG, data),
                        data=data, urgent=True, created_at=now, fanned_at=now)  # fanned: its one copy is made here
    session.add(note)
    session.flush()
    copy = Delivery(notification_id=note.id, channel=channel, address=address, key=f"gridops-{note.id}-test",
                    title=KINDS["test"].name, body=note.message, status="queued", attempts=0, next_at=now, held=False,
                    created_at=now)
    session.add(copy)
    session.flush()
    return deliveries.delivery_view(copy, robots)


# --- deliveries -------------------------------------------------------------------------------------------


def retry(session: Session, who: Principal | None, delivery_id: int, *, note: str | None = None) -> dict[str, Any]:
    """A failed copy queued again (audited: who sent what again, and what had gone wrong)."""
    _may(who, RESEND)
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(Say("no delivery %(delivery_id)s.", delivery_id=delivery_id))
    before, after = deliveries.requeue(d, clock.now())
    record_change(session, who, KIND_DELIVERY, str(d.id), "retry", before, after, note=note)
    session.flush()
    return deliveries.delivery_view(d)


def retry_failed(session: Session, who: Principal | None, channel: str | None = None) -> list[int]:
    """Every failed copy (of a channel) queued again, each audited."""
    _may(who, RESEND)
    now = clock.now()
    ids = []
    for d in deliveries.failed(session, channel):
        before, after = deliveries.requeue(d, now)
        record_change(session, who, KIND_DELIVERY, str(d.id), "retry", before, after, at=now)
        ids.append(d.id)
    session.flush()
    return ids


# --- group robots -----------------------------------------------------------------------------------------


def masked_webhook(url: str) -> str:
    """A robot's webhook as it may be shown: its host and path, each query value (the key, the access token) cut
    to its last four characters — enough to tell two robots apart, not to post to one."""
    parts = urlsplit(url)
    query = "&".join(f"{quote(k)}=…{quote(v[-4:]) if len(v) > 4 else ''}" for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def robot_view(r: Robot) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "channel": r.channel, "webhook": masked_webhook(r.webhook), "has_secret": bool(r.secret),
            "area_code": r.area_code, "kinds": list(r.kinds or []), "active": bool(r.active), "created_at": r.created_at.isoformat()}


def _facts(r: Robot) -> dict[str, Any]:
    return {"name": r.name, "channel": r.channel, "webhook": masked_webhook(r.webhook), "secret": SECRET_SHOWN if r.secret else "",
            "area_code": r.area_code, "kinds": list(r.kinds or []), "active": bool(r.active)}


def robots(session: Session, who: Principal | None) -> list[dict[str, Any]]:
    _may(who, READ_MESSAGES)
    return [robot_view(r) for r in session.scalars(select(Robot).order_by(Robot.id))]


def _check_robot(session: Session, fields: dict[str, Any]) -> None:
    if "name" in fields and not str(fields["name"] or "").strip():
        raise InvalidParameter("name", Say("a robot has a name (the group it posts to, e.g. 幸福里社区网格群)."))
    if "channel" in fields and fields["channel"] not in ROBOTS:
        raise InvalidParameter("channel", Say("a robot's channel is one of %(value)s, not %(fields)r.",
                                              value=', '.join(sorted(ROBOTS)), fields=fields['channel']))
    if "webhook" in fields:
        parts = urlsplit(str(fields["webhook"] or ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidParameter("webhook", Say("the webhook is the robot's http(s) address, with its key or access_token."))
    if fields.get("area_code"):
        if session.scalar(select(Area.id).where(Area.code == fields["area_code"]).limit(1)) is None:
            raise InvalidParameter("area_code", Say("no area %(fields)r; give an area's code, or none for the whole city.",
                                                    fields=fields['area_code']))
    if "kinds" in fields:
        unknown = [k for k in fields["kinds"] or [] if k not in KINDS]
        if unknown:
            raise InvalidParameter("kinds", Say("no kind of message %(value)s; kinds: %(kinds)s.",
                                                value=', '.join(map(repr, unknown)), kinds=', '.join(KINDS)))
        if not fields["kinds"]:
            raise InvalidParameter("kinds", Say("a robot posts at least one kind of message (e.g. supervised, escalated)."))


def create_robot(session: Session, who: Principal | None, *, name: str, channel: str, webhook: str, secret: str | None = None,
                 area_code: str | None = None, kinds: list[str], active: bool = True, note: str | None = None) -> dict[str, Any]:
    _may(who, KEEP_MESSAGES)
    fields = {"name": name, "channel": channel, "webhook": webhook, "area_code": area_code or None, "kinds": kinds}
    _check_robot(session, fields)
    r = Robot(name=name.strip(), channel=channel, webhook=webhook.strip(), secret=secret or None, area_code=area_code or None,
              kinds=list(dict.fromkeys(kinds)), active=active, created_at=clock.now())
    session.add(r)
    session.flush()
    record_change(session, who, KIND_ROBOT, str(r.id), "create", None, _facts(r), note=note)
    return robot_view(r)


def change_robot(session: Session, who: Principal | None, robot_id: int, changes: Mapping[str, Any], *,
                 note: str | None = None) -> dict[str, Any]:
    """Change what is given; `secret` null or "" removes it, absent keeps it (it is never read back to be resent)."""
    _may(who, KEEP_MESSAGES)
    r = session.get(Robot, robot_id)
    if r is None:
        raise NotFound(Say("no robot %(robot_id)s.", robot_id=robot_id))
    fields = dict(changes)
    _check_robot(session, fields)
    before = _facts(r)
    for key, value in fields.items():
        if key == "secret":
            r.secret = value or None
        elif key == "kinds":
            r.kinds = list(dict.fromkeys(value))
        elif key in ("name", "webhook"):
            setattr(r, key, str(value).strip())
        elif key == "area_code":
            r.area_code = value or None
        elif key in ("channel", "active"):
            setattr(r, key, value)
    after = _facts(r)
    if "secret" in fields and fields["secret"] and before["secret"]:
        after["secret"] = SECRET_SHOWN + " (new)"
    if after != before:
        record_change(session, who, KIND_ROBOT, str(r.id), "update", before, after, note=note)
    session.flush()
    return robot_view(r)


def delete_robot(session: Session, who: Principal | None, robot_id: int, *, note: str | None = None) -> None:
    """A robot removed; its copies not yet sent fail saying so (the dispatcher finds no webhook)."""
    _may(who, KEEP_MESSAGES)
    r = session.get(Robot, robot_id)
    if r is None:
        raise NotFound(Say("no robot %(robot_id)s.", robot_id=robot_id))
    record_change(session, who, KIND_ROBOT, str(r.id), "remove", _facts(r), None, note=note)
    session.delete(r)
    session.flush()


def incident_messages(session: Session, who: Principal | None, incident_id: int) -> list[dict[str, Any]]:
    _may(who, READ_MESSAGES)
    if session.get(Incident, incident_id) is None:
        raise NotFound(Say("no incident %(incident_id)s.", incident_id=incident_id))
    return deliveries.of_incident(session, incident_id)


def message_list(session: Session, who: Principal | None, q: deliveries.MessageQuery) -> dict[str, Any]:
    _may(who, READ_MESSAGES)
    return deliveries.messages(session, q)

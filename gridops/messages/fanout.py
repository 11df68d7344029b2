"""From a notification to its copies: the channels its person chose (or the first one that reaches them),
in their language, held to the end of their quiet hours unless urgent, and the group robots set for its kind.

Each batch is one transaction that also marks its notifications fanned out, so a dispatcher killed half-way
leaves them to the next; on PostGIS two dispatchers take different rows (SKIP LOCKED).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridops.core.errors import InvalidParameter
from gridops.core.models import AppUser, Contact, Delivery, Notification, Robot, Worker
from gridops.core.words import Say
from gridops.messages.kinds import DEFAULT_LANG, title
from gridops.messages.templates import Wording

# the first of these that is configured and reaches the person, for one who chose none
DEFAULT_ORDER = ("wecom", "sms", "email")
PERSONAL = frozenset(DEFAULT_ORDER)
ROBOTS = frozenset({"wecom_robot", "dingtalk"})


@dataclass(frozen=True)
class Person:
    lang: str
    channels: tuple[str, ...] | None  # chosen; none: the default
    quiet_hours: str | None  # none: the city's
    addresses: Mapping[str, str]


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """"22:00-07:00" → (22:00, 07:00); "" or "off" → none. Refuses what is not two times of day."""
    spec = (spec or "").strip()
    if not spec or spec.lower() in ("off", "none"):
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in spec.split("-", 1))
    except ValueError:
        raise InvalidParameter("quiet_hours", Say("quiet hours are two times like 22:00-07:00, not %(spec)r.", spec=spec)) from None
    if start == end:
        raise InvalidParameter("quiet_hours", Say("quiet hours start and end at the same time; leave them empty for none."))
    return start, end


def quiet_until(now: datetime, spec: str | None, tz: ZoneInfo) -> datetime | None:
    """When the quiet hours around `now` end, if `now` is in them."""
    window = parse_quiet_hours(spec or "")
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)


def fan_out(session: Session, settings: Mapping[str, Any], enabled: Collection[str], now: datetime, tz: ZoneInfo,
            limit: int = 200) -> int:
    """Make the copies of up to `limit` notifications not yet fanned out; how many notifications were."""
    waiting = (select(Notification.id).where(Notification.fanned_at.is_(None)).order_by(Notification.id).limit(limit)
               .with_for_update(skip_locked=True))
    # taken by one write, so on SQLite the transaction holds the write lock from its first statement
    ids = list(session.scalars(update(Notification).where(Notification.id.in_(waiting.scalar_subquery()))
                               .values(fanned_at=now).returning(Notification.id)))
    if not ids:
        return 0
    batch = list(session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))
    people = _people(session, batch)
    robots = [r for r in session.scalars(select(Robot).where(Robot.active.is_(True))) if r.channel in enabled]
    wording = Wording(session)
    city_quiet = str(settings.get("QUIET_HOURS") or "")
    rows: list[Delivery] = []
    for note in batch:
        who = _who(note)
        person = (people.get(who) if who else None) or Person(DEFAULT_LANG, None, None, {"sms": note.phone} if note.phone else {})
        data = dict(note.data or {})
        held = None if note.urgent else quiet_until(now, person.quiet_hours if person.quiet_hours is not None
                                                    else city_quiet, tz)
        for channel in _channels(person, enabled):
            rows.append(_copy(note, channel, person.addresses[channel], f"gridops-{note.id}-{channel}",
                              title(note.kind, person.lang), wording.render(note.kind, person.lang, data), now, held))
        ground = set(data.get("ground") or ())
        for robot in robots:
            if note.kind in (robot.kinds or ()) and (robot.area_code is None or robot.area_code in ground):
                # a group hears once per message whoever it was for: the key is the incident's step, not the person
                rows.append(_copy(note, robot.channel, f"robot:{robot.id}", f"gridops-{note.id}-r{robot.id}",
                                  title(note.kind, DEFAULT_LANG), wording.render(note.kind, DEFAULT_LANG, data), now,
                                  None))
    session.add_all(rows)
    return len(batch)


def fall_back(session: Session, failed: Delivery, enabled: Collection[str], now: datetime) -> Delivery | None:
    """A person who chose no channel is tried on the next one that reaches them when a copy fails for good
    (not a WeCom member after all, a wrong e-mail); one who chose their channels gets what they chose."""
    if failed.channel not in PERSONAL:
        return None
    note = session.get(Notification, failed.notification_id)
    if note is None:
        return None
    who = _who(note)
    person = _people(session, [note]).get(who) if who else None
    if person is None or person.channels is not None:
        return None
    tried = set(session.scalars(select(Delivery.channel).where(Delivery.notification_id == note.id)))
    untried = [c for c in DEFAULT_ORDER if c in enabled and person.addresses.get(c) and c not in tried]
    if not untried:
        return None
    channel = untried[0]
    copy = _copy(note, channel, person.addresses[channel], f"gridops-{note.id}-{channel}", failed.title,
                 Wording(session).render(note.kind, person.lang, dict(note.data or {})), now, None)
    session.add(copy)
    return copy


def _copy(note: Notification, channel: str, address: str, key: str, heading: str, body: str, now: datetime,
          held: datetime | None) -> Delivery:
    return Delivery(notification_id=note.id, channel=channel, address=address, key=key, title=heading, body=body,
                    status="queued", attempts=0, next_at=held or now, held=held is not None, created_at=now)


def _channels(person: Person, enabled: Collection[str]) -> list[str]:
    reachable = [c for c in DEFAULT_ORDER if c in enabled and person.addresses.get(c)]
    if person.channels is None:
        return reachable[:1]
    return [c for c in person.channels if c in reachable]


def _who(note: Notification) -> tuple[str, int] | None:
    if note.user_id is not None:
        return ("user", note.user_id)
    if note.worker_id is not None:
        return ("worker", note.worker_id)
    return None


def _people(session: Session, batch: Sequence[Notification]) -> dict[tuple[str, int], Person]:
    """Everyone the batch is for, in three queries whatever its size."""
    worker_ids = {n.worker_id for n in batch if n.worker_id is not None}
    user_ids = {n.user_id for n in batch if n.user_id is not None}
    users = {u.id: u for u in session.scalars(select(AppUser).where(AppUser.id.in_(user_ids)))} if user_ids else {}
    worker_ids |= {u.worker_id for u in users.values() if u.worker_id is not None}
    workers = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(worker_ids)))} if worker_ids else {}
    contacts: dict[tuple[str, int], Contact] = {}
    if worker_ids or user_ids:
        for c in session.scalars(select(Contact).where(Contact.worker_id.in_(worker_ids) | Contact.user_id.in_(user_ids))):
            contacts[("worker", c.worker_id) if c.worker_id is not None else ("user", c.user_id or 0)] = c
    # a worker's own language is that of the account they sign in with (the pages' language switch)
    spoken = {u.worker_id: u.language for u in users.values() if u.worker_id is not None and u.language}
    if worker_ids:
        spoken.update({wid: lang for wid, lang in session.execute(
            select(AppUser.worker_id, AppUser.language).where(AppUser.worker_id.in_(worker_ids), AppUser.language.is_not(None),
                                                            AppUser.active.is_(True))) if wid is not None and lang})
    people: dict[tuple[str, int], Person] = {}
    for wid, worker in workers.items():
        people[("worker", wid)] = _person(contacts.get(("worker", wid)), worker, worker.phone, spoken.get(wid))
    for uid, user in users.items():
        linked = workers.get(user.worker_id) if user.worker_id is not None else None
        own = contacts.get(("user", uid)) or (contacts.get(("worker", linked.id)) if linked else None)
        people[("user", uid)] = _person(own, linked, user.phone or (linked.phone if linked else None), user.language)
    return people


def _person(contact: Contact | None, worker: Worker | None, phone: str | None, own_language: str | None = None) -> Person:
    """How one person is reached; their language is the one set for their messages, else their own, else Chinese."""
    addresses = {"sms": (contact.phone if contact and contact.phone else phone) or "",
                 "wecom": (contact.wecom_user if contact and contact.wecom_user else (worker.code if worker else "")),
                 "email": contact.email if contact and contact.email else ""}
    return Person(lang=(contact.lang if contact and contact.lang else own_language or DEFAULT_LANG),
                  channels=tuple(contact.channels) if contact and contact.channels is not None else None,
                  quiet_hours=contact.quiet_hours if contact else None,
                  addresses={k: v for k, v in addresses.items() if v})

"""The in-app messages: a person's own notifications, unread first, in their language, with what became of
each copy sent on another channel — so a worker sees that the SMS about their new task did not go.

A person's messages are the user's own (`user_id`) and, for a user who stands for a worker, the worker's
(`worker_id`): a task is addressed to the worker, whichever of their sign-ins reads it. Anyone else's message
is, to them, no such message (404), never "forbidden": its existence is not theirs to learn.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import Session

from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Delivery, Notification
from gridops.core.words import Say
from gridops.messages.contacts import Reader
from gridops.messages.fanout import ROBOTS
from gridops.messages.kinds import title
from gridops.messages.templates import Wording

MAX_LIMIT = 1000


def _mine(reader: Reader) -> ColumnElement[bool]:
    if reader.worker_id is None:
        return Notification.user_id == reader.user_id
    return or_(Notification.user_id == reader.user_id, Notification.worker_id == reader.worker_id)


def unread(session: Session, reader: Reader) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(_mine(reader), Notification.read_at.is_(None))) or 0


def messages(session: Session, reader: Reader, lang: str, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """A page of the person's messages, unread first, then newest first; with the counts of all and unread."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", Say("`limit` is 1 to %(max_limit)s; got %(limit)s.", max_limit=MAX_LIMIT, limit=limit))
    total = session.scalar(select(func.count()).select_from(Notification).where(_mine(reader))) or 0
    rows = list(session.scalars(
        select(Notification).where(_mine(reader))
        .order_by(case((Notification.read_at.is_(None), 0), else_=1), Notification.id.desc()).limit(limit).offset(offset)))
    copies: dict[int, list[dict[str, Any]]] = {}
    if rows:
        found = select(Delivery).where(Delivery.notification_id.in_([n.id for n in rows])).order_by(Delivery.id)
        for d in session.scalars(found):
            if d.channel in ROBOTS:  # a group chat's copy: the group's, not this person's
                continue
            copies.setdefault(d.notification_id, []).append(_copy(d))
    wording = Wording(session)
    items = [_item(n, lang, wording, copies.get(n.id, [])) for n in rows]
    return {"notifications": items, "unread": unread(session, reader), "total": total, "limit": limit, "offset": offset}


def _item(note: Notification, lang: str, wording: Wording, copies: list[dict[str, Any]]) -> dict[str, Any]:
    # written before messages had data (or by a script): the Chinese text it was stored with is all there is
    text = wording.render(note.kind, lang, note.data) if note.data is not None else note.message
    data = note.data or {}
    return {
        "id": note.id, "kind": note.kind, "title": title(note.kind, lang), "text": text,
        "incident_id": note.incident_id, "link": data.get("link") if isinstance(data.get("link"), str) else None,
        "urgent": bool(note.urgent), "created_at": note.created_at.isoformat(),
        "read_at": note.read_at.isoformat() if note.read_at else None, "deliveries": copies,
    }


def _copy(d: Delivery) -> dict[str, Any]:
    """One channel's copy as its reader needs it: where it went, and what became of it, failures with the reason."""
    return {"channel": d.channel, "address": d.address, "status": d.status, "attempts": d.attempts,
            "error": d.error if d.status in ("failed", "queued") else None,
            "held_until": d.next_at.isoformat() if d.status == "queued" and d.held else None,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}


def mark_read(session: Session, reader: Reader, notification_id: int, *, at: datetime) -> dict[str, Any]:
    """One message read (reading it again keeps the first time)."""
    note = session.scalar(select(Notification).where(Notification.id == notification_id, _mine(reader)))
    if note is None:
        raise NotFound(Say("you have no message %(notification_id)s.", notification_id=notification_id))
    if note.read_at is None:
        note.read_at = at
        session.flush()
    return {"id": note.id, "read_at": note.read_at.isoformat(), "unread": unread(session, reader)}


def mark_all_read(session: Session, reader: Reader, *, at: datetime, up_to: int | None = None) -> dict[str, Any]:
    """Every unread message read, or those up to an id (the newest the page showed: one that came meanwhile stays unread)."""
    stmt = update(Notification).where(_mine(reader), Notification.read_at.is_(None))
    if up_to is not None:
        stmt = stmt.where(Notification.id <= up_to)
    result = session.execute(stmt.values(read_at=at).execution_options(synchronize_session=False))
    return {"marked": int(getattr(result, "rowcount", 0) or 0), "unread": unread(session, reader)}

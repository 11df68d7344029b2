"""What became of every message, for the command centre: each notification with its copies and their status
(queued, held for quiet hours, sent, delivered where the channel reports it, failed with the reason), counted,
filtered, and a failed copy queued again; and the receipts gateways post when a message reaches the phone.

A failed copy is never silent: it stays `failed` with the gateway's words until someone retries it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import AppUser, Delivery, Notification, Robot, Worker
from gridops.core.words import Say
from gridops.messages.kinds import title

STATUSES = ("queued", "held", "sent", "delivered", "failed")  # as the command centre reads them ("held": queued, quiet hours)
CHANNELS = ("sms", "wecom", "email", "wecom_robot", "dingtalk")
RECEIPT_STATUSES = ("delivered", "failed")
MAX_RECEIPTS = 1000


@dataclass(frozen=True)
class MessageQuery:
    status: str | None = None
    channel: str | None = None
    kind: str | None = None
    incident: int | None = None
    worker: str | None = None  # a worker's code (工号)
    user: int | None = None
    phone: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    before: int | None = None  # notifications older than this id (the next page)


def shown_status(status: str, held: bool) -> str:
    return "held" if status == "queued" and held else status


def _status_is(status: str) -> ColumnElement[bool]:
    if status == "held":
        return and_(Delivery.status == "queued", Delivery.held.is_(True))
    if status == "queued":
        return and_(Delivery.status == "queued", Delivery.held.is_(False))
    return Delivery.status == status


def _notification_filters(session: Session, q: MessageQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.kind:
        where.append(Notification.kind == q.kind)
    if q.incident is not None:
        where.append(Notification.incident_id == q.incident)
    if q.worker:
        worker_id = session.scalar(select(Worker.id).where(Worker.code == q.worker))
        if worker_id is None:
            raise NotFound(Say("no worker %(worker)r.", worker=q.worker))
        linked = select(AppUser.id).where(AppUser.worker_id == worker_id).scalar_subquery()
        where.append(or_(Notification.worker_id == worker_id, Notification.user_id.in_(linked)))
    if q.user is not None:
        where.append(Notification.user_id == q.user)
    if q.phone:
        where.append(Notification.phone == q.phone)
    if q.since is not None:
        where.append(Notification.created_at >= q.since)
    if q.until is not None:
        where.append(Notification.created_at < q.until)
    return where


def _delivery_filters(q: MessageQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.status:
        where.append(_status_is(q.status))
    if q.channel:
        where.append(Delivery.channel == q.channel)
    return where


def check_query(q: MessageQuery) -> None:
    if q.status and q.status not in STATUSES:
        raise InvalidParameter("status", Say("status is one of %(statuses)s, not %(status)r.",
                                             statuses=', '.join(STATUSES), status=q.status))
    if q.channel and q.channel not in CHANNELS:
        raise InvalidParameter("channel", Say("channel is one of %(channels)s, not %(channel)r.",
                                              channels=', '.join(CHANNELS), channel=q.channel))
    if q.since and q.until and q.until <= q.since:
        raise InvalidParameter("until", Say("until is before since: nothing can be in between."))


def counts(session: Session, q: MessageQuery) -> dict[str, int]:
    """Copies per status, of the notifications the query names (whatever its own status filter)."""
    shown = case((and_(Delivery.status == "queued", Delivery.held.is_(True)), "held"), else_=Delivery.status)
    stmt = (select(shown, func.count()).join(Notification, Notification.id == Delivery.notification_id)
            .where(*_notification_filters(session, q)).group_by(shown))
    if q.channel:
        stmt = stmt.where(Delivery.channel == q.channel)
    found = {status: 0 for status in STATUSES}
    for status, n in session.execute(stmt):
        found[str(status)] = int(n)
    found["waiting"] = int(session.scalar(select(func.count()).select_from(Notification)
                                          .where(Notification.fanned_at.is_(None), *_notification_filters(session, q))) or 0)
    return found


def messages(session: Session, q: MessageQuery) -> dict[str, Any]:
    """A page of notifications (newest first) with their copies; with a status or channel, only the notifications
    that have such a copy, and only those copies."""
    check_query(q)
    where = _notification_filters(session, q)
    copies = _delivery_filters(q)
    stmt = select(Notification).where(*where).order_by(Notification.id.desc()).limit(q.limit)
    if q.before is not None:
        stmt = stmt.where(Notification.id < q.before)
    if copies:
        stmt = stmt.where(Notification.id.in_(select(Delivery.notification_id).where(*copies)))
    notes = list(session.scalars(stmt))
    rows = _views(session, notes, copies)
    return {"messages": rows, "counts": counts(session, q),
            "next_before": notes[-1].id if len(notes) == q.limit else None}


def of_incident(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """Every message an incident caused, oldest first: who heard of each step, on which channel, and whether it arrived."""
    notes = list(session.scalars(select(Notification).where(Notification.incident_id == incident_id).order_by(Notification.id)))
    return _views(session, notes, [])


def _views(session: Session, notes: Sequence[Notification], copies: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    ids = [n.id for n in notes]
    by_note: dict[int, list[Delivery]] = {}
    if ids:
        for d in session.scalars(select(Delivery).where(Delivery.notification_id.in_(ids), *copies).order_by(Delivery.id)):
            by_note.setdefault(d.notification_id, []).append(d)
    people = _people(session, notes)
    robots = _robots(session, [d for ds in by_note.values() for d in ds])
    return [{"id": n.id, "kind": n.kind, "title": title(n.kind, "zh_Hans_CN"), "title_en": title(n.kind, "en"),
             "incident": n.incident_id, "to": people.get(n.id) or {"phone": n.phone}, "message": n.message,
             "urgent": bool(n.urgent), "created_at": n.created_at.isoformat(),
             "fanned_at": n.fanned_at.isoformat() if n.fanned_at else None,
             "read_at": n.read_at.isoformat() if n.read_at else None,
             "deliveries": [delivery_view(d, robots) for d in by_note.get(n.id, [])]} for n in notes]


def delivery_view(d: Delivery, robots: Mapping[int, Robot] | None = None) -> dict[str, Any]:
    robot = None
    if d.address.startswith("robot:"):
        rid = int(d.address.split(":", 1)[1])
        found = (robots or {}).get(rid)
        robot = {"id": rid, "name": found.name if found is not None else None}
    return {"id": d.id, "notification": d.notification_id, "channel": d.channel,
            "address": None if robot else d.address, "robot": robot, "status": shown_status(d.status, d.held),
            "attempts": d.attempts, "error": d.error, "key": d.key, "provider_id": d.provider_id, "body": d.body,
            "created_at": d.created_at.isoformat(), "next_at": d.next_at.isoformat() if d.status == "queued" else None,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None}


def _people(session: Session, notes: Sequence[Notification]) -> dict[int, dict[str, Any]]:
    worker_ids = {n.worker_id for n in notes if n.worker_id is not None}
    user_ids = {n.user_id for n in notes if n.user_id is not None}
    workers = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(worker_ids)))} if worker_ids else {}
    users = {u.id: u for u in session.scalars(select(AppUser).where(AppUser.id.in_(user_ids)))} if user_ids else {}
    out: dict[int, dict[str, Any]] = {}
    for n in notes:
        if n.worker_id is not None and n.worker_id in workers:
            w = workers[n.worker_id]
            out[n.id] = {"worker": w.code, "name": w.name}
        elif n.user_id is not None and n.user_id in users:
            u = users[n.user_id]
            out[n.id] = {"user": u.id, "name": u.name, "role": u.role}
    return out


def _robots(session: Session, copies: Iterable[Delivery]) -> dict[int, Robot]:
    ids = {int(d.address.split(":", 1)[1]) for d in copies if d.address.startswith("robot:")}
    return {r.id: r for r in session.scalars(select(Robot).where(Robot.id.in_(ids)))} if ids else {}


def requeue(d: Delivery, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """A failed copy queued again, due now, its tries counted afresh (the last error is kept until it is sent);
    the same delivery key, so a keyed gateway that did take it drops the repeat."""
    if d.status != "failed":
        raise Conflict(Say("delivery %(id)s is %(value)s, not failed: only a failed copy is sent again.",
                           id=d.id, value=shown_status(d.status, d.held)))
    before = {"status": d.status, "attempts": d.attempts, "error": d.error}
    d.status, d.attempts, d.next_at, d.held = "queued", 0, now, False
    d.lease_owner = d.lease_until = None
    return before, {"status": "queued", "attempts": 0}


def failed(session: Session, channel: str | None = None) -> list[Delivery]:
    stmt = select(Delivery).where(Delivery.status == "failed").order_by(Delivery.id)
    if channel:
        if channel not in CHANNELS:
            raise InvalidParameter("channel", Say("channel is one of %(channels)s, not %(channel)r.",
                                                  channels=', '.join(CHANNELS), channel=channel))
        stmt = stmt.where(Delivery.channel == channel)
    return list(session.scalars(stmt))


def failed_count(session: Session) -> int:
    """How many copies failed and wait for someone to look (the dashboard's warning)."""
    return int(session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "failed")) or 0)


def summary(session: Session, last: int = 10) -> dict[str, Any]:
    """Copies per status and channel, and the latest failures with their reasons (`gridops notify status`)."""
    shown = case((and_(Delivery.status == "queued", Delivery.held.is_(True)), "held"), else_=Delivery.status)
    table: dict[str, dict[str, int]] = {}
    for channel, status, n in session.execute(select(Delivery.channel, shown, func.count()).group_by(Delivery.channel, shown)):
        table.setdefault(channel, {s: 0 for s in STATUSES})[str(status)] = int(n)
    latest = session.execute(select(Delivery, Notification.kind).join(Notification, Notification.id == Delivery.notification_id)
                             .where(Delivery.status == "failed").order_by(Delivery.id.desc()).limit(last)).all()
    waiting = int(session.scalar(select(func.count()).select_from(Notification).where(Notification.fanned_at.is_(None))) or 0)
    return {"channels": table, "waiting": waiting,
            "failures": [{"id": d.id, "channel": d.channel, "kind": kind, "address": d.address, "attempts": d.attempts,
                          "error": d.error, "created_at": d.created_at.isoformat()} for d, kind in latest]}


def token_matches(expected: str | None, given: str | None) -> bool:
    """A shared token compared in constant time; no token set means no receipts are taken."""
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected).encode(), str(given).encode())


def apply_receipts(session: Session, channel: str, receipts: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """A gateway's word on what reached the phone: a copy sent (or still queued after a lost answer) becomes
    delivered, or failed with the gateway's reason; a receipt said twice changes nothing the second time;
    an id gridops never gave is counted, not an error (a gateway shared with another system)."""
    if channel not in CHANNELS:
        raise NotFound(Say("no channel %(channel)r; channels: %(channels)s.", channel=channel, channels=', '.join(CHANNELS)))
    if len(receipts) > MAX_RECEIPTS:
        raise InvalidParameter("body", Say("%(n_receipts)s receipts in one request; at most %(max_receipts)s.",
                                           n_receipts=len(receipts), max_receipts=MAX_RECEIPTS))
    for i, r in enumerate(receipts):
        if not isinstance(r.get("id"), str) or not r["id"]:
            raise InvalidParameter(f"{i}.id", Say("each receipt names its message by `id`: the delivery key gridops sent."))
        if r.get("status") not in RECEIPT_STATUSES:
            raise InvalidParameter(f"{i}.status", Say("a receipt's status is delivered or failed, not %(value)r.",
                                                      value=r.get('status')))
    keys = {r["id"] for r in receipts}
    found = {d.key: d for d in session.scalars(select(Delivery).where(Delivery.key.in_(keys), Delivery.channel == channel))}
    done = {"delivered": 0, "failed": 0, "unchanged": 0, "unknown": []}  # type: dict[str, Any]
    for r in receipts:
        d = found.get(r["id"])
        if d is None:
            done["unknown"].append(r["id"])
            continue
        if d.status not in ("sent", "queued"):
            done["unchanged"] += 1  # already delivered or failed: a later word does not undo it
            continue
        d.lease_owner = d.lease_until = None
        if r["status"] == "delivered":
            d.status, d.delivered_at, d.error = "delivered", now, None
            d.sent_at = d.sent_at or now
            done["delivered"] += 1
        else:
            d.status = "failed"
            d.error = f"the gateway reports it undelivered: {str(r.get('error') or 'no reason given')[:900]}"
            done["failed"] += 1
    return done

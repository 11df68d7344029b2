"""A worker's phone signed in for one shift by a QR code (扫码登录): no 47-character token to paste, no SMS needed.

An admin who keeps the people makes a pass for a worker; the admin page shows its link as a QR code, the worker
scans it with the phone's camera, and the phone has a page session that ends when the shift does. The link works
once, and only for a few minutes (a photo of the screen taken later signs no one in); only its hash is kept, and
the session the phone gets has an id of its own (the link is not the session). The admin can revoke the passes of
a person at any time: the phone's session ends at once (its next request is signed out).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridops.access import sessions
from gridops.access.policy import Forbidden
from gridops.access.tokens import hash_token
from gridops.core import clock
from gridops.core.errors import GridopsError, NotFound
from gridops.core.models import AppUser, PageSession, ShiftPass

SCAN_WITHIN = timedelta(minutes=10)
LONGEST_SHIFT = timedelta(hours=16)  # a pass never outlives this, whatever the rota says


class PassRefused(GridopsError):
    """A pass link that does not sign in: `reason` is unknown, used, expired or revoked."""

    slug = "forbidden"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class Issued:
    secret: str  # for the link, shown once as a QR code and kept nowhere
    scan_by: datetime
    shift_ends_at: datetime


def user_of_worker(session: Session, worker_id: int) -> AppUser:
    """The worker's own sign-in (the active user standing for them): a pass signs in as that user."""
    user = session.scalar(select(AppUser).where(AppUser.worker_id == worker_id, AppUser.active.is_(True))
                          .order_by(AppUser.id.desc()).limit(1))
    if user is None:
        raise NotFound("this person has no sign-in yet: make them a user first (`gridops users add`, or by phone).")
    return user


def issue(session: Session, user_id: int, made_by: int | None, shift_ends_at: datetime) -> Issued:
    """A new pass for the user, for a shift ending at `shift_ends_at` (capped at LONGEST_SHIFT from now)."""
    now = clock.now()
    if shift_ends_at <= now:
        raise Forbidden("that shift is over: a pass is for a shift still to work.")
    ends = min(shift_ends_at, now + LONGEST_SHIFT)
    secret = secrets.token_urlsafe(24)
    session.add(ShiftPass(user_id=user_id, secret_hash=hash_token(secret), made_by_user_id=made_by, created_at=now,
                          scan_by=now + SCAN_WITHIN, shift_ends_at=ends))
    session.flush()
    return Issued(secret, now + SCAN_WITHIN, ends)


def claim(session: Session, secret: str) -> tuple[str, str]:
    """Open the pass's link: (a new page session's id, the user's role) — once, before `scan_by`, for an active user."""
    now = clock.now()
    found = session.scalar(select(ShiftPass).where(ShiftPass.secret_hash == hash_token(secret)).with_for_update())
    if found is None:
        raise PassRefused("unknown", "this sign-in code is not known: ask the admin to show a new one.")
    if found.revoked_at is not None:
        raise PassRefused("revoked", "this sign-in code was revoked: ask the admin to show a new one.")
    if found.used_at is not None:
        raise PassRefused("used", "this sign-in code was used already (each signs in one phone, once): ask for a new one.")
    if found.scan_by <= now or found.shift_ends_at <= now:
        raise PassRefused("expired", "this sign-in code has expired (it works for 10 minutes): ask for a new one.")
    user = session.get(AppUser, found.user_id)
    if user is None or not user.active:
        raise PassRefused("unknown", "this person's sign-in was deactivated: ask the admin.")
    sid = sessions.start(session, user.id, lifetime=found.shift_ends_at - now)
    found.used_at = now
    found.session_hash = hash_token(sid)
    return sid, user.role


def live(session: Session, user_id: int) -> list[dict[str, object]]:
    """The user's passes still of use: waiting to be scanned, or signed in on a phone until the shift ends."""
    now = clock.now()
    rows = session.scalars(select(ShiftPass).where(ShiftPass.user_id == user_id, ShiftPass.revoked_at.is_(None),
                                                   ShiftPass.shift_ends_at > now).order_by(ShiftPass.id))
    out: list[dict[str, object]] = []
    for p in rows:
        if p.used_at is None and p.scan_by <= now:
            continue  # never scanned, and too late now
        signed_in = p.used_at is not None and session.scalar(
            select(PageSession.id_hash).where(PageSession.id_hash == p.session_hash, PageSession.ended_at.is_(None))) is not None
        if p.used_at is not None and not signed_in:
            continue  # the phone signed out by itself
        out.append({"id": p.id, "created_at": p.created_at, "scan_by": p.scan_by, "shift_ends_at": p.shift_ends_at,
                    "used_at": p.used_at, "signed_in": signed_in})
    return out


def revoke(session: Session, user_id: int) -> int:
    """End every pass of the user, and the phone sessions they opened: how many passes were ended."""
    now = clock.now()
    passes = list(session.scalars(select(ShiftPass).where(ShiftPass.user_id == user_id, ShiftPass.revoked_at.is_(None),
                                                          ShiftPass.shift_ends_at > now)))
    hashes = [p.session_hash for p in passes if p.session_hash]
    if hashes:
        session.execute(update(PageSession).where(PageSession.id_hash.in_(hashes), PageSession.ended_at.is_(None))
                        .values(ended_at=now))
    for p in passes:
        p.revoked_at = now
    return len(passes)

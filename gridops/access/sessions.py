"""Page sessions: signing in on a page starts one, kept on the server; the cookie carries only its
random id. Signing out ends it for good (a copied cookie stops working), and a deactivated user's
sessions stop with them."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gridops.access.tokens import hash_token
from gridops.core import clock
from gridops.core.models import AppUser, PageSession

LIFETIME = timedelta(days=14)  # a worker's phone stays signed in for two weeks of shifts


def start(session: Session, user_id: int, lifetime: timedelta = LIFETIME) -> str:
    """A new session for the user; returns its id (for the cookie, the only place it is kept)."""
    sid = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(PageSession(id_hash=hash_token(sid), user_id=user_id, created_at=now, expires_at=now + lifetime))
    session.flush()
    return sid


def token_hash_of(session: Session, sid: str) -> str | None:
    """The token hash of the active user behind a live session (so the user is resolved the way a
    token is: gridops.access.cache), None when it ended, expired or its user was deactivated."""
    found: str | None = session.scalar(
        select(AppUser.token_hash).join(PageSession, PageSession.user_id == AppUser.id)
        .where(PageSession.id_hash == hash_token(sid), PageSession.ended_at.is_(None),
               PageSession.expires_at > clock.now(), AppUser.active.is_(True)))
    return found


def token_hashes_of(session: Session, sids: set[str]) -> dict[str, str]:
    """`token_hash_of` for many sessions in one query (the live feed asks for all its clients at once);
    a session that ended, expired or whose user was deactivated is missing from the answer."""
    by_hash = {hash_token(sid): sid for sid in sids}
    found: dict[str, str] = {}
    keys = list(by_hash)
    for start_at in range(0, len(keys), 500):  # bounded IN lists
        rows = session.execute(
            select(PageSession.id_hash, AppUser.token_hash).join(AppUser, PageSession.user_id == AppUser.id)
            .where(PageSession.id_hash.in_(keys[start_at:start_at + 500]), PageSession.ended_at.is_(None),
                   PageSession.expires_at > clock.now(), AppUser.active.is_(True)))
        found.update({by_hash[id_hash]: token for id_hash, token in rows})
    return found


def end(session: Session, sid: str) -> None:
    session.execute(update(PageSession).where(PageSession.id_hash == hash_token(sid), PageSession.ended_at.is_(None))
                    .values(ended_at=clock.now()))

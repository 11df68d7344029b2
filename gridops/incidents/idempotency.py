"""Idempotency-Key: a retried submission gets the first answer, never a second incident.

The key's record is written in the same transaction as what the request made,
so either both are stored or neither (see gridops.incidents.intake, which writes it).
A retry with the same key and the same request replays the stored answer; the
same key with a different request is a conflict. The loop's steps and the visits keep
their keys the same way (`answered` / `remember`, in the step's transaction), so a
phone's outbox may send a step as often as the signal makes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridops.core.errors import Conflict, InvalidParameter
from gridops.core.models import IdempotencyRecord
from gridops.core.words import Say

MAX_KEY = 128


def fingerprint(method: str, path: str, user: int | None, body: bytes) -> str:
    """What makes two submissions "the same request": method, path, user and the exact body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), str(user).encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def check_key(key: str | None, user: int) -> str | None:
    """The key as stored: each user's keys are their own (one user's key never replays, or blocks,
    another's), kept as a hash of user and key."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidParameter("Idempotency-Key", Say("an Idempotency-Key is 1 to %(max_key)s characters.", max_key=MAX_KEY))
    return hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()


def replay(stored_fingerprint: str, status: int, body: str, request_fingerprint: str) -> tuple[int, Any]:
    """The stored answer for a retry; a Conflict for another request under the same key."""
    if stored_fingerprint != request_fingerprint:
        raise Conflict(
            Say("this Idempotency-Key was used for a different request; use a new key for a new submission."),
            field="Idempotency-Key",
        )
    return status, json.loads(body)


def canonical_fingerprint(method: str, path: str, user: int | None, fields: Mapping[str, Any], photos: Sequence[str]) -> str:
    """"The same request" by what it says rather than its bytes: the fields as read and the photos' hashes. A phone
    that sends the same step again from its outbox sends a new multipart boundary each time; the step is the same."""
    body = json.dumps({"fields": dict(fields), "photos": list(photos)}, sort_keys=True, default=str, ensure_ascii=False)
    return fingerprint(method, path, user, body.encode())


@dataclass(frozen=True)
class Once:
    """A request sent with an Idempotency-Key: the key as stored (check_key) and what made the request."""

    key: str
    fingerprint: str
    method: str
    path: str


def answered(session: Session, once: Once | None) -> Any | None:
    """The answer already given to this key (a retry: nothing is done again), or None the first time. Called once
    the caller holds the row the request changes (FOR UPDATE), so a retry racing its first attempt waits and replays."""
    if once is None:
        return None
    r = session.get(IdempotencyRecord, once.key)
    if r is None:
        return None
    return replay(r.request_hash, r.status_code, r.response_body, once.fingerprint)[1]


def remember(session: Session, once: Once | None, status: int, answer: Any, now: datetime) -> None:
    """The answer kept with the key, in the same transaction as what the request did: both stored, or neither."""
    if once is not None:
        session.add(IdempotencyRecord(key=once.key, method=once.method, path=once.path[:256], request_hash=once.fingerprint,
                                      status_code=status, response_body=json.dumps(answer, default=str), created_at=now))

"""Idempotency-Key: a retried submission gets the first answer, never a second incident.

The key's record is written in the same transaction as what the request made,
so either both are stored or neither. Two submissions with the same key racing
each other: the second's insert of the key fails, its transaction rolls back
(nothing of it is stored), and it answers with what the first stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import clock
from .db import Database
from .errors import Conflict, InvalidParameter
from .models import IdempotencyRecord

MAX_KEY = 128


def fingerprint(method: str, path: str, user: int | None, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), str(user).encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fp: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != fp:
        raise Conflict(
            "this Idempotency-Key was used for a different request; use a new key for a new submission.",
            field="Idempotency-Key",
        )
    return record.status_code, json.loads(record.response_body)


def once(
    db: Database, key: str | None, fp: str, method: str, path: str, work: Callable[[Session], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any], bool]:
    """Run `work` in a transaction, at most once per key: (status, answer, replayed)."""
    if key is None:
        with db.session() as session:
            status, body = work(session)
        return status, body, False
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidParameter("Idempotency-Key", f"an Idempotency-Key is 1 to {MAX_KEY} characters.")
    with db.session() as session:
        found = session.get(IdempotencyRecord, key)
        if found is not None:
            return (*_replay(found, fp), True)
    try:
        with db.session() as session:
            status, body = work(session)
            session.add(IdempotencyRecord(key=key, method=method, path=path, request_hash=fp, status_code=status,
                                          response_body=json.dumps(body, ensure_ascii=False, default=str), created_at=clock.utcnow()))
            session.flush()
    except IntegrityError:
        # another submission with this key won the race; ours is rolled back whole
        with db.session() as session:
            found = session.get(IdempotencyRecord, key)
            if found is None:
                raise
            return (*_replay(found, fp), True)
    return status, body, False

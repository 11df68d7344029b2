"""Idempotency-Key: a retried submission gets the first answer, never a second incident.

The key's record is written in the same transaction as what the request made,
so either both are stored or neither (see gridops.incidents.intake, which writes it).
A retry with the same key and the same request replays the stored answer; the
same key with a different request is a conflict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gridops.core.errors import Conflict, InvalidParameter

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
        raise InvalidParameter("Idempotency-Key", f"an Idempotency-Key is 1 to {MAX_KEY} characters.")
    return hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()


def replay(stored_fingerprint: str, status: int, body: str, request_fingerprint: str) -> tuple[int, Any]:
    """The stored answer for a retry; a Conflict for another request under the same key."""
    if stored_fingerprint != request_fingerprint:
        raise Conflict(
            "this Idempotency-Key was used for a different request; use a new key for a new submission.",
            field="Idempotency-Key",
        )
    return status, json.loads(body)

"""An Idempotency-Key on a step or a visit, read from the request: the key as stored, and the request it made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import request

from gridops.incidents.idempotency import Once, canonical_fingerprint, check_key
from gridops.incidents.photos import Photo


def once_of(headers: Mapping[str, Any], user: int, fields: Mapping[str, Any], photos: Sequence[Photo] = ()) -> Once | None:
    """None without a key; else what makes a retry "the same request" — its fields as read and its photos' hashes."""
    key = check_key(headers.get("idempotency_key"), user)
    if key is None:
        return None
    return Once(key, canonical_fingerprint(request.method, request.path, user, fields, [p.sha256 for p in photos]),
                request.method, request.path)

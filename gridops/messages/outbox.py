"""Writing a message: one row in the caller's transaction, so a step and the news of it commit together or
not at all. Nothing here talks to a gateway; the dispatcher does, later, with retries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridops.core.models import Notification
from gridops.messages.kinds import DEFAULT_LANG, KINDS, builtin
from gridops.messages.templates import render


def enqueue(
    session: Session,
    kind: str,
    *,
    at: datetime,
    worker_id: int | None = None,
    user_id: int | None = None,
    phone: str | None = None,
    incident_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    urgent: bool = False,
) -> Notification | None:
    """A message to one person (a worker, a user, or a phone number only); none when there is nobody."""
    if worker_id is None and user_id is None and not phone:
        return None
    fields = dict(data or {})
    if incident_id is not None:
        fields.setdefault("incident", incident_id)
    note = Notification(worker_id=worker_id, user_id=user_id, phone=phone or None, incident_id=incident_id, kind=kind,
                        message=render(builtin(kind, DEFAULT_LANG), fields), data=fields,
                        urgent=urgent or (kind in KINDS and KINDS[kind].urgent), created_at=at)
    session.add(note)
    return note

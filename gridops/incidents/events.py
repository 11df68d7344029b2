"""The history of an incident: every step an append-only event, in the caller's transaction,
and the notifications that go with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

from gridops.access.policy import Principal
from gridops.core.models import Attachment, Incident, IncidentEvent
from gridops.incidents.photos import Photo

_NEXT_SEQ = "gridops.next_event_seq"  # session.info: incident id -> the seq its next event takes


def record(
    session: Session,
    incident: Incident,
    action: str,
    to_status: str | None,
    actor: Principal | None,
    *,
    at: datetime,
    note: str | None = None,
    location: tuple[float, float] | None = None,
    data: dict[str, Any] | None = None,
    photos: Sequence[tuple[Photo, str]] = (),
    seq: int | None = None,
    device_at: datetime | None = None,
) -> IncidentEvent:
    """One step of the history (and so of the live stream), in the caller's transaction.

    `seq` may be given when the caller knows it (a new incident's first steps), saving a query. Within
    one session the next number is remembered, so a step that writes several events (`take`, the demo
    city's eight weeks in one transaction) asks the database once per incident.
    """
    known: dict[int, int] = session.info.setdefault(_NEXT_SEQ, {})
    if seq is None:
        seq = known.get(incident.id) or (
            session.scalar(select(func.max(IncidentEvent.seq)).where(IncidentEvent.incident_id == incident.id)) or 0) + 1
    known[incident.id] = seq + 1
    from_status = incident.status if seq > 1 else None
    event = IncidentEvent(
        incident_id=incident.id, seq=seq, at=at, device_at=device_at,
        action=action, from_status=from_status, to_status=to_status or incident.status,
        actor_id=_actor_worker(actor), actor_label=actor_label(actor), note=note, data=data,
        location=from_shape(Point(*location), srid=STORAGE_SRID) if location else None,
    )
    session.add(event)
    if photos:
        session.flush()  # the attachments name the event
    for photo, path in photos:
        session.add(Attachment(incident_id=incident.id, event_id=event.id, sha256=photo.sha256, content_type=photo.content_type,
                               size_bytes=photo.size, path=path, created_at=at))
    if to_status:
        incident.status = to_status
    incident.updated_at = at
    return event  # its copy on the live stream is made by the database (migration 0005)


def _actor_worker(actor: Principal | None) -> int | None:
    return actor.worker_id if actor else None


def actor_label(actor: Principal | None) -> str:
    if actor is None:
        return "system"
    return f"{actor.role}:{actor.name}"

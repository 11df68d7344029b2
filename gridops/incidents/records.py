"""Reports in: placed in their grid, checked for duplicates, routed, stored with
their first event in one transaction — and incidents out, as each role may see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

from gridops.core import clock
from gridops.access.users import Principal, mask_phone
from gridops.core.errors import NotFound
from gridops.boundaries.geocoder import Geocoder
from gridops.core.models import (
    Area,
    Attachment,
    BoundaryVersion,
    Category,
    Incident,
    IncidentEvent,
    Notification,
    Worker,
)
from gridops.incidents.photos import Photo
from gridops.reference.data import Principals, Reference, References
from gridops.incidents.routing import OPEN

CHANNELS = ("app", "qr", "photo", "hotline", "patrol", "open311")
CLOSED = ("closed", "followed_up", "merged")


@dataclass
class Context:
    """What a use case needs from the app, passed in so the CLI and tests call it the same way."""

    geocoder: Geocoder
    timezone: str
    instance_path: str
    references: References = field(default_factory=References)  # the process's reference data (routing's inputs)
    principals: Principals | None = None  # the process's signed-in users, to confirm a report's author
    written: list[str] = field(default_factory=list)  # photo files this request wrote


@dataclass
class NewReport:
    category: str
    channel: str
    description: str | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = None
    building: str | None = None
    household: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    photos: list[Photo] = field(default_factory=list)
    token: str | None = None


def _worker_ref(source: Reference | Session, worker_id: int | None) -> dict[str, Any] | None:
    """A worker as an answer shows them, from the reference data when at hand, else from the session."""
    if worker_id is None:
        return None
    w = source.workers.get(worker_id) if isinstance(source, Reference) else source.get(Worker, worker_id)
    return {"code": w.code, "name": w.name, "role": w.role} if w else None


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
    photos: list[tuple[Photo, str]] = (),
    seq: int | None = None,
) -> IncidentEvent:
    """One step of the history (and so of the live stream), in the caller's transaction.

    `seq` may be given when the caller knows it (a new incident's first steps), saving a query.
    """
    if seq is None:
        seq = (session.scalar(select(func.max(IncidentEvent.seq)).where(IncidentEvent.incident_id == incident.id)) or 0) + 1
    from_status = incident.status if seq > 1 else None
    event = IncidentEvent(
        incident_id=incident.id, seq=seq, at=at, action=action, from_status=from_status, to_status=to_status or incident.status,
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


def notify(session: Session, worker_id: int | None, incident: Incident, kind: str, message: str, at: datetime) -> None:
    if worker_id is not None:
        session.add(Notification(worker_id=worker_id, incident_id=incident.id, kind=kind, message=message, created_at=at))


# --- reading ------------------------------------------------------------------


def can_see(principal: Principal | None, incident: Incident, grid_code: str) -> bool:
    """Staff see everything; a worker the ground they answer for and their own work; a department its
    incidents; a resident their own reports."""
    if principal is None:
        return False
    if principal.is_staff:
        return True
    if principal.role == "resident":
        return incident.reporter_user_id == principal.user_id
    if principal.worker_id is not None and incident.assignee_id == principal.worker_id:
        return True
    if principal.role == "department":
        return incident.department_code is not None and incident.department_code == principal.department_code
    if principal.role in ("grid_worker", "grid_leader", "community_admin"):
        return principal.covers(grid_code)
    return False


def sees_contacts(principal: Principal, incident: Incident, grid_code: str) -> bool:
    """Phone numbers are for those who must call back: staff, the assignee, the leaders of the ground, the reporter."""
    if principal.is_staff:
        return True
    if principal.worker_id is not None and incident.assignee_id == principal.worker_id:
        return True
    if principal.role in ("grid_leader", "community_admin") and principal.covers(grid_code):
        return True
    return principal.role == "resident" and incident.reporter_user_id == principal.user_id


def load(session: Session, incident_id: int, principal: Principal | None) -> tuple[Incident, str]:
    incident = session.get(Incident, incident_id)
    grid_code = session.scalar(select(Area.code).where(Area.id == incident.grid_id)) if incident else None
    if incident is None or not can_see(principal, incident, grid_code):
        # the same answer whether it does not exist or is not yours: ids do not leak
        raise NotFound(f"no incident {incident_id} that you may see.")
    return incident, grid_code


def view(session: Session, incident: Incident, grid_code: str, principal: Principal) -> dict[str, Any]:
    point = to_shape(incident.location)
    micro = session.scalar(select(Area.code).where(Area.id == incident.micro_grid_id)) if incident.micro_grid_id else None
    grid_name = session.scalar(select(Area.name).where(Area.id == incident.grid_id))
    category = session.get(Category, incident.category_code)
    contacts = sees_contacts(principal, incident, grid_code)
    now = clock.utcnow()
    version = session.get(BoundaryVersion, incident.boundary_version_id)
    return {
        "id": incident.id,
        "status": incident.status,
        "category": {"code": category.code, "name": category.name, "urgency": category.urgency},
        "description": incident.description,
        "channel": incident.channel,
        "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)},
        "original": {"x": incident.original_x, "y": incident.original_y, "crs": incident.original_crs},
        "grid": {"code": grid_code, "name": grid_name},
        "micro_grid": {"code": micro} if micro else None,
        "boundary_version": {"number": version.number},
        "assignee": _worker_ref(session, incident.assignee_id),
        "department": incident.department_code,
        "tier": incident.tier,
        "routing_reason": incident.routing_reason,
        "reported_at": incident.reported_at.isoformat(),
        "due_at": incident.due_at.isoformat(),
        "overdue": incident.status in OPEN and incident.due_at < now,
        "supervised_at": incident.supervised_at.isoformat() if incident.supervised_at else None,
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "merged_into": incident.merged_into_id,
        "rating": incident.rating,
        "reporter": {
            "name": incident.reporter_name,
            "contact": incident.reporter_contact if contacts else mask_phone(incident.reporter_contact),
        },
    }


def history(session: Session, incident: Incident) -> list[dict[str, Any]]:
    rows = session.execute(
        select(IncidentEvent, Worker.code).outerjoin(Worker, Worker.id == IncidentEvent.actor_id)
        .where(IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.seq)
    ).all()
    photos: dict[int, list[dict[str, Any]]] = {}
    for a in session.scalars(select(Attachment).where(Attachment.incident_id == incident.id)):
        photos.setdefault(a.event_id, []).append({"sha256": a.sha256, "content_type": a.content_type, "size": a.size_bytes})
    out = []
    for event, worker_code in rows:
        where = to_shape(event.location) if event.location is not None else None
        out.append({
            "seq": event.seq, "at": event.at.isoformat(), "action": event.action,
            "from_status": event.from_status, "to_status": event.to_status,
            "actor": {"label": event.actor_label, "worker": worker_code},
            "note": event.note,
            "location": {"lon": round(where.x, 7), "lat": round(where.y, 7)} if where else None,
            "photos": photos.get(event.id, []),
            "data": event.data,
        })
    return out

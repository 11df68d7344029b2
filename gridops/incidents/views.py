"""One incident as a role may see it: found, shown (contacts masked unless you must call
back) with its photos and flags, its history, and its photos' files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.masking import mask_phone
from gridops.access.policy import Principal, can_see, sees_contacts
from gridops.boundaries.areas import code_of
from gridops.core import clock
from gridops.core.errors import NotFound
from gridops.core.models import Area, Attachment, BoundaryVersion, Category, Incident, IncidentEvent, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.incidents.deadlines import limits_of, overdue_stage
from gridops.incidents.flags import flags_of
from gridops.incidents.listing import photos_of
from gridops.incidents.loop import OPEN, allowed_steps
from gridops.incidents.names import STATUS_NAMES, ZH, name
from gridops.incidents.seen import joined, resolver
from gridops.reference.data import Reference


def _worker_ref(source: Reference | Session, worker_id: int | None) -> dict[str, Any] | None:
    """A worker as an answer shows them, from the reference data when at hand, else from the session."""
    if worker_id is None:
        return None
    w = source.workers.get(worker_id) if isinstance(source, Reference) else source.get(Worker, worker_id)
    return {"code": w.code, "name": w.name, "role": w.role} if w else None


def load(session: Session, incident_id: int, principal: Principal | None) -> tuple[Incident, str]:
    incident = session.get(Incident, incident_id)
    grid_code = code_of(session, incident.grid_id) if incident else None
    if incident is None or not can_see(principal, incident, grid_code, joined=joined(session, incident_id, principal)):
        # the same answer whether it does not exist or is not yours: ids do not leak
        raise NotFound(Say("no incident %(incident_id)s that you may see.", incident_id=incident_id))
    assert grid_code is not None  # incident.grid_id is a NOT NULL foreign key
    return incident, grid_code


def photo_file(session: Session, incident_id: int, sha256: str, principal: Principal | None) -> Attachment:
    """A photo of an incident the caller may see; any other answers as one that does not exist, whether the
    incident, or the photo on it, exists or not."""
    load(session, incident_id, principal)
    found = session.scalar(select(Attachment).where(Attachment.incident_id == incident_id, Attachment.sha256 == sha256)
                           .order_by(Attachment.id).limit(1)) if len(sha256) == 64 else None
    if found is None:
        raise NotFound(Say("no photo %(sha256)r on incident %(incident_id)s.", sha256=sha256[:70], incident_id=incident_id))
    return found


def view(session: Session, incident: Incident, grid_code: str, principal: Principal, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    point = to_point(incident.location)
    micro = session.scalar(select(Area.code).where(Area.id == incident.micro_grid_id)) if incident.micro_grid_id else None
    grid_name = session.scalar(select(Area.name).where(Area.id == incident.grid_id))
    category = session.get(Category, incident.category_code)
    contacts = sees_contacts(principal, incident, grid_code)
    now = clock.now()
    version = session.get(BoundaryVersion, incident.boundary_version_id)
    assert category is not None and version is not None  # NOT NULL foreign keys of the incident
    return {
        "id": incident.id,
        "status": incident.status,
        "status_name": name(STATUS_NAMES, incident.status, ZH), "status_name_en": name(STATUS_NAMES, incident.status, "en"),
        "category": {"code": category.code, "name": category.name, "urgency": category.urgency},
        "description": incident.description,
        "address": incident.address_text,
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
        "accept_due_at": incident.accept_due_at.isoformat() if incident.accept_due_at else None,
        "verify_due_at": incident.verify_due_at.isoformat() if incident.verify_due_at else None,
        "overdue_stage": overdue_stage(incident.status, now, incident.due_at, incident.accept_due_at, incident.verify_due_at),
        "limits": limits_of(incident, category).as_dict(),
        "supervised_at": incident.supervised_at.isoformat() if incident.supervised_at else None,
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "merged_into": incident.merged_into_id,
        "rating": incident.rating,
        "reporter": {
            "name": incident.reporter_name,
            "contact": incident.reporter_contact if contacts else mask_phone(incident.reporter_contact),
        },
        "photos": photos_of(session, [incident.id]).get(incident.id, []),
        "flags": flags_of(session, [incident.id], principal, tz).get(incident.id, []),
        # the steps this reader may take now (gridops.incidents.loop decides; a page shows these and no others)
        "allowed": allowed_steps(incident, principal, grid_code, joined=joined(session, incident.id, principal),
                                 resolved_by=resolver(session, incident)),
    }


def history(session: Session, incident: Incident) -> list[dict[str, Any]]:
    rows = session.execute(
        select(IncidentEvent, Worker.code).outerjoin(Worker, Worker.id == IncidentEvent.actor_id)
        .where(IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.seq)
    ).all()
    photos: dict[int | None, list[dict[str, Any]]] = {}  # by event (None: attached to no event)
    for a in session.scalars(select(Attachment).where(Attachment.incident_id == incident.id)):
        photos.setdefault(a.event_id, []).append({"sha256": a.sha256, "content_type": a.content_type, "size": a.size_bytes})
    out = []
    for event, worker_code in rows:
        where = to_point(event.location) if event.location is not None else None
        out.append({
            "seq": event.seq, "at": event.at.isoformat(), "action": event.action,
            "device_at": event.device_at.isoformat() if event.device_at else None,
            "from_status": event.from_status, "to_status": event.to_status,
            "actor": {"label": event.actor_label, "worker": worker_code},
            "note": event.note,
            "location": {"lon": round(where.x, 7), "lat": round(where.y, 7)} if where else None,
            "photos": photos.get(event.id, []),
            "data": event.data,
        })
    return out

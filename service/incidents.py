"""Reports in: placed in their grid, checked for duplicates, routed, stored with
their first event in one transaction — and incidents out, as each role may see them."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.crs import STORAGE_SRID, local_projection

from . import clock
from .auth import Principal, mask_phone
from .deadlines import WorkCalendar
from .errors import InvalidParameter, NotFound
from .geocoding import Geocoder, LocationQuery
from .models import (
    Area,
    Attachment,
    BoundaryVersion,
    CalendarDay,
    Category,
    Incident,
    IncidentEvent,
    IncidentFollower,
    Layer,
    Notification,
    StreamEvent,
    Task,
    Worker,
)
from .photos import Photo, store
from .routing import OPEN, Ground, route

CHANNELS = ("app", "qr", "photo", "hotline", "patrol", "open311")
CLOSED = ("closed", "followed_up", "merged")


@dataclass
class Context:
    """What a use case needs from the app, passed in so the CLI and tests call it the same way."""

    geocoder: Geocoder
    timezone: str
    instance_path: str
    network: Any = None  # geo.network.StreetNetwork, when the street network is loaded
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


def calendar(session: Session, tz: str) -> WorkCalendar:
    return WorkCalendar.from_days(tz, session.execute(select(CalendarDay.day, CalendarDay.kind)).all())


def _worker_ref(session: Session, worker_id: int | None) -> dict[str, Any] | None:
    if worker_id is None:
        return None
    w = session.get(Worker, worker_id)
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
) -> IncidentEvent:
    """One step of the history, and the same step on the live stream, in the caller's transaction."""
    seq = (session.scalar(select(func.max(IncidentEvent.seq)).where(IncidentEvent.incident_id == incident.id)) or 0) + 1
    from_status = incident.status if seq > 1 else None
    event = IncidentEvent(
        incident_id=incident.id, seq=seq, at=at, action=action, from_status=from_status, to_status=to_status or incident.status,
        actor_id=_actor_worker(actor), actor_label=_actor_label(actor), note=note, data=data,
        location=from_shape(Point(*location), srid=STORAGE_SRID) if location else None,
    )
    session.add(event)
    session.flush()
    for photo, path in photos:
        session.add(Attachment(incident_id=incident.id, event_id=event.id, sha256=photo.sha256, content_type=photo.content_type,
                               size_bytes=photo.size, path=path, created_at=at))
    if to_status:
        incident.status = to_status
    incident.updated_at = at
    session.add(StreamEvent(at=at, kind="incident", incident_id=incident.id,
                            data={"id": incident.id, "action": action, "status": incident.status, "seq": seq}))
    from .stream import announce

    announce(session)
    return event


def _actor_worker(actor: Principal | None) -> int | None:
    return actor.worker_id if actor else None


def _actor_label(actor: Principal | None) -> str:
    if actor is None:
        return "system"
    return f"{actor.role}:{actor.name}"


def notify(session: Session, worker_id: int | None, incident: Incident, kind: str, message: str, at: datetime) -> None:
    if worker_id is not None:
        session.add(Notification(worker_id=worker_id, incident_id=incident.id, kind=kind, message=message, created_at=at))


def _ancestors(answer: dict[str, Any], layer: str) -> dict[str, str]:
    areas = answer["layers"][layer]["areas"]
    return {level: a["code"] for level, a in areas.items()}


def duplicates_of(session: Session, category: Category, lon: float, lat: float, now: datetime) -> list[dict[str, Any]]:
    """Open incidents of the same category within the category's radius and time window, nearest first."""
    if not category.dedupe_radius_m or not category.dedupe_window_hours:
        return []
    since = now - timedelta(hours=category.dedupe_window_hours)
    pad = category.dedupe_radius_m / 90_000.0  # degrees, generously: a prefilter, the metres come next
    rows = session.execute(
        select(Incident.id, Incident.reported_at, Incident.location)
        .where(
            Incident.category_code == category.code, Incident.status.in_(OPEN), Incident.merged_into_id.is_(None),
            Incident.reported_at >= since,
            func.ST_Intersects(Incident.location, func.ST_GeomFromText(
                f"POLYGON(({lon - pad} {lat - pad},{lon + pad} {lat - pad},{lon + pad} {lat + pad},{lon - pad} {lat + pad},{lon - pad} {lat - pad}))",
                STORAGE_SRID,
            )),
        )
    ).all()
    if not rows:
        return []
    proj = local_projection((lon, lat, lon, lat))
    points = [to_shape(r[2]) for r in rows]
    xs, ys = proj.xy_to_metric(np.array([p.x for p in points]), np.array([p.y for p in points]))
    x0, y0 = proj.xy_to_metric(np.array([lon]), np.array([lat]))
    dist = np.hypot(xs - x0[0], ys - y0[0])
    found = [
        {"id": r[0], "distance_m": round(float(d), 1), "reported_at": r[1].isoformat()}
        for r, d in zip(rows, dist, strict=True) if d <= category.dedupe_radius_m
    ]
    return sorted(found, key=lambda c: (c["distance_m"], c["id"]))


def report(session: Session, ctx: Context, new: NewReport, actor: Principal | None) -> dict[str, Any]:
    """Take a report in: everything stored (incident, first event, task, photos) in the caller's transaction."""
    category = session.get(Category, new.category) if new.category else None
    if category is None or not category.active:
        known = list(session.scalars(select(Category.code).where(Category.active.is_(True)).order_by(Category.code)))
        raise InvalidParameter("category", f"unknown category {new.category!r}; categories: {', '.join(known)}.", allowed=known)
    if new.channel not in CHANNELS:
        raise InvalidParameter("channel", f"channel must be one of {', '.join(CHANNELS)}; got {new.channel!r}.", allowed=list(CHANNELS))
    if (new.x is None) != (new.y is None):
        missing = "lat" if new.y is None else "lon"
        raise InvalidParameter(missing, f"`{missing}` is required with `{'lon' if missing == 'lat' else 'lat'}`.")
    if new.x is None and not (new.building or new.household or new.address):
        raise InvalidParameter("location", "a report needs a location: lon and lat (with crs), or a building, household or address.")

    now = clock.utcnow()
    layer = ctx.geocoder.primary_layer
    answer = ctx.geocoder.locate(
        LocationQuery(x=new.x, y=new.y, crs=new.crs, building=new.building, household=new.household, address=new.address),
        lambda: nullcontext(session),
    )
    lon, lat = answer["location"]["lon"], answer["location"]["lat"]
    version_id = session.scalar(
        select(BoundaryVersion.id).join(Layer, Layer.id == BoundaryVersion.layer_id)
        .where(Layer.code == layer, BoundaryVersion.number == answer["boundary_version"]["number"])
    )
    codes = _ancestors(answer, layer)
    area_ids = dict(session.execute(select(Area.code, Area.id).where(Area.version_id == version_id, Area.code.in_(list(codes.values())))).all())
    due = calendar(session, ctx.timezone).due(now, category.time_limit_minutes, category.working_time)
    dupes = duplicates_of(session, category, lon, lat, now)

    original = answer["original"]
    incident = Incident(
        category_code=category.code, description=new.description, status="reported", urgency=category.urgency,
        channel=new.channel, reporter_name=new.reporter_name, reporter_contact=new.reporter_contact,
        location=from_shape(Point(lon, lat), srid=STORAGE_SRID),
        original_x=original.get("x"), original_y=original.get("y"), original_crs=original.get("crs"),
        address_text=new.address, location_status=answer["status"],
        snap_distance_m=answer["distance_m"] or None, boundary_version_id=version_id,
        grid_id=area_ids[codes["grid"]], micro_grid_id=area_ids.get(codes.get("micro_grid")),
        tier="grid", reported_at=now, due_at=due, updated_at=now, lock_version=1, token=new.token,
        reporter_user_id=actor.user_id if actor and actor.role == "resident" else None,
    )
    if "building" in answer:
        from .models import Building, Household

        incident.building_id = session.scalar(select(Building.id).where(Building.code == answer["building"]["code"]))
        if "household" in answer:
            incident.household_id = session.scalar(select(Household.id).where(Household.code == answer["household"]["code"]))
    session.add(incident)
    session.flush()

    stored = []
    for photo in new.photos:
        path, wrote = store(photo, ctx.instance_path)
        if wrote:
            ctx.written.append(path)
        stored.append((photo, path))
    record(session, incident, "report", "reported", actor, at=now, note=new.description, location=(lon, lat),
           data={"channel": new.channel}, photos=stored)

    if dupes:
        target = session.get(Incident, dupes[0]["id"])
        incident.merged_into_id = target.id
        incident.assignee_id, incident.department_code, incident.tier = target.assignee_id, target.department_code, target.tier
        incident.routing_reason = f"duplicate of incident {target.id} ({dupes[0]['distance_m']:.0f} m away)"
        incident.due_at = target.due_at
        record(session, incident, "merge", "merged", None, at=now, note=incident.routing_reason, data={"into": target.id, "candidates": dupes})
        session.add(IncidentFollower(incident_id=target.id, name=new.reporter_name, contact=new.reporter_contact,
                                     source_incident_id=incident.id, added_at=now))
    else:
        ground = Ground(codes["grid"], codes.get("community"), codes.get("street"))
        chosen = route(session, category, ground, now, tz=ctx.timezone, lon=lon, lat=lat, layer=layer, network=ctx.network)
        incident.assignee_id, incident.routing_reason = chosen.worker_id, chosen.reason
        incident.department_code, incident.tier = chosen.department_code, chosen.tier
        if chosen.worker_id is not None:
            session.add(Task(kind="incident", title=f"{category.name}: {new.description or ''}"[:256], status="open",
                             incident_id=incident.id, worker_id=chosen.worker_id, area_code=codes["grid"],
                             location=from_shape(Point(lon, lat), srid=STORAGE_SRID), due_at=due, created_at=now))
            notify(session, chosen.worker_id, incident, "assigned", f"new report {incident.id}: {category.name}", now)
    session.flush()
    return {
        "id": incident.id,
        "status": incident.status,
        "token": incident.token,
        "category": {"code": category.code, "name": category.name, "urgency": category.urgency,
                     "time_limit_minutes": category.time_limit_minutes, "working_time": category.working_time},
        "location": answer["location"],
        "original": original,
        "location_status": answer["status"],
        "distance_m": answer["distance_m"],
        "grid": answer["grid"],
        "micro_grid": answer["micro_grid"],
        "boundary_version": answer["boundary_version"],
        "reported_at": now.isoformat(),
        "due_at": incident.due_at.isoformat(),
        "assignee": _worker_ref(session, incident.assignee_id),
        "department": incident.department_code,
        "tier": incident.tier,
        "routing_reason": incident.routing_reason,
        "merged_into": incident.merged_into_id,
        "duplicates": dupes,
        "photos": [{"sha256": p.sha256, "content_type": p.content_type, "size": p.size} for p, _ in stored],
    }


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

"""A worker's list: incidents to handle and patrol visits, soonest due first, then nearest."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.access.masking import mask_phone
from gridops.access.policy import LEAD, Forbidden, Principal, role_term, sees_contacts
from gridops.core import clock
from gridops.core.models import Area, Building, Category, Household, Incident, PatrolRegister, Task, Worker
from gridops.core.shapes import to_point
from gridops.core.words import Say
from gridops.field.navigation import destination
from gridops.field.patrols import KINDS
from gridops.incidents.listing import visible
from gridops.incidents.loop import TASK_ACTIVE, allowed_steps
from gridops.incidents.seen import resolver

_Row = TypeVar("_Row", Incident, PatrolRegister)


def tasks_of(session: Session, principal: Principal, lon: float | None, lat: float | None, everything: bool = False) -> dict[str, Any]:
    """What the worker must do, with what a phone screen shows of each: what, where, how far, by when."""
    if principal.worker_id is None:
        raise Forbidden(Say("a %(role)s has no tasks: tasks are for workers.", role=role_term(principal.role)))
    worker = session.get(Worker, principal.worker_id)
    assert worker is not None  # a user's worker_id is a foreign key to the worker
    stmt = select(Task).where(Task.worker_id == worker.id)
    if not everything:
        stmt = stmt.where(Task.status.in_(TASK_ACTIVE))
    tasks = list(session.scalars(stmt))
    now = clock.now()
    incidents = _by_id(session, Incident, {t.incident_id for t in tasks if t.incident_id})
    grids = (dict(session.execute(select(Area.id, Area.code).where(Area.id.in_({i.grid_id for i in incidents.values()}))).all())
             if incidents else {})
    categories = {c.code: c for c in session.scalars(select(Category))} if incidents else {}
    registers = _by_id(session, PatrolRegister, {t.patrol_id for t in tasks if t.patrol_id})
    building_ids = {t.building_id for t in tasks if t.building_id} | {i.building_id for i in incidents.values() if i.building_id}
    buildings: dict[int | None, str | None] = dict(session.execute(select(Building.id, Building.address).where(
        Building.id.in_(building_ids))).all())
    households: dict[int | None, str] = dict(session.execute(select(Household.id, Household.code).where(
        Household.id.in_({t.household_id for t in tasks if t.household_id}))).all())
    origin = (lon, lat) if lon is not None and lat is not None else None
    rows: list[dict[str, Any]] = []
    for task in tasks:
        point = to_point(task.location) if task.location is not None else None
        distance = (round(float(distances_m(lon, lat, point.x, point.y)[0]), 1)
                    if point is not None and lon is not None and lat is not None else None)
        incident = incidents.get(task.incident_id)
        grid = grids.get(incident.grid_id) if incident else task.area_code
        reg = registers.get(task.patrol_id)
        address = (buildings.get(task.building_id or (incident.building_id if incident else None))
                   or (incident.address_text if incident else None))
        rows.append({
            "id": task.id, "kind": task.kind, "title": task.title, "status": task.status,
            "incident_id": task.incident_id, "incident_status": incident.status if incident else None,
            "area_code": task.area_code,
            "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)} if point else None,
            "distance_m": distance,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "overdue": bool(task.due_at and task.due_at < now and task.status in TASK_ACTIVE),
            "scheduled_for": task.scheduled_for.isoformat() if task.scheduled_for else None,
            "address": address,
            "navigate": destination(point.x, point.y, address or task.title, origin) if point else None,
            "incident": {"category": incident.category_code, "category_name": categories[incident.category_code].name,
                         "urgency": incident.urgency, "description": incident.description,
                         **_reporter(principal, incident, grid)} if incident else None,
            "patrol": {"register": reg.id if reg else None, "kind": reg.kind if reg else None,
                       "kind_name": KINDS.get(reg.kind, (reg.kind,))[0] if reg else None, "person": reg.person if reg else None,
                       "phone": reg.phone if reg else None, "call": _dialable(reg.phone) if reg else None,
                       "household": households.get(task.household_id)}
            if task.kind == "patrol" else None,
            "order": task.order_id, "checklist": task.checklist or [],
            "allowed": (allowed_steps(incident, principal, grid, resolved_by=resolver(session, incident)) if incident
                        else (["visit"] if task.status in TASK_ACTIVE else [])),
            "_sort": (task.due_at or task.scheduled_for, distance if distance is not None else float("inf")),
        })
    rows.extend(_verifications(session, principal, {t.incident_id for t in tasks if t.incident_id and t.status in TASK_ACTIVE},
                               lon, lat, now))
    far_future = now.replace(year=now.year + 100)
    rows.sort(key=lambda r: (r["_sort"][0] or far_future, r["_sort"][1], r["id"]))
    for r in rows:
        r.pop("_sort")
    return {"worker": {"code": worker.code, "name": worker.name, "role": worker.role}, "tasks": rows,
            "here": nearest_building(session, lon, lat) if origin else None}


NEAR_M = 150.0  # a building farther than this from the phone does not name where the worker stands
_DIALABLE = re.compile(r"^\+?\d{5,20}$")


def _dialable(phone: str | None) -> str | None:
    """The number as a `tel:` link dials it (digits, a leading +), or None: an e-mail or a note is no number."""
    if not phone:
        return None
    digits = re.sub(r"[\s\-()]", "", phone)
    return digits if _DIALABLE.match(digits) else None


def _reporter(principal: Principal, incident: Incident, grid: str | None) -> dict[str, Any]:
    """The reporter's number as this role may see it (the masking rule of the incident's own view, so the card
    and the incident's page agree), and the number to dial only where it is shown whole."""
    whole = sees_contacts(principal, incident, grid)
    contact = incident.reporter_contact
    return {"contact": contact if whole else mask_phone(contact), "call": _dialable(contact) if whole else None}


def nearest_building(session: Session, lon: float | None, lat: float | None) -> dict[str, Any] | None:
    """The registered building nearest the phone, within NEAR_M: where the worker is, in the words of the street
    (a name and an address), not in degrees. None when nothing registered stands that near."""
    if lon is None or lat is None:
        return None
    d = NEAR_M / 111_000.0  # degrees of latitude; a longitude degree is shorter, so the box holds the circle
    box = (f"POLYGON(({lon - 2 * d} {lat - d},{lon + 2 * d} {lat - d},{lon + 2 * d} {lat + d},"
           f"{lon - 2 * d} {lat + d},{lon - 2 * d} {lat - d}))")
    near = list(session.execute(select(Building.code, Building.name, Building.address, Building.compound, Building.location)
                                .where(func.ST_Intersects(Building.location, func.ST_GeomFromText(box, STORAGE_SRID)))
                                .where(or_(Building.households != 0, Building.use != "vacant"))))  # not demolished
    if not near:
        return None
    points = [to_point(row.location) for row in near]
    far = distances_m(lon, lat, [p.x for p in points], [p.y for p in points])
    best = int(far.argmin())
    if float(far[best]) > NEAR_M:
        return None
    row = near[best]
    return {"code": row.code, "name": row.name, "address": row.address, "compound": row.compound,
            "distance_m": round(float(far[best]), 1)}


# the checks after a resolution (核查, then 结案) a leader of the ground takes
_CHECKS = ("verify", "return", "close")


def _verifications(session: Session, principal: Principal, listed: set[int], lon: float | None, lat: float | None,
                   now: Any) -> list[dict[str, Any]]:
    """Resolutions waiting for this leader's eyes (核查) and verified incidents waiting for the close (结案), on the
    ground they answer for: their work as much as a task handed to them, though no one handed it (kind `verify`; the
    row's id is minus the incident's, as no task row stands behind it). Not what they resolved themselves."""
    if not principal.can(LEAD) or principal.is_staff:
        return []
    grid = aliased(Area)
    stmt = visible(select(Incident, grid.code, Category).join(grid, grid.id == Incident.grid_id)
                   .join(Category, Category.code == Incident.category_code)
                   .where(Incident.status.in_(("resolved", "verified"))), principal, grid)
    out: list[dict[str, Any]] = []
    for incident, grid_code, category in session.execute(stmt.order_by(Incident.id)):
        if incident.id in listed:
            continue
        allowed = allowed_steps(incident, principal, grid_code, resolved_by=resolver(session, incident))
        if not set(allowed) & set(_CHECKS):
            continue
        point = to_point(incident.location)
        distance = (round(float(distances_m(lon, lat, point.x, point.y)[0]), 1) if lon is not None and lat is not None else None)
        due = incident.verify_due_at if incident.status == "resolved" and incident.verify_due_at else incident.due_at
        out.append({
            "id": -incident.id, "kind": "verify", "title": f"{category.name}: {incident.description or ''}"[:256],
            "status": "open", "incident_id": incident.id, "incident_status": incident.status, "area_code": grid_code,
            "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)}, "distance_m": distance,
            "due_at": due.isoformat() if due else None, "overdue": bool(due and due < now), "scheduled_for": None,
            "address": incident.address_text,
            "navigate": destination(point.x, point.y, incident.address_text or category.name,
                                    (lon, lat) if lon is not None and lat is not None else None),
            "incident": {"category": category.code, "category_name": category.name, "urgency": incident.urgency,
                         "description": incident.description, **_reporter(principal, incident, grid_code)},
            "patrol": None, "allowed": allowed,
            "_sort": (due, distance if distance is not None else float("inf")),
        })
    return out


def _by_id(session: Session, model: type[_Row], ids: set[int]) -> dict[int | None, _Row]:
    """The rows of these ids, by id (the key type admits None: a task's optional ids look them up, None finding nothing)."""
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}

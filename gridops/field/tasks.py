"""A worker's list: incidents to handle and patrol visits, soonest due first, then nearest."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import distances_m

from gridops.access.policy import Forbidden, Principal
from gridops.core import clock
from gridops.core.models import Area, Building, Category, Household, Incident, PatrolRegister, Task, Worker
from gridops.core.shapes import to_point
from gridops.field.patrols import KINDS
from gridops.incidents.loop import TASK_ACTIVE, allowed_steps
from gridops.incidents.seen import resolver

_Row = TypeVar("_Row", Incident, PatrolRegister)


def tasks_of(session: Session, principal: Principal, lon: float | None, lat: float | None, everything: bool = False) -> dict[str, Any]:
    """What the worker must do, with what a phone screen shows of each: what, where, how far, by when."""
    if principal.worker_id is None:
        raise Forbidden(f"a {principal.role} has no tasks: tasks are for workers.")
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
    rows: list[dict[str, Any]] = []
    for task in tasks:
        point = to_point(task.location) if task.location is not None else None
        distance = (round(float(distances_m(lon, lat, point.x, point.y)[0]), 1)
                    if point is not None and lon is not None and lat is not None else None)
        incident = incidents.get(task.incident_id)
        grid = grids.get(incident.grid_id) if incident else task.area_code
        reg = registers.get(task.patrol_id)
        rows.append({
            "id": task.id, "kind": task.kind, "title": task.title, "status": task.status,
            "incident_id": task.incident_id, "incident_status": incident.status if incident else None,
            "area_code": task.area_code,
            "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)} if point else None,
            "distance_m": distance,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "overdue": bool(task.due_at and task.due_at < now and task.status in TASK_ACTIVE),
            "scheduled_for": task.scheduled_for.isoformat() if task.scheduled_for else None,
            "address": (buildings.get(task.building_id or (incident.building_id if incident else None))
                        or (incident.address_text if incident else None)),
            "incident": {"category": incident.category_code, "category_name": categories[incident.category_code].name,
                         "urgency": incident.urgency, "description": incident.description} if incident else None,
            "patrol": {"register": reg.id if reg else None, "kind": reg.kind if reg else None,
                       "kind_name": KINDS.get(reg.kind, (reg.kind,))[0] if reg else None, "person": reg.person if reg else None,
                       "phone": reg.phone if reg else None, "household": households.get(task.household_id)}
            if task.kind == "patrol" else None,
            "order": task.order_id, "checklist": task.checklist or [],
            "allowed": (allowed_steps(incident, principal, grid, resolved_by=resolver(session, incident)) if incident
                        else (["visit"] if task.status in TASK_ACTIVE else [])),
            "_sort": (task.due_at or task.scheduled_for, distance if distance is not None else float("inf")),
        })
    far_future = now.replace(year=now.year + 100)
    rows.sort(key=lambda r: (r["_sort"][0] or far_future, r["_sort"][1], r["id"]))
    for r in rows:
        r.pop("_sort")
    return {"worker": {"code": worker.code, "name": worker.name, "role": worker.role}, "tasks": rows}


def _by_id(session: Session, model: type[_Row], ids: set[int]) -> dict[int | None, _Row]:
    """The rows of these ids, by id (the key type admits None: a task's optional ids look them up, None finding nothing)."""
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}

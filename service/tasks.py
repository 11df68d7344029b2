"""A worker's list: incidents to handle and patrol visits, soonest due first, then nearest."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.crs import distances_m

from . import clock
from .auth import Forbidden, Principal
from .models import Area, Incident, Task, Worker
from .workflow import allowed_steps

ACTIVE = ("open", "accepted")


def tasks_of(session: Session, principal: Principal, lon: float | None, lat: float | None, everything: bool = False) -> dict[str, Any]:
    if principal.worker_id is None:
        raise Forbidden(f"a {principal.role} has no tasks: tasks are for workers.")
    worker = session.get(Worker, principal.worker_id)
    stmt = select(Task).where(Task.worker_id == worker.id)
    if not everything:
        stmt = stmt.where(Task.status.in_(ACTIVE))
    tasks = list(session.scalars(stmt))
    now = clock.utcnow()
    points = [to_shape(t.location) if t.location is not None else None for t in tasks]
    distances: list[float | None] = [None] * len(tasks)
    if lon is not None and lat is not None and any(points):
        for k, p in enumerate(points):
            if p is not None:
                distances[k] = round(float(distances_m(lon, lat, p.x, p.y)[0]), 1)
    rows = []
    for task, point, distance in zip(tasks, points, distances, strict=True):
        incident = session.get(Incident, task.incident_id) if task.incident_id else None
        grid = session.scalar(select(Area.code).where(Area.id == incident.grid_id)) if incident else task.area_code
        rows.append({
            "id": task.id, "kind": task.kind, "title": task.title, "status": task.status,
            "incident_id": task.incident_id, "incident_status": incident.status if incident else None,
            "area_code": task.area_code,
            "location": {"lon": round(point.x, 7), "lat": round(point.y, 7)} if point else None,
            "distance_m": distance,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "overdue": bool(task.due_at and task.due_at < now and task.status in ACTIVE),
            "scheduled_for": task.scheduled_for.isoformat() if task.scheduled_for else None,
            "allowed": allowed_steps(incident, principal, grid) if incident else [],
            "_sort": (task.due_at or task.scheduled_for, distance if distance is not None else float("inf")),
        })
    far_future = now.replace(year=now.year + 100)
    rows.sort(key=lambda r: (r["_sort"][0] or far_future, r["_sort"][1], r["id"]))
    for r in rows:
        r.pop("_sort")
    return {"worker": {"code": worker.code, "name": worker.name, "role": worker.role}, "tasks": rows}

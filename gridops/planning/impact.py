"""What publishing a plan would change, against the version in force: households that change
grid, workers whose grid is retired or redrawn, grids with no worker, and the open incidents
and scheduled patrol visits that would change grid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.plan import Plan

from gridops.core import clock
from gridops.core.models import Area, Assignment, Building, Incident, Task, Worker
from gridops.incidents.loop import CLOSED, TASK_ACTIVE
from gridops.planning.community import Community


def uncovered_of(session: Session, layer_id: int, grids: list[str], at: datetime) -> list[str]:
    """The grids of a plan nobody would answer for at `at`: no active worker assigned to the grid or a micro-grid
    within it (gridops.registers.people.uncovered_grids: the same rule, over the version in force)."""
    held = set(session.scalars(
        select(Assignment.area_code).join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.layer_id == layer_id, Worker.active.is_(True), Assignment.in_force(at))))
    return sorted(g for g in grids if not any(h.startswith(g) for h in held))


def impact(session: Session, com: Community, plan: Plan, digits: int = 3) -> dict[str, Any]:
    """What publishing the plan would change, against the version in force."""
    hh = {u.code: u.households for u in com.ground.units}
    moved = [u for u, (g, _) in plan.assignment.items() if com.published.get(u, (g,))[0] != g]
    total = sum(hh.values()) or 1
    now = clock.now()
    kept = {a.code for a in plan.grids}
    changed = {a.code for a in plan.grids if a.status != "unchanged"}
    work = session.execute(
        select(Assignment.area_code, Assignment.duty, Worker.code, Worker.name)
        .join(Worker, Worker.id == Assignment.worker_id)
        .where(Assignment.layer_id == com.layer_id, Assignment.area_code.like(f"{com.code}%"),
               Assignment.in_force(now))
        .order_by(Assignment.area_code, Assignment.duty)
    ).all()
    workers = []
    for area, duty, code, name in work:
        if len(area) < len(com.code) + digits:
            continue  # community staff answer for the community, which a plan does not redraw
        grid = area[: len(com.code) + digits]
        if grid not in kept:
            workers.append({"worker": code, "name": name, "duty": duty, "area": area, "change": "retired",
                            "message": f"{name} ({duty}) answers for {area}, which the plan retires: assign them anew."})
        elif grid in changed:
            workers.append({"worker": code, "name": name, "duty": duty, "area": area, "change": "redrawn",
                            "message": f"{name} ({duty}) keeps {grid}, whose ground changes."})
    unstaffed = uncovered_of(session, com.layer_id, [a.code for a in plan.grids], now)

    tree = shapely.STRtree([a.geometry for a in plan.grids])
    codes = [a.code for a in plan.grids]

    def new_grid(point: BaseGeometry) -> str | None:
        hit = tree.query(point, predicate="intersects")
        return codes[int(hit[0])] if len(hit) else None

    grid_area = Area.__table__.alias("g")
    rows = session.execute(
        select(Incident.id, Incident.status, Incident.location.ST_AsBinary(), grid_area.c.code, Worker.code)
        .join(grid_area, grid_area.c.id == Incident.grid_id)
        .outerjoin(Worker, Worker.id == Incident.assignee_id)
        .where(grid_area.c.code.like(f"{com.code}%"), Incident.status.not_in(CLOSED))
    ).all()
    incidents = []
    for iid, status, wkb, old, assignee in rows:
        new = new_grid(shapely.from_wkb(bytes(wkb)))
        if new is not None and new != old:
            incidents.append({"id": str(iid), "status": status, "from": old, "to": new, "assignee": assignee})
    patrol_rows = session.execute(
        select(Task.id, Task.area_code, Task.scheduled_for, Building.code)
        .join(Building, Building.id == Task.building_id)
        .where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE), Task.area_code.like(f"{com.code}%"))
    ).all()
    visits = []
    for tid, old, when, bcode in patrol_rows:
        new = plan.assignment.get(bcode, (old,))[0]
        if new != old:
            visits.append({"task": tid, "building": bcode, "from": old, "to": new,
                           "scheduled_for": when.isoformat() if when else None})
    flows: dict[tuple[str, str], list[int]] = {}
    for u in moved:
        old = com.published.get(u)
        if old is None:
            continue  # a building new since the grids were drawn joins its grid, it moves from nowhere
        flow = flows.setdefault((old[0], plan.assignment[u][0]), [0, 0])
        flow[0] += hh[u]
        flow[1] += 1
    moves = [{"from": a, "to": b, "households": n, "buildings": k}
             for (a, b), (n, k) in sorted(flows.items(), key=lambda kv: (-kv[1][0], kv[0]))]
    return {
        "moves": moves,
        "households_moved": sum(hh[u] for u in moved),
        "households_keep_grid": round(1 - sum(hh[u] for u in moved) / total, 4),
        "buildings_moved": len(moved),
        "grids": {"unchanged": sum(a.status == "unchanged" for a in plan.grids),
                  "changed": sum(a.status == "changed" for a in plan.grids),
                  "new": sum(a.status == "new" for a in plan.grids), "retired": plan.retired},
        "workers": workers,
        "grids_without_worker": unstaffed,
        "open_incidents": incidents,
        "patrol_visits": visits,
    }

"""The closed loop (闭环): which step may follow which, and who may take it.

reported 上报 → accepted 受理 → assessed 研判 → dispatched 派遣 → in_progress 处置
→ resolved 反馈 → verified 核查 → closed 结案 → followed_up 回访, with returned
(sent back for rework), escalated (one tier up the ladder) and merged (a
duplicate) beside it. Every step is an append-only event; a step the state or
the role does not allow is refused with what would be allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.core import clock
from gridops.access.users import Principal
from gridops.core.errors import Conflict, GridopsError, InvalidParameter
from gridops.incidents.records import CLOSED, Context, can_see, notify, record
from gridops.core.models import Area, Category, Incident, IncidentEvent, Task, Worker
from gridops.incidents.photos import Photo, store
from gridops.incidents.routing import LADDER, OPEN, Ground, route

STAFF = ("command_centre", "admin")
LEADERS = ("grid_leader", "community_admin", *STAFF)


class IllegalTransition(GridopsError):
    status = 409
    slug = "illegal-transition"


class TooFar(GridopsError):
    status = 422
    slug = "too-far"


@dataclass(frozen=True)
class Step:
    action: str
    sources: tuple[str, ...]
    target: str | None  # None: the status stays
    roles: tuple[str, ...]  # who may, within the ground they answer for
    assignee: bool = False  # the incident's assignee may, whatever their role
    needs_note: bool = False


STEPS = {s.action: s for s in (
    Step("accept", ("reported",), "accepted", LEADERS, assignee=True),
    Step("assess", ("accepted",), "assessed", LEADERS, assignee=True),
    Step("dispatch", ("assessed", "escalated"), "dispatched", LEADERS),
    # a worker taking a task walks the steps to dispatched that are still open, each recorded
    Step("take", ("reported", "accepted", "assessed", "escalated"), "dispatched", (), assignee=True),
    Step("reassign", ("reported", "accepted", "assessed", "dispatched", "in_progress", "returned", "escalated"), None, LEADERS),
    Step("reject", ("reported", "accepted", "assessed", "dispatched", "escalated"), None, (), assignee=True, needs_note=True),
    Step("check_in", ("dispatched", "returned"), "in_progress", (), assignee=True),
    Step("resolve", ("in_progress",), "resolved", (), assignee=True, needs_note=True),
    Step("verify", ("resolved",), "verified", LEADERS),
    Step("return", ("resolved",), "returned", LEADERS, needs_note=True),
    Step("close", ("verified",), "closed", LEADERS),
    Step("rate", ("closed",), "followed_up", ("resident", *STAFF)),
    # also from reported (nobody took it in time) and escalated (nobody took it at this tier either)
    Step("escalate", ("reported", "accepted", "assessed", "dispatched", "in_progress", "returned", "escalated"), "escalated",
         LEADERS, assignee=True, needs_note=True),
    Step("supervise", OPEN, None, STAFF),
    Step("merge", ("reported", "accepted", "assessed"), "merged", LEADERS),
    Step("split", ("merged",), "reported", LEADERS),
    Step("comment", OPEN + CLOSED, None, ("resident", "grid_worker", "grid_leader", "community_admin", "department", *STAFF), assignee=True),
)}
_CHAIN = ("reported", "accepted", "assessed", "dispatched")


@dataclass
class Act:
    """What came with a step."""

    note: str | None = None
    lon: float | None = None
    lat: float | None = None
    rating: int | None = None
    worker: str | None = None  # reassign / dispatch to this worker code
    target: int | None = None  # merge into this incident
    photos: list[Photo] = field(default_factory=list)


def allowed_steps(incident: Incident, principal: Principal | None, grid_code: str) -> list[str]:
    return [a for a, s in STEPS.items() if incident.status in s.sources and _may(s, incident, principal, grid_code)]


def _may(step: Step, incident: Incident, principal: Principal | None, grid_code: str) -> bool:
    if principal is None:  # the system: the sweeper, duplicate detection
        return True
    if step.assignee and principal.worker_id is not None and incident.assignee_id == principal.worker_id:
        return True
    if principal.role not in step.roles:
        return False
    if principal.role == "resident":
        return incident.reporter_user_id == principal.user_id
    return can_see(principal, incident, grid_code)


def act(session: Session, ctx: Context, incident_id: int, action: str, a: Act, principal: Principal | None,
        checkin_max_m: float = 200.0) -> dict[str, Any]:
    """Take one step of the loop; answers with the incident's new state."""
    step = STEPS.get(action)
    if step is None:
        raise InvalidParameter("action", f"no step {action!r}; steps: {', '.join(STEPS)}.", allowed=list(STEPS))
    incident = session.get(Incident, incident_id, with_for_update=True)
    grid_code = session.scalar(select(Area.code).where(Area.id == incident.grid_id)) if incident else None
    if incident is None or (principal is not None and not (can_see(principal, incident, grid_code) or _may(step, incident, principal, grid_code))):
        from gridops.core.errors import NotFound

        raise NotFound(f"no incident {incident_id} that you may see.")
    if incident.status not in step.sources:
        raise IllegalTransition(
            f"incident {incident.id} is {incident.status}; '{action}' needs it {' or '.join(step.sources)}.",
            status_now=incident.status, allowed=allowed_steps(incident, principal, grid_code),
        )
    if not _may(step, incident, principal, grid_code):
        from gridops.access.users import Forbidden

        who = "its assignee" if step.assignee and not step.roles else " or ".join(step.roles)
        raise Forbidden(f"'{action}' on incident {incident.id} is for {who}.", allowed=allowed_steps(incident, principal, grid_code))
    if step.needs_note and not (a.note or "").strip():
        raise InvalidParameter("note", f"'{action}' needs a note saying why or what was done.")
    now = clock.utcnow()
    where = (a.lon, a.lat) if a.lon is not None and a.lat is not None else None
    photos = [(p, _stored(p, ctx)) for p in a.photos]
    handler = _HANDLERS.get(action, _simple)
    handler(session, ctx, incident, step, a, principal, now, where, photos, grid_code, checkin_max_m)
    session.flush()
    return {"id": incident.id, "status": incident.status, "assignee": _ref(session, incident.assignee_id),
            "tier": incident.tier, "routing_reason": incident.routing_reason, "due_at": incident.due_at.isoformat(),
            "supervised_at": incident.supervised_at.isoformat() if incident.supervised_at else None,
            "allowed": allowed_steps(incident, principal, grid_code)}


def _stored(photo: Photo, ctx: Context) -> str:
    path, wrote = store(photo, ctx.instance_path)
    if wrote:
        ctx.written.append(path)
    return path


def _ref(session: Session, worker_id: int | None) -> dict[str, Any] | None:
    w = session.get(Worker, worker_id) if worker_id else None
    return {"code": w.code, "name": w.name, "role": w.role} if w else None


def _simple(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    record(session, incident, step.action, step.target, principal, at=now, note=a.note, location=where, photos=photos)


def _take(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    """A worker takes the task: the loop's remaining steps to dispatched, each recorded."""
    names = {"reported": "accept", "accepted": "assess", "assessed": "dispatch", "escalated": "dispatch"}
    while incident.status != "dispatched":
        nxt = "dispatched" if incident.status == "escalated" else _CHAIN[_CHAIN.index(incident.status) + 1]
        record(session, incident, names[incident.status], nxt, principal, at=now, note=a.note, location=where)
    _tasks(session, incident, {"open": "accepted"})


def _tasks(session: Session, incident: Incident, change: dict[str, str], worker_id: int | None = None) -> None:
    for task in session.scalars(select(Task).where(Task.incident_id == incident.id, Task.status.in_(list(change)))):
        if worker_id is None or task.worker_id == worker_id:
            task.status = change[task.status]
            if task.status == "done":
                task.completed_at = clock.utcnow()


def _give(session: Session, incident: Incident, worker_id: int | None, reason: str, now: datetime, grid_code: str) -> None:
    """Hand the incident to a worker: the old task ends, the new one opens, both are told."""
    previous = incident.assignee_id
    _tasks(session, incident, {"open": "cancelled", "accepted": "cancelled"})
    incident.assignee_id, incident.routing_reason = worker_id, reason
    if worker_id is not None:
        category = session.get(Category, incident.category_code)
        session.add(Task(kind="incident", title=f"{category.name}: {incident.description or ''}"[:256], status="open",
                         incident_id=incident.id, worker_id=worker_id, area_code=grid_code, location=incident.location,
                         due_at=incident.due_at, created_at=now))
        notify(session, worker_id, incident, "assigned", f"incident {incident.id} is yours: {reason}", now)
    if previous and previous != worker_id:
        notify(session, previous, incident, "unassigned", f"incident {incident.id} went to another worker: {reason}", now)


def _ground(session: Session, incident: Incident, grid_code: str) -> Ground:
    """The grid and the community and street above it, walking the tree (a cluster level may sit between)."""
    codes: dict[str, str] = {}
    node = session.get(Area, incident.grid_id)
    while node is not None:
        codes[node.level] = node.code
        node = session.get(Area, node.parent_id) if node.parent_id else None
    return Ground(grid_code, codes.get("community"), codes.get("street"))


def _reroute(session, ctx, incident, grid_code, now, tier: str, exclude=()) -> None:
    point = to_shape(incident.location)
    ref = ctx.references.current(session)
    chosen = route(session, ref, ref.category(incident.category_code), _ground(session, incident, grid_code), now,
                   tz=ctx.timezone, lon=point.x, lat=point.y, layer=ctx.geocoder.primary_layer, tier=tier, exclude=exclude)
    incident.tier = chosen.tier
    if chosen.department_code:
        incident.department_code = chosen.department_code
    _give(session, incident, chosen.worker_id, chosen.reason, now, grid_code)


def _dispatch(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    if a.worker:
        _give(session, incident, _worker_id(session, a.worker), f"dispatched by {principal.name if principal else 'system'}", now, grid_code)
    record(session, incident, "dispatch", "dispatched", principal, at=now, note=a.note, location=where)


def _reassign(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    before = incident.assignee_id
    if a.worker:
        _give(session, incident, _worker_id(session, a.worker), f"reassigned by {principal.name if principal else 'system'}", now, grid_code)
    else:
        _reroute(session, ctx, incident, grid_code, now, incident.tier if incident.tier in LADDER else "grid", exclude=[before] if before else [])
    record(session, incident, "reassign", None, principal, at=now, note=a.note, location=where,
           data={"from": before, "to": incident.assignee_id, "reason": incident.routing_reason})


def _reject(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    rejecters = {e.actor_id for e in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id, IncidentEvent.action == "reject"))}
    rejecters.add(incident.assignee_id)
    before = incident.assignee_id
    _reroute(session, ctx, incident, grid_code, now, incident.tier if incident.tier in LADDER else "grid", exclude=rejecters)
    record(session, incident, "reject", None, principal, at=now, note=a.note, location=where,
           data={"from": before, "to": incident.assignee_id, "reason": incident.routing_reason})


def _check_in(session, ctx, incident, step, a, principal, now, where, photos, grid_code, max_m) -> None:
    if where is None:
        raise InvalidParameter("lon", "a check-in needs the worker's position: lon and lat.")
    point = to_shape(incident.location)
    distance = float(distances_m(point.x, point.y, where[0], where[1])[0])
    index = ctx.geocoder.versions(None, session)[ctx.geocoder.primary_layer].index
    areas, _, _ = index.locate_one(where[0], where[1])
    col = index.levels.index("grid")
    here = index.codes[areas[col]] if areas[col] >= 0 else None
    if distance > max_m:
        raise TooFar(f"you are {distance:,.0f} m from incident {incident.id}; check in within {max_m:g} m.", distance_m=round(distance, 1))
    if here != grid_code:
        raise TooFar(f"you are in grid {here or 'none'}, not the incident's grid {grid_code}.", distance_m=round(distance, 1), grid=here)
    if principal and principal.worker_id:
        worker = session.get(Worker, principal.worker_id)
        worker.last_position, worker.last_seen_at = from_shape(Point(*where), srid=STORAGE_SRID), now
    record(session, incident, "check_in", "in_progress", principal, at=now, note=a.note, location=where,
           data={"distance_m": round(distance, 1)}, photos=photos)
    _tasks(session, incident, {"open": "accepted"})


def _resolve(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    record(session, incident, "resolve", "resolved", principal, at=now, note=a.note, location=where, photos=photos)
    _tasks(session, incident, {"open": "done", "accepted": "done"})


def _return(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    record(session, incident, "return", "returned", principal, at=now, note=a.note, location=where, photos=photos)
    _give(session, incident, incident.assignee_id, "returned for rework", now, grid_code)


def _close(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    record(session, incident, "close", "closed", principal, at=now, note=a.note, location=where)
    incident.closed_at = now
    _tasks(session, incident, {"open": "cancelled", "accepted": "done"})
    for merged in session.scalars(select(Incident).where(Incident.merged_into_id == incident.id, Incident.status == "merged")):
        record(session, merged, "comment", None, None, at=now, note=f"the incident it was merged into ({incident.id}) is closed")


def _rate(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    if a.rating is None or not 1 <= a.rating <= 5:
        raise InvalidParameter("rating", "a rating is a whole number from 1 to 5.")
    incident.rating, incident.rating_comment = a.rating, a.note
    record(session, incident, "rate", "followed_up", principal, at=now, note=a.note, data={"rating": a.rating})


def _escalate(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    current = incident.tier if incident.tier in LADDER else "grid"
    if current == LADDER[-1]:
        raise IllegalTransition(f"incident {incident.id} is already at the top of the ladder ({current}).")
    before = incident.assignee_id
    _reroute(session, ctx, incident, grid_code, now, LADDER[LADDER.index(current) + 1])
    record(session, incident, "escalate", "escalated", principal, at=now, note=a.note, location=where,
           data={"from_tier": current, "to_tier": incident.tier, "from": before, "to": incident.assignee_id, "reason": incident.routing_reason})


def _supervise(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    incident.supervised_at = now
    record(session, incident, "supervise", None, principal, at=now, note=a.note or "督办")
    notify(session, incident.assignee_id, incident, "supervised", f"incident {incident.id} is supervised (督办): {a.note or 'overdue'}", now)


def _merge(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    if not a.target or a.target == incident.id:
        raise InvalidParameter("target", "'merge' needs the id of another, open incident as `target`.")
    target = session.get(Incident, a.target)
    if target is None or target.status not in OPEN:
        raise Conflict(f"incident {a.target} is not open; merge into an open incident.", field="target")
    incident.merged_into_id = target.id
    record(session, incident, "merge", "merged", principal, at=now, note=a.note, data={"into": target.id})
    _tasks(session, incident, {"open": "cancelled", "accepted": "cancelled"})


def _split(session, ctx, incident, step, a, principal, now, where, photos, grid_code, _max) -> None:
    was = incident.merged_into_id
    incident.merged_into_id = None
    record(session, incident, "split", "reported", principal, at=now, note=a.note, data={"from": was})
    _reroute(session, ctx, incident, grid_code, now, "grid")


def _worker_id(session: Session, code: str) -> int:
    wid = session.scalar(select(Worker.id).where(Worker.code == code, Worker.active.is_(True)))
    if wid is None:
        raise InvalidParameter("worker", f"no active worker has the code {code!r}.")
    return wid


_HANDLERS = {
    "take": _take, "dispatch": _dispatch, "reassign": _reassign, "reject": _reject, "check_in": _check_in,
    "resolve": _resolve, "return": _return, "close": _close, "rate": _rate, "escalate": _escalate,
    "supervise": _supervise, "merge": _merge, "split": _split,
}

"""The people register: workers and staff, and the areas they answer for, with effective dates.

An assignment says a worker answers for an area (by its stable code) from one moment until another,
so "who answered for grid X on day D" has one answer (`answered_for`), and routing, the measures
per worker and the users' scope all read the same rows. A worker who leaves is deactivated, never
deleted: their history keeps their name, and their open work is handed on in the same transaction,
each move a `reassign` event on the incident, so the grid's backup or leader sees it at once.

A community admin keeps the people of their own community; an admin keeps everyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_PEOPLE, READ_PEOPLE, Forbidden, Principal, require_permission
from gridops.access.users import sync_user_areas
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import AppUser, Area, Assignment, Department, Incident, Layer, ReferenceChange, Task, Worker
from gridops.core.words import Say
from gridops.field.patrols import schedule_visits
from gridops.incidents.context import Context
from gridops.incidents.loop import STEPS, TASK_ACTIVE
from gridops.incidents.steps import Act, act
from gridops.registers.audit import record_change

# what a worker record does (gridops.access.policy.ROLES maps sign-in roles onto these)
WORKER_ROLES = {
    "grid_worker": ("网格员", "grid worker"),
    "grid_leader": ("网格长", "grid leader"),
    "community_staff": ("社区工作人员", "community staff"),
    "street_staff": ("街道工作人员", "street staff"),
    "department_staff": ("职能部门人员", "department staff"),
    "supervisor": ("指挥中心值班员", "command-centre supervisor"),
}
LOCAL_ROLES = ("grid_worker", "grid_leader", "community_staff")  # the roles a community admin may give
DUTIES = {"primary": ("责任人", "answers for it"), "backup": ("B 角", "backup"), "leader": ("网格长", "grid leader")}
KIND_WORKER, KIND_ASSIGNMENT = "worker", "assignment"
_FIELDS = ("name", "phone", "role", "department_code")


@dataclass(frozen=True)
class WorkerQuery:
    area: str | None = None  # only those answering for this area (or an area within it)
    text: str | None = None  # a part of the code, name or phone
    active: bool | None = True
    at: datetime | None = None  # assignments in force then (default: those not yet ended, future ones included)
    limit: int = 500


# --- reading -------------------------------------------------------------------------------------


def list_workers(session: Session, who: Principal | None, q: WorkerQuery) -> list[dict[str, Any]]:
    """The people a user may see: all for staff and planners (and the command line), else those answering for their ground."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
    at = q.at or clock.now()
    stmt = select(Worker).order_by(Worker.code).limit(q.limit)
    if q.active is not None:
        stmt = stmt.where(Worker.active.is_(q.active))
    if q.text:
        like = f"%{q.text.strip()}%"
        stmt = stmt.where(or_(Worker.code.like(like), Worker.name.like(like), Worker.phone.like(like)))
    scope = None if who is None or who.is_staff or who.policy.measures == "all" else who.areas
    if q.area or scope is not None:
        # asked about a moment: the assignments in force then; else those not yet ended (a worker starting on
        # Monday is already one of the grid's people)
        held = select(Assignment.worker_id).where(Assignment.in_force(at) if q.at else Assignment.not_ended(at))
        if q.area:
            held = held.where(within(Assignment.area_code, q.area))
        if scope is not None:
            held = held.where(or_(*[within(Assignment.area_code, a) for a in scope]) if scope else Assignment.id < 0)
        stmt = stmt.where(Worker.id.in_(held))
    workers = list(session.scalars(stmt))
    return _views(session, workers, at)


def get_worker(session: Session, who: Principal | None, code: str) -> dict[str, Any]:
    return _views(session, [seen_worker(session, who, code)], clock.now(), history=True)[0]


def seen_worker(session: Session, who: Principal | None, code: str) -> Worker:
    """The worker, if `who` may read them (None: the command line, which reads everyone)."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
    worker = _worker(session, code)
    if who is not None and not _sees(session, who, worker):
        raise NotFound(Say("no worker %(code)r on ground you answer for.", code=code), field="code")
    return worker


def answered_for(session: Session, area_code: str, at: datetime, layer: str = "grid", *,
                 who: Principal | None = None) -> list[dict[str, Any]]:
    """Who answered for an area at a moment: each duty and its worker (the one answer measures and audits use).
    A reader with a ground of their own asks about areas of it only."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
        if not (who.is_staff or who.policy.measures == "all" or who.covers(area_code)):
            raise NotFound(Say("no area %(area_code)r on ground you answer for.", area_code=area_code), field="area")
    rows = session.execute(
        select(Assignment.duty, Worker.code, Worker.name, Assignment.valid_from, Assignment.valid_to)
        .join(Worker, Worker.id == Assignment.worker_id).join(Layer, Layer.id == Assignment.layer_id)
        .where(Layer.code == layer, Assignment.area_code == area_code, Assignment.in_force(at))
        .order_by(Assignment.id)
    ).all()
    return [{"duty": d, "worker": c, "name": n, "valid_from": f.isoformat(), "valid_to": t.isoformat() if t else None}
            for d, c, n, f, t in rows]


def uncovered_grids(session: Session, layer: str, at: datetime | None = None) -> list[str]:
    """The grids in force that no active worker answers for (as worker, backup or leader, of the grid or a micro-grid
    within it) at `at`."""
    at = at or clock.now()
    version = version_in_force(session, layer, at)
    if version is None:
        return []
    grids = session.scalars(select(Area.code).where(Area.version_id == version.id, Area.level == "grid").order_by(Area.code))
    held = set(session.scalars(
        select(Assignment.area_code).join(Worker, Worker.id == Assignment.worker_id).join(Layer, Layer.id == Assignment.layer_id)
        .where(Layer.code == layer, Worker.active.is_(True), Assignment.in_force(at))))
    # a worker of one of its micro-grids answers for the grid too (gridops.planning.impact.uncovered_of: the same rule)
    return [g for g in grids if not any(h.startswith(g) for h in held)]


# --- changing ------------------------------------------------------------------------------------


def add_worker(session: Session, ctx: Context, who: Principal | None, *, code: str, name: str, role: str,
               phone: str | None = None, department_code: str | None = None, note: str | None = None) -> dict[str, Any]:
    """A new person who takes work (not yet answering for any area: `assign` does that)."""
    _may_keep(who)
    code, name = code.strip(), name.strip()
    if not code:
        raise InvalidParameter("code", Say("a worker needs a code (工号)."))
    if not name:
        raise InvalidParameter("name", Say("a worker needs a name."))
    _check_role(session, who, role, department_code)
    if session.scalar(select(Worker.id).where(Worker.code == code)) is not None:
        raise Conflict(Say("worker code %(code)r is taken: give another 工号.", code=code), field="code")
    worker = Worker(code=code, name=name, phone=(phone or "").strip() or None, role=role, department_code=department_code,
                    active=True)
    session.add(worker)
    session.flush()
    record_change(session, who, KIND_WORKER, code, "create", None, _facts(worker), note=note)
    return _views(session, [worker], clock.now())[0]


def update_worker(session: Session, ctx: Context, who: Principal | None, code: str, *, note: str | None = None,
                  **changes: Any) -> dict[str, Any]:
    """Change a worker's name, phone, role or department (a leaver is `deactivate_worker`)."""
    worker = kept_worker(session, who, code)
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], Say("a worker's %(fields)s may be changed; not %(value)s.",
                                                       fields=', '.join(_FIELDS), value=', '.join(sorted(unknown))))
    before = _facts(worker)
    if "name" in changes:
        if not (changes["name"] or "").strip():
            raise InvalidParameter("name", Say("a worker needs a name."))
        worker.name = changes["name"].strip()
    if "phone" in changes:
        worker.phone = (changes["phone"] or "").strip() or None
    if "role" in changes or "department_code" in changes:
        role = changes.get("role", worker.role)
        dept = changes.get("department_code", worker.department_code)
        _check_role(session, who, role, dept)
        worker.role, worker.department_code = role, dept
    session.flush()
    record_change(session, who, KIND_WORKER, code, "update", before, _facts(worker), note=note)
    return _views(session, [worker], clock.now())[0]


def deactivate_worker(session: Session, ctx: Context, who: Principal | None, code: str, *, note: str | None = None,
                      at: datetime | None = None) -> dict[str, Any]:
    """A worker leaves: their assignments end, their sign-ins stop, and their open work goes on.

    Each open incident is reassigned as the loop does it (the grid's backup, else its leader, …),
    one `reassign` event each; open patrol visits are given to whoever now answers for the grid."""
    worker = kept_worker(session, who, code)
    if not worker.active:
        raise Conflict(Say("worker %(code)r is already inactive.", code=code), field="code")
    now = at or clock.now()
    before = _facts(worker)
    worker.active = False
    ended = _end_all(session, who, worker, now, "the worker left")
    for user in session.scalars(select(AppUser).where(AppUser.worker_id == worker.id, AppUser.active.is_(True))):
        user.active = False  # their token and pages stop at the next request, in every process
    session.flush()
    moved = _hand_on(session, ctx, worker, note or f"{worker.name} ({code}) left")
    visits = _reschedule_visits(session, ctx, worker, now)
    record_change(session, who, KIND_WORKER, code, "deactivate", before, _facts(worker), note=note, at=now)
    view = _views(session, [worker], now)[0]
    view.update(moved=moved, ended_assignments=ended, visits_moved=visits)
    return view


def assign(session: Session, ctx: Context, who: Principal | None, code: str, *, area: str, duty: str,
           valid_from: datetime | None = None, valid_to: datetime | None = None, note: str | None = None,
           by_plan: bool = False) -> dict[str, Any]:
    """Make a worker answer for an area from `valid_from` (default now), e.g. a new worker from Monday.

    `by_plan`: the publisher of a grid plan staffs the grids it draws (Staffing): the right to publish the plan is
    the right to name its grids' workers, so the keeper's checks on `who` are not asked; the trail names them."""
    if by_plan:
        worker = session.scalar(select(Worker).where(Worker.code == code).with_for_update())
        if worker is None:
            raise NotFound(Say("no worker has the code %(code)r.", code=code), field="code")
    else:
        worker = kept_worker(session, who, code)
    if not worker.active:
        raise Conflict(Say("worker %(code)r is inactive: reactivate them or assign someone else.", code=code), field="code")
    if duty not in DUTIES:
        raise InvalidParameter("duty", Say("duty must be one of %(duties)s; got %(duty)r.", duties=', '.join(DUTIES), duty=duty),
                               allowed=list(DUTIES))
    layer = ctx.geocoder.primary_layer
    start = valid_from or clock.now()
    _require_area(session, layer, area, start)
    if who is not None and not by_plan and not (who.is_staff or who.covers(area)):
        raise Forbidden(Say("area %(area)s is not ground you answer for.", area=area))
    if valid_to is not None and valid_to <= start:
        raise InvalidParameter("valid_to", Say("an assignment must end after it starts."))
    overlap = session.scalar(select(Assignment.id).where(
        Assignment.worker_id == worker.id, Assignment.area_code == area, Assignment.duty == duty,
        Assignment.not_ended(start),
        *([Assignment.valid_from < valid_to] if valid_to else [])))
    if overlap is not None:
        raise Conflict(Say("%(code)s is already %(duty)s of %(area)s then (assignment %(overlap)s).",
                           code=code, duty=duty, area=area, overlap=overlap), field="area", assignment=overlap)
    layer_id = session.scalar(select(Layer.id).where(Layer.code == layer))
    row = Assignment(worker_id=worker.id, layer_id=layer_id, area_code=area, duty=duty, valid_from=start, valid_to=valid_to)
    session.add(row)
    session.flush()
    sync_user_areas(session, [worker.id])
    record_change(session, who, KIND_ASSIGNMENT, str(row.id), "create", None, _assignment_facts(row, worker), note=note)
    return _assignment_view(row, worker, layer)


@dataclass(frozen=True)
class Staffing:
    """What publishing a plan asks of the people register, in the publisher's transaction
    (gridops.planning.publish.Staffing): the workers named for its grids assigned, the assignments of the grids
    it retires ended — each in the trail, as when done by hand."""

    session: Session
    ctx: Context
    who: Principal | None
    note: str

    def assign(self, grid: str, code: str, start: datetime) -> None:
        """`code` answers for `grid` as its grid worker from `start`."""
        assign(self.session, self.ctx, self.who, code, area=grid, duty="primary", valid_from=start, note=self.note, by_plan=True)

    def retire(self, layer_id: int, area: str, at: datetime) -> int:
        """Every assignment to `area` not ended by `at` ends then (the grid is retired); the right to publish the
        plan is the right to end them. How many ended."""
        rows = list(self.session.scalars(select(Assignment).where(
            Assignment.layer_id == layer_id, Assignment.area_code == area, Assignment.not_ended(at))))
        return len(_end_rows(self.session, self.who, rows, at, self.note))


def end_assignment(session: Session, ctx: Context, who: Principal | None, assignment_id: int, *,
                   valid_to: datetime | None = None, note: str | None = None) -> dict[str, Any]:
    """An assignment ends (default: now); a future one may be ended before it starts (it is then void)."""
    row = session.get(Assignment, assignment_id, with_for_update=True)
    worker = session.get(Worker, row.worker_id) if row else None
    if row is None or worker is None or (who is not None and not (who.is_staff or who.covers(row.area_code))):
        raise NotFound(Say("no assignment %(assignment_id)s on ground you answer for.", assignment_id=assignment_id))
    _may_keep(who)
    end = valid_to or clock.now()
    if row.valid_to is not None and row.valid_to <= end:
        raise Conflict(Say("assignment %(assignment_id)s already ended at %(value)s.",
                           assignment_id=assignment_id, value=row.valid_to.isoformat()))
    before = _assignment_facts(row, worker)
    row.valid_to = max(end, row.valid_from)
    session.flush()
    sync_user_areas(session, [worker.id])
    record_change(session, who, KIND_ASSIGNMENT, str(row.id), "end", before, _assignment_facts(row, worker), note=note)
    layer = session.scalar(select(Layer.code).where(Layer.id == row.layer_id)) or ""
    return _assignment_view(row, worker, layer)


# --- inside ---------------------------------------------------------------------------------------


def _may_keep(who: Principal | None) -> None:
    if who is not None:
        require_permission(who, KEEP_PEOPLE)


def _worker(session: Session, code: str) -> Worker:
    worker = session.scalar(select(Worker).where(Worker.code == code))
    if worker is None:
        raise NotFound(Say("no worker has the code %(code)r.", code=code), field="code")
    return worker


def _held_areas(session: Session, worker_id: int) -> list[str]:
    now = clock.now()
    return list(session.scalars(select(Assignment.area_code).where(
        Assignment.worker_id == worker_id, Assignment.not_ended(now))))


def _ground(session: Session, worker: Worker) -> list[str]:
    """The areas a worker belongs to: those they answer for now, else the last one they answered for (a leaver
    stays with the community they left); none for someone never assigned."""
    held = _held_areas(session, worker.id)
    if held:
        return held
    last = session.scalar(select(Assignment.area_code).where(Assignment.worker_id == worker.id)
                          .order_by(Assignment.valid_to.desc(), Assignment.id.desc()).limit(1))
    return [last] if last else []


def _added_by(session: Session, who: Principal, worker: Worker) -> bool:
    """Whether `who` added this worker (the audit trail says who made each record)."""
    creator = session.scalar(select(ReferenceChange.actor_user_id).where(
        ReferenceChange.kind == KIND_WORKER, ReferenceChange.key == worker.code, ReferenceChange.action == "create")
        .order_by(ReferenceChange.id).limit(1))
    return creator is not None and creator == who.user_id


def _sees(session: Session, who: Principal, worker: Worker) -> bool:
    if who.is_staff or who.policy.measures == "all":
        return True
    ground = _ground(session, worker)
    return any(who.covers(a) for a in ground) if ground else _added_by(session, who, worker)


def kept_worker(session: Session, who: Principal | None, code: str) -> Worker:
    """The worker, if `who` may change them: staff anyone; a community admin the people of their own ground
    (answering for it now, or last — a leaver), and those they added who answer for nothing yet."""
    _may_keep(who)
    worker = session.scalar(select(Worker).where(Worker.code == code).with_for_update())
    if worker is None:
        raise NotFound(Say("no worker has the code %(code)r.", code=code), field="code")
    if who is not None and not who.is_staff:
        if worker.role not in LOCAL_ROLES:
            raise Forbidden(Say("a %(role)s is kept by the district admin.", role=worker.role))
        ground = _ground(session, worker)
        if ground and not all(who.covers(a) for a in ground):
            raise Forbidden(Say("worker %(code)s answers for ground that is not yours; the district admin changes them.", code=code))
        if not ground and not _added_by(session, who, worker):
            raise Forbidden(Say("worker %(code)s answers for no area yet and was added by someone else; the district admin "
                                "or whoever added them assigns them.",
                                code=code))
    return worker


def _check_role(session: Session, who: Principal | None, role: str, department_code: str | None) -> None:
    if role not in WORKER_ROLES:
        raise InvalidParameter("role", Say("role must be one of %(worker_roles)s; got %(role)r.",
                                           worker_roles=', '.join(WORKER_ROLES), role=role), allowed=list(WORKER_ROLES))
    if who is not None and not who.is_staff and role not in LOCAL_ROLES:
        raise Forbidden(Say("a community admin adds %(local_roles)s; a %(role)s is added by the district admin.",
                            local_roles=', '.join(LOCAL_ROLES), role=role))
    if role == "department_staff" and not department_code:
        raise InvalidParameter("department_code", Say("department staff need their department (police, fire, …)."))
    if department_code:
        require_department(session, department_code)


def require_department(session: Session, code: str) -> None:
    """A department named by a worker or a category exists (the answer lists those that do)."""
    if session.get(Department, code) is None:
        known = list(session.scalars(select(Department.code).order_by(Department.code)))
        raise InvalidParameter("department_code", Say("no department %(code)r; departments: %(known)s.",
                                                      code=code, known=', '.join(known)), allowed=known)


def _require_area(session: Session, layer: str, code: str, at: datetime) -> None:
    """The area exists in the boundaries in force when the assignment starts (a grid drawn from Monday is
    assigned from Monday)."""
    version = version_in_force(session, layer, at)
    found = version is not None and session.scalar(
        select(Area.id).where(Area.version_id == version.id, Area.code == code)) is not None
    if not found:
        raise InvalidParameter("area", Say("no area %(code)r in the boundaries of layer %(layer)r in force on %(at)s.",
                                           code=code, layer=layer, at=format(at, "%Y-%m-%d")))


def within(column: Any, code: str) -> Any:
    """The area or one inside it: codes are hierarchical (a grid's code starts with its community's)."""
    return column.like(code.replace("%", "").replace("_", r"\_") + "%", escape="\\")


def _end_all(session: Session, who: Principal | None, worker: Worker, at: datetime, note: str) -> list[int]:
    rows = list(session.scalars(select(Assignment).where(Assignment.worker_id == worker.id, Assignment.not_ended(at))))
    return _end_rows(session, who, rows, at, note)


def _end_rows(session: Session, who: Principal | None, rows: list[Assignment], at: datetime, note: str) -> list[int]:
    """The assignments end at `at` (one not yet started is void), each in the trail; their workers' sign-ins follow."""
    for row in rows:
        worker = session.get(Worker, row.worker_id)
        assert worker is not None  # a NOT NULL foreign key
        before = _assignment_facts(row, worker)
        row.valid_to = max(at, row.valid_from)
        record_change(session, who, KIND_ASSIGNMENT, str(row.id), "end", before, _assignment_facts(row, worker), note=note, at=at)
    session.flush()
    if rows:
        sync_user_areas(session, sorted({r.worker_id for r in rows}))
    return [r.id for r in rows]


def _hand_on(session: Session, ctx: Context, worker: Worker, why: str) -> list[dict[str, Any]]:
    """Every open incident the worker holds, reassigned by the loop's own rule (the system as actor)."""
    movable = STEPS["reassign"].sources
    ids = list(session.scalars(select(Incident.id).where(Incident.assignee_id == worker.id, Incident.status.in_(movable))
                               .order_by(Incident.id)))
    moved = []
    for incident_id in ids:
        state = act(session, ctx, incident_id, "reassign", Act(note=why), None)
        moved.append({"incident": incident_id, "to": (state["assignee"] or {}).get("code"), "reason": state["routing_reason"]})
    return moved


def _reschedule_visits(session: Session, ctx: Context, worker: Worker, now: datetime) -> int:
    """Open patrol visits of a leaver are cancelled and scheduled again for whoever answers for the grid now."""
    tasks = list(session.scalars(select(Task).where(Task.worker_id == worker.id, Task.kind == "patrol",
                                                    Task.status.in_(TASK_ACTIVE))))
    for task in tasks:
        task.status, task.note = "cancelled", f"{worker.name} left: visit given to the grid's next worker"
    if tasks:
        session.flush()
        schedule_visits(session, ctx, now)
    return len(tasks)


def _facts(worker: Worker) -> dict[str, Any]:
    return {"code": worker.code, "name": worker.name, "phone": worker.phone, "role": worker.role,
            "department_code": worker.department_code, "active": bool(worker.active)}


def _assignment_facts(row: Assignment, worker: Worker) -> dict[str, Any]:
    return {"worker": worker.code, "area": row.area_code, "duty": row.duty, "valid_from": row.valid_from,
            "valid_to": row.valid_to}


def _assignment_view(row: Assignment, worker: Worker, layer: str) -> dict[str, Any]:
    return {"id": row.id, "worker": worker.code, "layer": layer, "area": row.area_code, "duty": row.duty,
            "duty_name": DUTIES[row.duty][0] if row.duty in DUTIES else row.duty,
            "valid_from": row.valid_from.isoformat(), "valid_to": row.valid_to.isoformat() if row.valid_to else None}


def _views(session: Session, workers: list[Worker], at: datetime, *, history: bool = False) -> list[dict[str, Any]]:
    ids = [w.id for w in workers]
    if not ids:
        return []
    layers = dict(session.execute(select(Layer.id, Layer.code)).all())
    rows = select(Assignment).where(Assignment.worker_id.in_(ids)).order_by(Assignment.valid_from, Assignment.id)
    if not history:
        rows = rows.where(Assignment.not_ended(at))
    by_worker: dict[int, list[Assignment]] = {}
    for a in session.scalars(rows):
        by_worker.setdefault(a.worker_id, []).append(a)
    open_work = dict(session.execute(
        select(Task.worker_id, func.count(Task.id)).where(Task.worker_id.in_(ids), Task.status.in_(TASK_ACTIVE))
        .group_by(Task.worker_id)).all())
    out = []
    for w in workers:
        names = WORKER_ROLES.get(w.role, (w.role, w.role))
        out.append({
            "code": w.code, "name": w.name, "phone": w.phone, "role": w.role, "role_name": names[0], "role_name_en": names[1],
            "department_code": w.department_code, "active": bool(w.active), "open_tasks": int(open_work.get(w.id, 0)),
            "assignments": [_assignment_view(a, w, layers.get(a.layer_id, "")) for a in by_worker.get(w.id, [])],
        })
    return out

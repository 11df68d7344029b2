"""The people register in bulk: workers (人员) and their assignments, from the office's workbook and back.

A street office keeps its people in a spreadsheet long before gridops; at the start, and after each
reshuffle, the whole sheet comes in at once. Each row goes through the people register's own functions
(gridops.registers.people: add, change, deactivate, assign, end), so a file meets the checks a change
made by hand meets and leaves the same trail per person and assignment — and one audit row for the file.
Rows are all checked before anything is stored; a file with a bad row stores nothing and names each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gridops.access.policy import ALL, KEEP_PEOPLE, READ_PEOPLE, Principal, require_permission
from gridops.boundaries.areas import version_in_force
from gridops.core import clock
from gridops.core.models import Area, Assignment, Department, Layer, Worker
from gridops.core.timeparse import format_local, parse_time
from gridops.incidents.context import Context
from gridops.registers import people
from gridops.registers.files import MAX_ROWS, Imported, Outcome, Problems, Sheet, apply_rows, check_rows, limited, one_of, why, yes_no

KIND_WORKERS, KIND_ASSIGNMENTS = "workers", "assignments"  # the audit kinds of a file's import
WORKERS = Sheet("workers", ("code", "name", "phone", "role", "department", "active"), ("code",), {
    "工号": "code", "编号": "code", "人员编号": "code", "worker": "code", "姓名": "name", "名字": "name",
    "电话": "phone", "手机": "phone", "手机号": "phone", "联系电话": "phone", "角色": "role", "岗位": "role",
    "部门": "department", "所属部门": "department", "department_code": "department",
    "在岗": "active", "在职": "active", "状态": "active", "是否在岗": "active"})
ASSIGNMENTS = Sheet("assignments", ("area", "worker", "duty", "valid_from", "valid_to"), ("area", "worker"), {
    "区域": "area", "网格": "area", "网格编码": "area", "区域编码": "area", "area_code": "area",
    "工号": "worker", "人员": "worker", "worker_code": "worker", "职责": "duty", "分工": "duty",
    "开始": "valid_from", "开始日期": "valid_from", "起始日期": "valid_from", "生效日期": "valid_from", "from": "valid_from",
    "结束": "valid_to", "结束日期": "valid_to", "终止日期": "valid_to", "to": "valid_to"})
_ROLE_NAMES = {k.lower(): code for code, names in people.WORKER_ROLES.items() for k in (code, *names)}
_DUTY_NAMES = {**{k.lower(): code for code, names in people.DUTIES.items() for k in (code, *names)},
               "b角": "backup", "a角": "primary", "备岗": "backup", "主责": "primary", "网格员": "primary"}
_FIELDS = {"department_code": "department", "code": "code"}


# --- workers ---------------------------------------------------------------------------------------


@dataclass
class _WorkerRow:
    code: str
    worker: Worker | None  # None: a new worker
    values: dict[str, Any] = field(default_factory=dict)  # name, phone, role, department_code: as the file has them
    leaves: bool = False  # active is no in the file, yes in the register


def import_workers(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                   note: str | None = None) -> Imported:
    """New codes are added, known ones changed where the file differs (a `no` under active: they leave, their work
    handed on), rows as the register has them left alone; all or nothing."""
    if who is not None:
        require_permission(who, KEEP_PEOPLE)
    known = {w.code: w for w in session.scalars(select(Worker))}
    departments: dict[str, str] = {}
    for code, dept_name, dept_en in session.execute(select(Department.code, Department.name, Department.name_en)):
        departments.update({k.lower(): code for k in (code, dept_name, dept_en) if k})
    problems = Problems(_FIELDS)
    checked = check_rows(WORKERS.rows(data, name), lambda n, row: _check_worker(n, row, known, departments, who, problems),
                         problems, WORKERS)
    because = why(note, name)

    def apply(number: int, plan: _WorkerRow) -> Outcome:
        if plan.worker is None:
            people.add_worker(session, ctx, who, code=plan.code, note=because, **plan.values)
            return "created"
        changes = {k: v for k, v in plan.values.items() if getattr(plan.worker, k) != v}
        if changes:
            people.update_worker(session, ctx, who, plan.code, note=because, **changes)
        if plan.leaves:
            people.deactivate_worker(session, ctx, who, plan.code, note=because)
        return "updated" if changes or plan.leaves else "unchanged"

    return apply_rows(session, who, KIND_WORKERS, name, note, checked, apply, problems, "code")


def _check_worker(number: int, row: dict[str, Any], known: dict[str, Worker], departments: dict[str, str],
                  who: Principal | None, problems: Problems) -> _WorkerRow | None:
    before = len(problems.found)
    code = problems.key(number, row.get("code"), "code", "worker code (工号)", 32)
    if code is None:
        return None
    worker = known.get(code)
    plan = _WorkerRow(code, worker)
    name = problems.value(number, "name", lambda v: limited(v, "name", 64), row.get("name"))
    if name:
        plan.values["name"] = name
    elif worker is None:
        problems.add(number, "name", f"a new worker ({code}) needs a name (姓名).")
    if "phone" in row:
        plan.values["phone"] = problems.value(number, "phone", lambda v: limited(v, "phone", 32), row["phone"])
    role = problems.value(number, "role", lambda v: one_of(v, "role", _ROLE_NAMES), row.get("role"))
    if role:
        plan.values["role"] = role
        if who is not None and not who.is_staff and role not in people.LOCAL_ROLES and (worker is None or worker.role != role):
            problems.add(number, "role", f"a community admin gives the roles {', '.join(people.LOCAL_ROLES)}; a {role} is "
                                         "added by the district admin.")
    elif worker is None:
        problems.add(number, "role", f"a new worker ({code}) needs a role (角色): {', '.join(people.WORKER_ROLES)}.")
    if "department" in row:
        plan.values["department_code"] = problems.value(number, "department", lambda v: one_of(v, "department", departments),
                                                        row["department"])
    department = plan.values.get("department_code", worker.department_code if worker else None)
    if plan.values.get("role", worker.role if worker else None) == "department_staff" and not department \
            and len(problems.found) == before:
        problems.add(number, "department", "department staff need their department (police, fire, …).")
    active = problems.value(number, "active", lambda v: yes_no(v, "active"), row.get("active"))
    if worker is None and active is False:
        problems.add(number, "active", f"a new worker ({code}) starts active: leave `active` empty or say yes.")
    elif worker is not None and not worker.active and active:
        problems.add(number, "active", f"worker {code} has left; an import does not bring a leaver back.")
    plan.leaves = worker is not None and bool(worker.active) and active is False
    return plan if len(problems.found) == before else None


def export_workers(session: Session, ctx: Context, who: Principal | None) -> list[dict[str, Any]]:
    """The people `who` may see (everyone for the office; the people of one's ground for a community admin), as
    the import reads them: to correct and import again."""
    found = people.list_workers(session, who, people.WorkerQuery(active=None, limit=MAX_ROWS))
    return [{"code": w["code"], "name": w["name"], "phone": w["phone"], "role": w["role"], "department": w["department_code"],
             "active": w["active"]} for w in found]


# --- assignments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AssignmentRow:
    worker: str
    area: str
    duty: str
    valid_from: datetime | None
    valid_to: datetime | None
    existing: Assignment | None
    ends: bool  # the file ends an assignment the register holds (earlier than it ends now)


def import_assignments(session: Session, ctx: Context, who: Principal | None, data: bytes, *, name: str = "",
                       note: str | None = None) -> Imported:
    """Who answers for which area, from when to when (days and times in the city's zone): a new row makes an
    assignment from its day, a known one (the same worker, area, duty and start) is ended where the file ends it
    earlier; all or nothing."""
    if who is not None:
        require_permission(who, KEEP_PEOPLE)
    layer = ctx.geocoder.primary_layer
    workers = dict(session.execute(select(Worker.code, Worker.active)).all())
    areas = _Areas(session, layer)
    problems = Problems()
    rows = list(ASSIGNMENTS.rows(data, name))
    held = _held(session, layer, {str(r.get("worker")) for _, r in rows if r.get("worker")})
    now = clock.now()
    checked = check_rows(rows, lambda n, row: _check_assignment(n, row, ctx.timezone, workers, areas, held, who, problems, now),
                         problems, ASSIGNMENTS)
    because = why(note, name)

    def apply(number: int, plan: _AssignmentRow) -> Outcome:
        if plan.existing is None:
            people.assign(session, ctx, who, plan.worker, area=plan.area, duty=plan.duty, valid_from=plan.valid_from,
                          valid_to=plan.valid_to, note=because)
            return "created"
        if plan.ends:
            people.end_assignment(session, ctx, who, plan.existing.id, valid_to=plan.valid_to, note=because)
            return "updated"
        return "unchanged"

    return apply_rows(session, who, KIND_ASSIGNMENTS, name, note, checked, apply, problems, "area")


class _Areas:
    """Which area codes exist in the boundaries in force at a moment (each version read once)."""

    def __init__(self, session: Session, layer: str) -> None:
        self.session, self.layer = session, layer
        self.codes: dict[int, set[str]] = {}

    def has(self, code: str, at: datetime) -> bool:
        version = version_in_force(self.session, self.layer, at)
        if version is None:
            return False
        if version.id not in self.codes:
            self.codes[version.id] = set(self.session.scalars(select(Area.code).where(Area.version_id == version.id)))
        return code in self.codes[version.id]


def _held(session: Session, layer: str, codes: set[str]) -> dict[tuple[str, str, str], list[Assignment]]:
    """The assignments of the file's workers, by (worker, area, duty), earliest first."""
    out: dict[tuple[str, str, str], list[Assignment]] = {}
    if not codes:
        return out
    rows = session.execute(select(Assignment, Worker.code).join(Worker, Worker.id == Assignment.worker_id)
                           .join(Layer, Layer.id == Assignment.layer_id)
                           .where(Layer.code == layer, Worker.code.in_(sorted(codes)))
                           .order_by(Assignment.valid_from, Assignment.id))
    for a, code in rows:
        out.setdefault((code, a.area_code, a.duty), []).append(a)
    return out


def _check_assignment(number: int, row: dict[str, Any], tz: str, workers: dict[str, bool], areas: _Areas,
                      held: dict[tuple[str, str, str], list[Assignment]], who: Principal | None, problems: Problems,
                      now: datetime) -> _AssignmentRow | None:
    before = len(problems.found)
    worker, area = row.get("worker"), row.get("area")
    if not worker:
        problems.add(number, "worker", "the worker's code (工号) is empty.")
    elif worker not in workers:
        problems.add(number, "worker", f"no worker has the code {worker}.")
    duty = problems.value(number, "duty", lambda v: one_of(v, "duty", _DUTY_NAMES), row.get("duty")) or "primary"
    start = problems.value(number, "valid_from", lambda v: parse_time(v, tz, "valid_from"), row.get("valid_from"))
    end = problems.value(number, "valid_to", lambda v: parse_time(v, tz, "valid_to"), row.get("valid_to"))
    if start is not None and end is not None and end <= start:
        problems.add(number, "valid_to", f"an assignment ends after it starts; {row['valid_to']} is not after {row['valid_from']}.")
    if not area:
        problems.add(number, "area", "the area's code is empty.")
    elif not areas.has(area, start or now):
        problems.add(number, "area", f"no area {area} in the boundaries in force on {format_local(start or now, tz)[:10]}.")
    elif who is not None and not (who.is_staff or who.covers(area)):
        problems.add(number, "area", f"area {area} is not ground you answer for.")
    if len(problems.found) > before or not worker or not area:
        return None
    if problems.repeated(number, (worker, area, duty, start), "worker", f"{worker} as {duty} of {area} from the same day"):
        return None
    same = held.get((worker, area, duty), [])
    existing = next((a for a in same if a.valid_from == start), None) if start is not None else \
        next((a for a in same if a.valid_to is None or a.valid_to > now), None)
    if existing is None:
        if not workers[worker]:
            problems.add(number, "worker", f"worker {worker} has left: assign someone else.")
            return None
        return _AssignmentRow(worker, area, duty, start, end, None, False)
    if "valid_to" not in row or end == existing.valid_to:
        return _AssignmentRow(worker, area, duty, start, end, existing, False)
    if end is not None and (existing.valid_to is None or end < existing.valid_to):
        return _AssignmentRow(worker, area, duty, start, end, existing, True)
    ends = format_local(existing.valid_to, tz) if existing.valid_to else "never"
    problems.add(number, "valid_to", f"assignment {existing.id} ({worker} {duty} of {area}) ends {ends}; an import ends an "
                                     "assignment earlier, never later or not at all: add a row from a later day instead.")
    return None


def export_assignments(session: Session, ctx: Context, who: Principal | None) -> list[dict[str, Any]]:
    """The assignments not yet ended (those in force and those from a later day), of `who`'s ground, as the import
    reads them; days and times in the city's zone."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
    stmt = (select(Assignment, Worker.code).join(Worker, Worker.id == Assignment.worker_id)
            .join(Layer, Layer.id == Assignment.layer_id)
            .where(Layer.code == ctx.geocoder.primary_layer, Assignment.not_ended(clock.now()))
            .order_by(Assignment.area_code, Assignment.duty, Worker.code, Assignment.valid_from))
    if who is not None and not (who.is_staff or who.policy.measures == ALL):
        stmt = stmt.where(or_(*[people.within(Assignment.area_code, a) for a in who.areas]) if who.areas else Assignment.id < 0)
    tz = ctx.timezone
    return [{"area": a.area_code, "worker": code, "duty": a.duty, "valid_from": format_local(a.valid_from, tz),
             "valid_to": format_local(a.valid_to, tz) if a.valid_to else None} for a, code in session.execute(stmt)]

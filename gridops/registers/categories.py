"""Incident categories as data the city keeps: their class (大类) and names, urgency, a time limit per
stage (accept 受理, handle 处置, verify 核查), who handles them, how duplicates are told apart, and what
the public may see of them.

A changed limit applies to reports made afterwards: an incident keeps the limits it was reported under
(gridops.incidents.deadlines), so shortening the limit for blocked fire exits does not make last week's
reports overdue. Every change is a row of the audit trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_CITY, Principal, require_permission
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import Category, CategoryGroup, Incident
from gridops.core.words import Say
from gridops.incidents.loop import OPEN
from gridops.registers.audit import record_change
from gridops.registers.people import require_department

KIND = "category"
KIND_GROUP = "category_group"
URGENCIES = ("critical", "urgent", "normal", "low")
HANDLERS = ("grid", "department")
LIMITS = ("accept_limit_minutes", "time_limit_minutes", "verify_limit_minutes")  # the stages': accept, handle, verify
EDITABLE = ("name", "name_en", "group_code", "description", "urgency", *LIMITS, "working_time", "handler",
            "department_code", "dedupe_radius_m", "dedupe_window_hours", "keywords", "active", "public", "sensitive",
            "separate_verifier")
GROUP_FIELDS = ("name", "name_en", "position")
MAX_LIMIT_MINUTES = 366 * 24 * 60


def list_categories(session: Session, *, active: bool | None = None) -> list[dict[str, Any]]:
    """The categories in their classes' order (the classes as the city orders them, then by code)."""
    stmt = (select(Category).outerjoin(CategoryGroup, CategoryGroup.code == Category.group_code)
            .order_by(CategoryGroup.position, Category.group_code, Category.code))
    if active is not None:
        stmt = stmt.where(Category.active.is_(active))
    open_counts = dict(session.execute(select(Incident.category_code, func.count(Incident.id))
                                       .where(Incident.status.in_(OPEN)).group_by(Incident.category_code)).all())
    return [dict(category_facts(c), open_incidents=int(open_counts.get(c.code, 0))) for c in session.scalars(stmt)]


def list_groups(session: Session) -> list[dict[str, Any]]:
    """The classes (大类), each with how many categories it holds."""
    counts = dict(session.execute(select(Category.group_code, func.count()).group_by(Category.group_code)).all())
    return [dict(group_facts(g), categories=int(counts.get(g.code, 0)))
            for g in session.scalars(select(CategoryGroup).order_by(CategoryGroup.position, CategoryGroup.code))]


def set_group(session: Session, who: Principal | None, code: str, *, note: str | None = None,
              **fields: Any) -> dict[str, Any]:
    """Create a class, or change its names or place in the order."""
    may_keep(who)
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise InvalidParameter("code", Say("a class (大类) needs a code of 1 to 64 characters."))
    unknown = set(fields) - set(GROUP_FIELDS)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], Say("no class field %(value)s; fields: %(group_fields)s.",
                                                       value=', '.join(sorted(unknown)), group_fields=', '.join(GROUP_FIELDS)))
    group = session.get(CategoryGroup, code)
    before = group_facts(group) if group is not None else None
    if group is None:
        if not (fields.get("name") or "").strip():
            raise InvalidParameter("name", Say("a new class %(code)r needs its name.", code=code))
        group = CategoryGroup(code=code, position=next_position(session))
        session.add(group)
    for key in ("name", "name_en"):
        if key in fields:
            value = fields[key]
            if value is not None and not isinstance(value, str):
                raise InvalidParameter(key, Say("%(key)s is text; got %(value)r.", key=key, value=value))
            value = (value or "").strip() or None
            if key == "name" and value is None:
                raise InvalidParameter("name", Say("a class's name may not be empty."))
            setattr(group, key, value)
    if "position" in fields:
        position = fields["position"]
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 1_000_000:
            raise InvalidParameter("position", Say("position is a whole number from 0; got %(position)r.", position=position))
        group.position = position
    session.flush()
    after = group_facts(group)
    if after != before:
        record_change(session, who, KIND_GROUP, code, "create" if before is None else "update", before, after, note=note)
    return after


def remove_group(session: Session, who: Principal | None, code: str, *, note: str | None = None) -> None:
    """A class no category belongs to any more may go."""
    may_keep(who)
    group = session.get(CategoryGroup, code)
    if group is None:
        raise NotFound(Say("no class %(code)r.", code=code), field="code")
    held = session.scalar(select(func.count()).select_from(Category).where(Category.group_code == code))
    if held:
        raise Conflict(Say("class %(code)r still holds %(held)s categories: move them to another class first.", code=code,
                           held=held), field="code")
    record_change(session, who, KIND_GROUP, code, "remove", group_facts(group), None, note=note)
    session.delete(group)
    session.flush()


def next_position(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(CategoryGroup.position), 0))) or 0) + 10


def group_facts(g: CategoryGroup) -> dict[str, Any]:
    return {"code": g.code, "name": g.name, "name_en": g.name_en, "position": g.position}


def get_category(session: Session, code: str) -> dict[str, Any]:
    return category_facts(_category(session, code))


def create_category(session: Session, who: Principal | None, *, code: str, note: str | None = None,
                    **fields: Any) -> dict[str, Any]:
    may_keep(who)
    code = code.strip()
    if not code:
        raise InvalidParameter("code", Say("a category needs a code (hazard.fire_lane, …)."))
    if session.get(Category, code) is not None:
        raise Conflict(Say("category %(code)r exists: change it instead.", code=code), field="code")
    for required in ("name", "name_en", "urgency", "time_limit_minutes"):
        if fields.get(required) in (None, ""):
            raise InvalidParameter(required, Say("a new category needs its %(required)s.", required=required))
    category = Category(code=code, handler="grid", working_time=False, active=True, public=True, sensitive=False,
                        separate_verifier=True)
    apply_fields(session, category, fields)
    session.add(category)
    session.flush()
    record_change(session, who, KIND, code, "create", None, category_facts(category), note=note)
    return category_facts(category)


def update_category(session: Session, who: Principal | None, code: str, *, note: str | None = None,
                    **changes: Any) -> dict[str, Any]:
    """Change what the city says of a category; reports made before keep the deadline they got."""
    may_keep(who)
    category = _category(session, code)
    before = category_facts(category)
    apply_fields(session, category, changes)
    session.flush()
    after = category_facts(category)
    if after != before:
        record_change(session, who, KIND, code, "update", before, after, note=note)
    return after


def may_keep(who: Principal | None) -> None:
    if who is not None:
        require_permission(who, KEEP_CITY)


def _category(session: Session, code: str) -> Category:
    found = session.get(Category, code)
    if found is None:
        raise NotFound(Say("no category %(code)r.", code=code), field="code")
    return found


def apply_fields(session: Session, c: Category, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], Say("no category field %(value)s; fields: %(editable)s.",
                                                       value=', '.join(sorted(unknown)), editable=', '.join(EDITABLE)))
    if changes.get("group_code") == "":
        changes = {**changes, "group_code": None}  # an emptied field: in no class
    for key in ("name", "name_en", "group_code", "description", "keywords", "department_code", "urgency", "handler"):
        if key in changes and changes[key] is not None and not isinstance(changes[key], str):
            raise InvalidParameter(key, Say("%(key)s is text; got %(changes)r.", key=key, changes=changes[key]))
    for key in ("working_time", "active", "public", "sensitive", "separate_verifier"):
        if key in changes and not isinstance(changes[key], bool):
            raise InvalidParameter(key, Say("%(key)s is true or false; got %(changes)r.", key=key, changes=changes[key]))
    for key in ("name", "name_en"):
        if key in changes and not (changes[key] or "").strip():
            raise InvalidParameter(key, Say("a category's %(key)s may not be empty.", key=key))
    if "urgency" in changes and changes["urgency"] not in URGENCIES:
        raise InvalidParameter("urgency", Say("urgency is one of %(urgencies)s.", urgencies=', '.join(URGENCIES)), allowed=list(URGENCIES))
    if "handler" in changes and changes["handler"] not in HANDLERS:
        raise InvalidParameter("handler", Say("handler is one of %(handlers)s.", handlers=', '.join(HANDLERS)), allowed=list(HANDLERS))
    for key in LIMITS:
        if key not in changes or (changes[key] is None and key != "time_limit_minutes"):
            continue  # the accept and verify stages may have no limit of their own
        limit = changes[key]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT_MINUTES:
            raise InvalidParameter(key, Say("a time limit is 1 to %(max_limit_minutes)s minutes; got %(limit)r.",
                                            max_limit_minutes=MAX_LIMIT_MINUTES, limit=limit))
    accept = changes.get("accept_limit_minutes", c.accept_limit_minutes)
    handle = changes.get("time_limit_minutes", c.time_limit_minutes)
    if accept is not None and handle is not None and accept > handle:
        raise InvalidParameter("accept_limit_minutes", Say("accepting (%(accept)s min) cannot take longer than handling the "
                                                           "whole of it (%(handle)s min).",
                                                           accept=accept, handle=handle))
    group = changes.get("group_code")
    if group is not None and session.get(CategoryGroup, group.strip()) is None:
        raise InvalidParameter("group_code", Say("no class (大类) %(group)r: add it first (PUT /api/v1/category-groups/{code}).",
                                                 group=group))
    for key in ("dedupe_radius_m", "dedupe_window_hours"):
        value = changes.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 < value <= 100_000):
            raise InvalidParameter(key, Say("%(key)s is a positive number (or null for none); got %(value)r.", key=key, value=value))
    dept = changes.get("department_code", c.department_code)
    if dept is not None:
        require_department(session, dept)
    if changes.get("handler", c.handler) == "department" and not dept:
        raise InvalidParameter("department_code", Say("a category handled by a department names the department."))
    for key, value in changes.items():
        setattr(c, key, value.strip() if isinstance(value, str) else value)


def category_facts(c: Category) -> dict[str, Any]:
    return {key: getattr(c, key) for key in ("code", *EDITABLE)}

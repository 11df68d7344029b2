"""Incident categories as data the city keeps: names, urgency, time limit, who handles them, how
duplicates are told apart, and what the public may see of them.

A changed limit applies to reports made afterwards: an incident's deadline is fixed when it is
reported (Incident.due_at), so shortening the limit for blocked fire exits does not make last
week's reports overdue. Every change is a row of the audit trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridops.access.policy import KEEP_CITY, Principal, require_permission
from gridops.core.errors import Conflict, InvalidParameter, NotFound
from gridops.core.models import Category, Incident
from gridops.incidents.loop import OPEN
from gridops.registers.audit import record_change
from gridops.registers.people import require_department

KIND = "category"
URGENCIES = ("critical", "urgent", "normal", "low")
HANDLERS = ("grid", "department")
EDITABLE = ("name", "name_en", "group_code", "description", "urgency", "time_limit_minutes", "working_time", "handler",
            "department_code", "dedupe_radius_m", "dedupe_window_hours", "keywords", "active", "public", "sensitive",
            "separate_verifier")
MAX_LIMIT_MINUTES = 366 * 24 * 60


def list_categories(session: Session, *, active: bool | None = None) -> list[dict[str, Any]]:
    stmt = select(Category).order_by(Category.group_code, Category.code)
    if active is not None:
        stmt = stmt.where(Category.active.is_(active))
    open_counts = dict(session.execute(select(Incident.category_code, func.count(Incident.id))
                                       .where(Incident.status.in_(OPEN)).group_by(Incident.category_code)).all())
    return [dict(_facts(c), open_incidents=int(open_counts.get(c.code, 0))) for c in session.scalars(stmt)]


def get_category(session: Session, code: str) -> dict[str, Any]:
    return _facts(_category(session, code))


def create_category(session: Session, who: Principal | None, *, code: str, note: str | None = None,
                    **fields: Any) -> dict[str, Any]:
    _may_keep(who)
    code = code.strip()
    if not code:
        raise InvalidParameter("code", "a category needs a code (hazard.fire_lane, …).")
    if session.get(Category, code) is not None:
        raise Conflict(f"category {code!r} exists: change it instead.", field="code")
    for required in ("name", "name_en", "urgency", "time_limit_minutes"):
        if fields.get(required) in (None, ""):
            raise InvalidParameter(required, f"a new category needs its {required}.")
    category = Category(code=code, handler="grid", working_time=False, active=True, public=True, sensitive=False,
                        separate_verifier=True)
    _apply(session, category, fields)
    session.add(category)
    session.flush()
    record_change(session, who, KIND, code, "create", None, _facts(category), note=note)
    return _facts(category)


def update_category(session: Session, who: Principal | None, code: str, *, note: str | None = None,
                    **changes: Any) -> dict[str, Any]:
    """Change what the city says of a category; reports made before keep the deadline they got."""
    _may_keep(who)
    category = _category(session, code)
    before = _facts(category)
    _apply(session, category, changes)
    session.flush()
    after = _facts(category)
    if after != before:
        record_change(session, who, KIND, code, "update", before, after, note=note)
    return after


def _may_keep(who: Principal | None) -> None:
    if who is not None:
        require_permission(who, KEEP_CITY)


def _category(session: Session, code: str) -> Category:
    found = session.get(Category, code)
    if found is None:
        raise NotFound(f"no category {code!r}.", field="code")
    return found


def _apply(session: Session, c: Category, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], f"no category field {', '.join(sorted(unknown))}; fields: {', '.join(EDITABLE)}.")
    for key in ("name", "name_en", "group_code", "description", "keywords", "department_code", "urgency", "handler"):
        if key in changes and changes[key] is not None and not isinstance(changes[key], str):
            raise InvalidParameter(key, f"{key} is text; got {changes[key]!r}.")
    for key in ("working_time", "active", "public", "sensitive", "separate_verifier"):
        if key in changes and not isinstance(changes[key], bool):
            raise InvalidParameter(key, f"{key} is true or false; got {changes[key]!r}.")
    for key in ("name", "name_en"):
        if key in changes and not (changes[key] or "").strip():
            raise InvalidParameter(key, f"a category's {key} may not be empty.")
    if "urgency" in changes and changes["urgency"] not in URGENCIES:
        raise InvalidParameter("urgency", f"urgency is one of {', '.join(URGENCIES)}.", allowed=list(URGENCIES))
    if "handler" in changes and changes["handler"] not in HANDLERS:
        raise InvalidParameter("handler", f"handler is one of {', '.join(HANDLERS)}.", allowed=list(HANDLERS))
    if "time_limit_minutes" in changes:
        limit = changes["time_limit_minutes"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT_MINUTES:
            raise InvalidParameter("time_limit_minutes", f"a time limit is 1 to {MAX_LIMIT_MINUTES} minutes; got {limit!r}.")
    for key in ("dedupe_radius_m", "dedupe_window_hours"):
        value = changes.get(key)
        if value is not None and not (isinstance(value, int | float) and 0 < value <= 100_000):
            raise InvalidParameter(key, f"{key} is a positive number (or null for none); got {value!r}.")
    dept = changes.get("department_code", c.department_code)
    if dept is not None:
        require_department(session, dept)
    if changes.get("handler", c.handler) == "department" and not dept:
        raise InvalidParameter("department_code", "a category handled by a department names the department.")
    for key, value in changes.items():
        setattr(c, key, value.strip() if isinstance(value, str) else value)


def _facts(c: Category) -> dict[str, Any]:
    return {key: getattr(c, key) for key in ("code", *EDITABLE)}

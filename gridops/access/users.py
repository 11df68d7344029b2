"""Users: made with a token shown once, deactivated, listed, and found by their token.

A token is shown once, when the user is made; only its SHA-256 is stored. Area
codes are hierarchical, so a user who answers for a community answers for all
its grids and micro-grids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import ROLES, Principal
from gridops.access.tokens import hash_token, new_token
from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import AppUser, Assignment, Department, Layer, UserArea, Worker
from gridops.core.words import Say


def add_user(
    session: Session,
    name: str,
    role: str,
    *,
    areas: list[str] | None = None,
    worker_code: str | None = None,
    department: str | None = None,
    phone: str | None = None,
    layer: str = "grid",
) -> tuple[AppUser, str]:
    """Make a user and return it with its token (the only time the token is seen).

    A user with a working role is a worker too: linked to `worker_code`, or a
    new worker is made with assignments to `areas`.
    """
    if role not in ROLES:
        raise InvalidParameter("role", Say("role must be one of %(roles)s; got %(role)r.", roles=', '.join(ROLES), role=role),
                               allowed=list(ROLES))
    policy = ROLES[role]
    name = name.strip()
    if not name:
        raise InvalidParameter("name", Say("a user needs a name."))
    areas = [a.strip() for a in (areas or []) if a.strip()]
    if role == "department":
        if not department:
            raise InvalidParameter("department", Say("a department user needs --department (police, fire, …)."))
        if session.get(Department, department) is None:
            known = list(session.scalars(select(Department.code)))
            raise InvalidParameter("department", Say("no department %(department)r; departments: %(known)s.",
                                                     department=department, known=', '.join(known)))
    now = clock.now()
    worker = None
    if worker_code:
        worker = session.scalar(select(Worker).where(Worker.code == worker_code))
        if worker is None:
            raise InvalidParameter("worker", Say("no worker has the code %(worker_code)r.", worker_code=worker_code))
    elif policy.worker is not None:
        worker_role, duty = policy.worker
        layer_row = session.scalar(select(Layer).where(Layer.code == layer))
        if areas and layer_row is None:
            raise InvalidParameter("area", Say("layer %(layer)r has no boundaries yet; load or import them first.", layer=layer))
        worker = Worker(code=_free_worker_code(session), name=name, phone=phone, role=worker_role,
                        department_code=department, active=True)
        session.add(worker)
        session.flush()
        for code in areas:
            assert layer_row is not None  # refused above when there are areas
            session.add(Assignment(worker_id=worker.id, layer_id=layer_row.id, area_code=code, duty=duty, valid_from=now))
    token = new_token()
    user = AppUser(
        name=name, role=role, worker_id=worker.id if worker else None,
        department_code=department or (worker.department_code if worker else None),
        phone=phone, token_hash=hash_token(token), active=True, created_at=now,
    )
    session.add(user)
    session.flush()
    scope = set(areas)
    if worker is not None:
        scope |= set(session.scalars(select(Assignment.area_code).where(Assignment.worker_id == worker.id, Assignment.valid_to.is_(None))))
    for code in sorted(scope):
        session.add(UserArea(user_id=user.id, area_code=code))
    session.flush()
    return user, token


def _free_worker_code(session: Session) -> str:
    taken = set(session.scalars(select(Worker.code).where(Worker.code.like("U%"))))
    n = len(taken) + 1
    while f"U{n:04d}" in taken:
        n += 1
    return f"U{n:04d}"


def revoke(session: Session, who: str) -> list[AppUser]:
    """Deactivate a user by id or by name: their token stops working at the next request, in every process."""
    stmt = select(AppUser).where(AppUser.active.is_(True))
    stmt = stmt.where(AppUser.id == int(who)) if who.isdigit() else stmt.where(AppUser.name == who)
    users = list(session.scalars(stmt))
    if not users:
        raise NotFound(Say("no active user %(who)r.", who=who))
    if len(users) > 1:
        ids = ", ".join(str(u.id) for u in users)
        raise InvalidParameter("user", Say("%(n_users)s active users are named %(who)r (ids %(ids)s): give the id.",
                                           n_users=len(users), who=who, ids=ids))
    for user in users:
        user.active = False
    session.flush()
    return users


def principal_for(session: Session, token: str | None) -> Principal | None:
    """The principal a token names, or None (no token, unknown or inactive user)."""
    return principal_for_hash(session, hash_token(token)) if token else None


def principal_for_hash(session: Session, token_hash: str) -> Principal | None:
    user = session.scalar(select(AppUser).where(AppUser.token_hash == token_hash, AppUser.active.is_(True)))
    if user is None:
        return None
    areas = tuple(sorted(session.scalars(select(UserArea.area_code).where(UserArea.user_id == user.id))))
    return Principal(user.id, user.name, user.role, user.worker_id, user.department_code, areas)


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user, their role, whether active, and the areas they answer for (tokens are never shown again)."""
    areas: dict[int, list[str]] = {}
    for uid, code in session.execute(select(UserArea.user_id, UserArea.area_code).order_by(UserArea.area_code)):
        areas.setdefault(uid, []).append(code)
    return [{"id": u.id, "name": u.name, "role": u.role, "active": u.active, "areas": areas.get(u.id, [])}
            for u in session.scalars(select(AppUser).order_by(AppUser.id))]


def user_areas(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(UserArea.area_code).where(UserArea.user_id == user_id).order_by(UserArea.area_code)))


def sync_user_areas(session: Session, worker_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """The areas a worker's sign-ins answer for are the areas of their assignments in force now: a grid handed
    over on Monday is no longer theirs from Monday, one given from next week is theirs from next week. Run when
    assignments change and by every sweep (when one starts or ends by the clock); returns the rows changed."""
    now = now or clock.now()
    users = select(AppUser.id, AppUser.worker_id).where(AppUser.worker_id.is_not(None))
    if worker_ids is not None:
        users = users.where(AppUser.worker_id.in_(worker_ids))
    by_worker: dict[int, list[int]] = {}
    for uid, wid in session.execute(users):
        if wid is not None:
            by_worker.setdefault(wid, []).append(uid)
    if not by_worker:
        return 0
    in_force: dict[int, set[str]] = {w: set() for w in by_worker}
    for wid, code in session.execute(select(Assignment.worker_id, Assignment.area_code).where(
            Assignment.worker_id.in_(list(by_worker)), Assignment.in_force(now))):
        in_force[wid].add(code)
    have: dict[int, dict[str, UserArea]] = {}
    user_ids = [u for us in by_worker.values() for u in us]
    for row in session.scalars(select(UserArea).where(UserArea.user_id.in_(user_ids))):
        have.setdefault(row.user_id, {})[row.area_code] = row
    changed = 0
    for wid, uids in by_worker.items():
        for uid in uids:
            mine = have.get(uid, {})
            for code in set(mine) - in_force[wid]:
                session.delete(mine[code])
                changed += 1
            for code in sorted(in_force[wid] - set(mine)):
                session.add(UserArea(user_id=uid, area_code=code))
                changed += 1
    session.flush()
    return changed


LANGUAGES = ("zh_Hans_CN", "en")  # a person's own language: Chinese (the default) or English


def language_of(session: Session, user_id: int) -> str | None:
    """The language the user chose for themselves (pages and their messages), or None if they never chose."""
    return session.scalar(select(AppUser.language).where(AppUser.id == user_id))


def set_language(session: Session, user_id: int, language: str) -> bool:
    """Keep the user's choice of language (the pages' language switch); True when it changed."""
    if language not in LANGUAGES:
        raise InvalidParameter("lang", Say("the language is zh_Hans_CN (Chinese) or en (English), not %(given)r.", given=language))
    user = session.get(AppUser, user_id)
    if user is None or user.language == language:
        return False
    user.language = language
    session.flush()
    return True

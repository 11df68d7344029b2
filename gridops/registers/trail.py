"""The audit trail as each reader may see it: the command centre, planners and admins read all of it; a
community admin or grid leader the changes on their own ground — the people who answer (or last answered)
for it, its assignments, buildings and visit registers, their own imports — and the city's rules
(holiday calendar, categories), which every reader of the registers sees.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.access.policy import ALL, READ_PEOPLE, Principal, require_permission
from gridops.core.errors import NotFound
from gridops.core.models import Building, PatrolRegister
from gridops.incidents.context import Context
from gridops.registers import buildings, calendars, categories, people, rosters
from gridops.registers.audit import ChangeQuery, changes

CITY_WIDE = (calendars.KIND, categories.KIND, rosters.KIND_DEPARTMENT)
_SCAN = 500  # rows read at a time while filling a page of what the reader may see
_MAX_SCANNED = 20_000  # a reader with little ground gets a short page rather than a scan of the whole trail


def visible_changes(session: Session, ctx: Context, who: Principal | None, q: ChangeQuery) -> list[dict[str, Any]]:
    """The trail, newest first, as `who` may read it (None: the command line, which reads all)."""
    return visible_page(session, ctx, who, q)[0]


def visible_page(session: Session, ctx: Context, who: Principal | None, q: ChangeQuery) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the trail as `who` may read it, and where the next (older) page starts — also when the page
    is short because the scan of a reader with little ground stopped, so older rows stay reachable."""
    if who is not None:
        require_permission(who, READ_PEOPLE)
    if who is None or who.policy.measures == ALL:
        rows = changes(session, q)
        return rows, (rows[-1]["id"] if len(rows) == q.limit else None)
    sees = _Sight(session, ctx, who)
    found: list[dict[str, Any]] = []
    cursor, scanned = q.before_id, 0
    while len(found) < q.limit and scanned < _MAX_SCANNED:
        rows = changes(session, replace(q, limit=_SCAN, before_id=cursor))
        for r in rows:
            cursor, scanned = r["id"], scanned + 1
            if sees.change(r):
                found.append(r)
                if len(found) == q.limit:
                    break
        else:  # the whole batch was read
            if len(rows) < _SCAN:
                return found, None  # the start of the trail
    return found, cursor


class _Sight:
    """Whether a row of the trail is on `who`'s ground, each object looked up once."""

    def __init__(self, session: Session, ctx: Context, who: Principal) -> None:
        self.session, self.ctx, self.who = session, ctx, who
        self.known: dict[tuple[str, str], bool] = {}

    def change(self, row: dict[str, Any]) -> bool:
        kind, key = row["kind"], row["key"]
        if kind in CITY_WIDE:
            return True
        if kind == people.KIND_ASSIGNMENT:
            return any(self.who.covers((side or {}).get("area")) for side in (row["after"], row["before"]))
        if row["actor_user_id"] == self.who.user_id:
            return True  # one's own changes (an import of households, a building since moved out)
        if (kind, key) not in self.known:
            self.known[(kind, key)] = self._on_ground(kind, key)
        return self.known[(kind, key)]

    def _on_ground(self, kind: str, key: str) -> bool:
        if kind in (people.KIND_WORKER, rosters.KIND):
            try:
                people.seen_worker(self.session, self.who, key)
            except NotFound:
                return False
            return True
        if kind == buildings.KIND:
            b = self.session.scalar(select(Building).where(Building.code == key))
            return b is not None and self.who.covers(buildings.placed(self.session, self.ctx, b).grid)
        if kind == "register" and key.isdigit():
            b = self.session.scalar(select(Building).join(PatrolRegister, PatrolRegister.building_id == Building.id)
                                    .where(PatrolRegister.id == int(key)))
            return b is not None and self.who.covers(buildings.placed(self.session, self.ctx, b).grid)
        return False

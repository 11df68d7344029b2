"""What a message about an incident says, and who hears it: the fields every template may name, built in one
place, so a task, a warning, an escalation and a resident's answer describe the incident the same way.

The fields (gridops.messages.kinds names them in braces): `incident`, `category` (中文) / `category_en`,
`address` (what was written, else the building's address, else the grid's name), `grid` (its name),
`ground` (the codes of the grid, its community and its street: a group robot matches on them), `due` (city
time, short: 12月3日 17:30) / `due_en` (Dec 3 17:30) / `due_at` (ISO, for a gateway's own template), and as a
step has them `reason`, `note`, `pct`, `from_tier`/`to_tier` (网格/网格长/社区/街道/区; `_en` too),
`department` and `link` (the resident's follow page, absolute at GRIDOPS_PUBLIC_URL).

A resident hears of their own report only: its reporter, signed in (their channels and the app), else the
mobile number they left (SMS); and the reporters whose reports were merged into it, each with their own link.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.models import Area, Building, Category, Department, Incident
from gridops.incidents.names import TIER_NAMES
from gridops.messages.outbox import enqueue
from gridops.reference.data import Reference

# the ladder's tiers as a message names them
TIERS: dict[str, tuple[str, str]] = {code: (term.zh or str(term), str(term)) for code, term in TIER_NAMES.items()}
GROUND_LEVELS = ("grid", "community", "street")
# a mainland mobile number as people write it (with +86, spaces or dashes): the only contact an SMS can reach
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
FOLLOW_PATH = "/follow/"  # + the report's token: the resident's page (gridops.web.pages.resident)


def mobile(contact: str | None) -> str | None:
    """The mobile number in what a reporter left as their contact, or None (a landline, an e-mail, nothing)."""
    if not contact:
        return None
    found = _MOBILE.match(re.sub(r"[\s\-()]", "", contact))
    return found.group(1) if found else None


def follow_token(token: str | None, reporter_user_id: int | None, contact: str | None) -> str | None:
    """The token a new report is followed by: its own, else a fresh one when there is someone to send the link to."""
    if token:
        return token
    return uuid.uuid4().hex if reporter_user_id is not None or mobile(contact) else None


def follow_link(public_url: str, token: str | None) -> str:
    if not token:
        return ""
    return public_url.rstrip("/") + FOLLOW_PATH + token


def when(at: datetime | None, tz: str) -> dict[str, str]:
    """A time in the city's clock, as a message reads it in Chinese and in English (and in ISO for machines)."""
    if at is None:
        return {"due": "", "due_en": "", "due_at": ""}
    local = at.astimezone(ZoneInfo(tz))
    return {"due": f"{local.month}月{local.day}日 {local:%H:%M}", "due_en": f"{local:%b} {local.day} {local:%H:%M}",
            "due_at": at.isoformat()}


def tiers(from_tier: str, to_tier: str) -> dict[str, str]:
    before, after = TIERS.get(from_tier, (from_tier, from_tier)), TIERS.get(to_tier, (to_tier, to_tier))
    return {"from_tier": before[0], "to_tier": after[0], "from_tier_en": before[1], "to_tier_en": after[1]}


def fields(*, incident: int, category: str, category_en: str | None, address: str | None, grid: str, ground: Iterable[str],
           due: datetime | None, tz: str, department: str | None = None, link: str = "", **more: Any) -> dict[str, Any]:
    """The fields of a message about one incident (the intake builds them from what it holds in memory)."""
    return {"incident": incident, "category": category, "category_en": category_en or category, "address": address or grid,
            "grid": grid, "ground": list(ground), **when(due, tz), "department": department or "", "link": link, **more}


class News:
    """The messages of one step about one incident: its fields read once, each person told at most once per step."""

    def __init__(self, session: Session, incident: Incident, tz: str, public_url: str, at: datetime) -> None:
        self.session, self.incident, self.tz, self.public_url, self.at = session, incident, tz, public_url, at
        self._base: dict[str, Any] | None = None
        self._told: set[tuple[str, object]] = set()

    @property
    def base(self) -> dict[str, Any]:
        if self._base is None:
            self._base = self._read()
        return self._base

    def _read(self) -> dict[str, Any]:
        i, s = self.incident, self.session
        category = s.get(Category, i.category_code)
        assert category is not None  # a NOT NULL foreign key
        codes: dict[str, str] = {}
        grid_name = ""
        node = s.get(Area, i.grid_id)
        while node is not None:
            codes.setdefault(node.level, node.code)
            if node.level == "grid" and not grid_name:
                grid_name = node.name
            node = s.get(Area, node.parent_id) if node.parent_id else None
        address = i.address_text
        if not address and i.building_id is not None:
            address = s.scalar(select(Building.address).where(Building.id == i.building_id))
        department = s.scalar(select(Department.name).where(Department.code == i.department_code)) if i.department_code else None
        return fields(incident=i.id, category=category.name, category_en=category.name_en, address=address, grid=grid_name,
                      ground=[codes[level] for level in GROUND_LEVELS if level in codes], due=i.due_at, tz=self.tz,
                      department=department, link=follow_link(self.public_url, i.token))

    def data(self, **more: Any) -> dict[str, Any]:
        """The incident's fields with this message's own (a `due` given here is a time, shown as the others)."""
        out = dict(self.base)
        due = more.pop("due", None)
        if isinstance(due, datetime):
            out.update(when(due, self.tz))
        out.update({k: v for k, v in more.items()})
        if self.incident.department_code and not out.get("department"):
            out["department"] = self.session.scalar(select(Department.name).where(Department.code == self.incident.department_code)) or ""
        return out

    def worker(self, worker_id: int | None, kind: str, **more: Any) -> bool:
        """Tell a worker (none: nobody to tell); False when they were already told of this step."""
        if worker_id is None or ("worker", worker_id) in self._told:
            return False
        self._told.add(("worker", worker_id))
        enqueue(self.session, kind, at=self.at, worker_id=worker_id, incident_id=self.incident.id, data=self.data(**more))
        return True

    def workers(self, worker_ids: Iterable[int | None], kind: str, **more: Any) -> None:
        for wid in worker_ids:
            self.worker(wid, kind, **more)

    def reporters(self, kind: str, **more: Any) -> None:
        """Tell whoever reported it — and whoever reported the same thing, merged into it — each with their own link."""
        merged = list(self.session.scalars(select(Incident).where(Incident.merged_into_id == self.incident.id,
                                                                  Incident.status == "merged")))
        for report in [self.incident, *merged]:
            phone = None if report.reporter_user_id is not None else mobile(report.reporter_contact)
            who: tuple[str, object] = ("user", report.reporter_user_id) if report.reporter_user_id is not None else ("phone", phone)
            if who[1] is None or who in self._told:
                continue
            self._told.add(who)
            enqueue(self.session, kind, at=self.at, user_id=report.reporter_user_id, phone=phone, incident_id=self.incident.id,
                    data=self.data(link=follow_link(self.public_url, report.token), **more))


def leaders(ref: Reference, layer: str, grid_code: str, at: datetime) -> list[int]:
    """Who leads the grid (网格长): told at 75% of the time limit and of its 督办, asked to verify."""
    return ref.assigned(layer, [grid_code], ("leader",), at)

"""Reports by the QR code on a door (码上服务): the label's code names a household's door, or a building's
entrance; an anonymous resident says what happened, and the report goes through the intake like any
other (channel `qr`), placed at the building so it is routed to the grid that answers for it.

A code is read as a household's door code first, then as a building code: the label on a building's
entrance is for what belongs to no one door (a stairwell light, a blocked fire lane, the bins). What the
page shows of the place is the building's name and address and, for a door, its 单元 and room: nothing of
the people who live there, and nothing of other reports.

A resident follows their report by its token (Open311's receipt, `GET /open311/v2/tokens/<token>`): a
random 128-bit value, so only the one who was given it can read the report's progress.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core import clock
from gridops.core.errors import InvalidParameter, NotFound
from gridops.core.models import Building, Category, Household, Incident, IncidentEvent
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.intake.submission import NewReport
from gridops.incidents.loop import CLOSED
from gridops.incidents.photos import Photo
from gridops.incidents.steps import Act, act

CHANNEL = "qr"
DOOR_PATH = "/r/"  # + the code: the resident's page a label opens (gridops.web.pages.resident serves it)
MAX_DESCRIPTION = 2000
MIN_DESCRIPTION = 2  # "漏水" is a report; one character is a slip of the thumb
MAX_CODE = 64
# a phone number as residents write it: digits, with spaces, dashes, a leading + or brackets (0831-1234567, +86 139…)
_PHONE = re.compile(r"^\+?[\d\s\-()]{5,24}$")

# what a resident reads of the loop: phases, not the office's statuses
PHASES: dict[str, str] = {
    "reported": "received", "accepted": "received", "assessed": "received",
    "dispatched": "handling", "in_progress": "handling", "returned": "handling", "reopened": "handling", "escalated": "handling",
    "resolved": "checking", "verified": "checking",
    "closed": "done", "followed_up": "done",
}
PHASE_ORDER = ("received", "handling", "checking", "done")
# the steps a resident sees in their report's history (never who, never notes: the office's words are for the office)
REPORTER_STEPS = ("rate", "not_fixed")  # what a reporter says by their follow-up code
SHOWN_ACTIONS = ("report", "accept", "dispatch", "take", "check_in", "resolve", "verify", "close", "escalate", "return",
                 "not_fixed", "rate", "merge")


class DoorGone(NotFound):
    """The code names a building that was demolished: nobody reports from its door any more."""


@dataclass(frozen=True)
class Door:
    """The place a label names, as the resident's page shows it."""

    code: str
    kind: str  # "household" (a door) or "building" (its entrance)
    building_code: str
    building_name: str | None
    address: str | None
    compound: str | None
    unit: str | None = None
    floor: int | None = None
    room: str | None = None

    @property
    def household(self) -> str | None:
        return self.code if self.kind == "household" else None


def door_url(base_url: str, code: str) -> str:
    """The absolute URL a label encodes: the service's public address, /r/, the code as one path segment."""
    return base_url.rstrip("/") + DOOR_PATH + quote(code, safe="")


def _demolished(b: Building) -> bool:
    return bool((b.attributes or {}).get("demolished_at"))


def find_door(session: Session, code: str) -> Door:
    """The door (or building entrance) a label's code names; NotFound for a code nobody issued, DoorGone for
    a building since demolished."""
    code = (code or "").strip()
    if not code or len(code) > MAX_CODE:
        raise NotFound(Say("no door has the code %(code)r.", code=code[:MAX_CODE]), field="code")
    row = session.execute(select(Household, Building).join(Building, Building.id == Household.building_id)
                          .where(Household.code == code)).first()
    if row is not None:
        h, b = row
        door = Door(h.code, "household", b.code, b.name, b.address, b.compound, h.unit, h.floor, h.room)
    else:
        found = session.scalar(select(Building).where(Building.code == code))
        if found is None:
            raise NotFound(Say("no door or building has the code %(code)r.", code=code), field="code")
        b = found
        door = Door(b.code, "building", b.code, b.name, b.address, b.compound)
    if _demolished(b):
        raise DoorGone(Say("building %(code)s was demolished; its labels no longer take reports.", code=b.code), field="code")
    return door


def public_categories(session: Session) -> list[dict[str, Any]]:
    """What a resident may report from a door: the active categories marked public (care and police matters
    come through the grid worker or the hotline, never an anonymous form), in the office's order."""
    rows = session.scalars(select(Category).where(Category.active.is_(True), Category.public.is_(True))
                           .order_by(Category.group_code, Category.code))
    return [{"code": c.code, "name": c.name, "name_en": c.name_en, "group": c.group_code} for c in rows]


@dataclass(frozen=True)
class ResidentReport:
    """What the resident's form sent, before it is checked."""

    category: str
    description: str
    contact: str | None = None
    photos: tuple[Photo, ...] = ()


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with the form: which field, and why (a code the page says in the resident's language)."""

    field: str  # category, description, contact, photo
    reason: str  # unknown, empty, too_long, not_phone (the photo's: too_large, not_image, too_many)
    detail: str  # in English, for logs and the API's words


def check_report(session: Session, form: ResidentReport) -> list[FormProblem]:
    """Every problem of the form at once (the page marks each field), none raised: a category that is not a
    public one, an empty or overlong description, a phone number that is not one."""
    problems: list[FormProblem] = []
    known = {c["code"] for c in public_categories(session)}
    if form.category not in known:
        problems.append(FormProblem("category", "unknown", f"choose one of the listed categories; {form.category!r} is not one."))
    text = form.description.strip()
    if len(text) < MIN_DESCRIPTION:
        problems.append(FormProblem("description", "empty", "say what happened (at least two characters)."))
    elif len(text) > MAX_DESCRIPTION:
        problems.append(FormProblem("description", "too_long", f"at most {MAX_DESCRIPTION} characters; this is {len(text)}."))
    if form.contact and not _PHONE.match(form.contact.strip()):
        problems.append(FormProblem("contact", "not_phone", "a phone number is digits (spaces, dashes and a leading + allowed)."))
    return problems


def new_report(door: Door, form: ResidentReport) -> NewReport:
    """The intake's report for a checked form: placed at the door's building (and household), channel qr,
    anonymous, with a fresh token for the resident to follow it by."""
    return NewReport(
        category=form.category, channel=CHANNEL, description=form.description.strip(),
        building=door.building_code if door.household is None else None, household=door.household,
        reporter_contact=(form.contact or "").strip() or None, photos=list(form.photos), token=uuid.uuid4().hex,
    )


def _followed(session: Session, token: str) -> tuple[Incident, Incident]:
    """The report a token names, and the incident it follows (itself, or the one it was merged into)."""
    token = (token or "").strip()
    incident = session.scalar(select(Incident).where(Incident.token == token)) if 0 < len(token) <= 40 else None
    if incident is None:
        raise NotFound(Say("no report has this follow-up code."), field="token")
    followed = incident
    if incident.status == "merged" and incident.merged_into_id is not None:
        followed = session.get(Incident, incident.merged_into_id) or incident
    return incident, followed


def follow(session: Session, token: str, reopen_days: float = 7.0) -> dict[str, Any]:
    """A report's progress as its reporter reads it, by the token they were given: the phase it is in, when it
    is due, the steps so far (what, when; never who or the office's notes). A report merged into an earlier
    one follows that one: the same problem, already being handled."""
    mine, followed = _followed(session, token)
    category = session.get(Category, mine.category_code)
    assert category is not None  # a NOT NULL foreign key
    place: dict[str, Any] = {}
    if mine.household_id is not None:
        h = session.get(Household, mine.household_id)
        if h is not None:
            place.update(unit=h.unit, room=h.room)
    if mine.building_id is not None:
        b = session.get(Building, mine.building_id)
        if b is not None:
            place.update(building=b.name or b.code, address=b.address)
    steps = [{"action": a, "at": at} for a, at in session.execute(
        select(IncidentEvent.action, IncidentEvent.at).where(IncidentEvent.incident_id == followed.id,
                                                             IncidentEvent.action.in_(SHOWN_ACTIONS))
        .order_by(IncidentEvent.seq))]
    status = followed.status
    return {
        "id": mine.id, "merged_into": followed.id if followed is not mine else None,
        "category": {"code": category.code, "name": category.name, "name_en": category.name_en},
        "description": mine.description, "place": place, "status": status,
        "phase": PHASES.get(status, "received"), "closed": status in CLOSED,
        "reported_at": mine.reported_at, "due_at": followed.due_at, "closed_at": followed.closed_at,
        "steps": steps, "rating": followed.rating,
        # what the reporter may say now: a rating once it is closed, "not fixed" for some days after the close
        "may_rate": status == "closed",
        "may_reopen": status in ("closed", "followed_up") and followed.closed_at is not None
        and clock.now() - followed.closed_at <= timedelta(days=reopen_days),
    }



def reports_of(session: Session, user_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """A signed-in resident's latest reports, as their door page lists them: the number, what, when, the phase,
    and the follow-up token to open each by."""
    rows = session.execute(select(Incident.id, Incident.token, Incident.status, Incident.reported_at, Category.name,
                                  Category.name_en).join(Category, Category.code == Incident.category_code)
                           .where(Incident.reporter_user_id == user_id).order_by(Incident.id.desc()).limit(limit))
    return [{"number": i, "token": token, "phase": PHASES.get(status, "received"), "reported_at": at, "category": name,
             "category_en": name_en} for i, token, status, at, name, name_en in rows]
def answer(session: Session, ctx: Context, token: str, action: str, *, rating: int | None = None, note: str | None = None) -> str:
    """The reporter's say on a closed report, by the token they hold (no account needed): `rate` (1–5, with a
    comment; 1 or 2 reopens it) or `not_fixed` (within the days after the close, saying what is still wrong).
    The same steps as every other (gridops.incidents.steps); answers the followed incident's status."""
    if action not in REPORTER_STEPS:
        raise InvalidParameter("action", Say("a reporter may %(reporter_steps)s; not %(action)r.",
                                             reporter_steps=' or '.join(REPORTER_STEPS), action=action), allowed=list(REPORTER_STEPS))
    _, followed = _followed(session, token)
    done = act(session, ctx, followed.id, action, Act(note=(note or "").strip() or None, rating=rating, reporter=True), None)
    return str(done["status"])


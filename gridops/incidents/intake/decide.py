"""Deciding a report before anything is stored: checked, placed in its grid and micro-grid,
given its time limit, and either merged into an open incident it duplicates or routed."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID

from gridops.access.policy import Unauthorized
from gridops.boundaries.geocoder import LocationQuery
from gridops.core.errors import InvalidParameter
from gridops.core.models import Building, Household
from gridops.core.words import Say
from gridops.incidents.context import Context
from gridops.incidents.deadlines import WARN_LEVELS, warning_minutes
from gridops.incidents.intake.duplicates import Candidate, matches, shown
from gridops.incidents.intake.submission import CHANNELS, NewReport, Outcome, Submission
from gridops.incidents.routing import Ground, Route, WorkLoad, last_positions, route
from gridops.reference.data import CategoryRef, Reference


@dataclass
class Placed:
    """A report decided but not yet stored."""

    sub: Submission
    category: CategoryRef
    answer: dict[str, Any]
    version_id: int
    grid_id: int
    micro_grid_id: int | None
    codes: dict[str, str]
    lon: float
    lat: float
    due: datetime
    chosen: Route
    dupes: list[dict[str, Any]]
    accept_due: datetime | None = None  # to be accepted by (受理时限), if the category sets a limit
    warn_at: datetime | None = None  # the first pre-due warning: half the handling limit, counted as the limit is
    target_id: int | None = None  # merged into a stored incident
    target_new: Placed | None = None  # merged into an earlier report of this batch
    merge_distance_m: float | None = None
    building_id: int | None = None
    household_id: int | None = None
    incident_id: int | None = None
    event_id: int | None = None
    token: str | None = None  # the resident follows it by (their own, or one made when there is someone to tell)
    reporter_user_id: int | None = None
    outcome: Outcome | None = None

    @cached_property
    def geom(self) -> WKBElement:
        """The position as stored (one WKB for the incident, its first event and its task)."""
        return from_shape(Point(self.lon, self.lat), srid=STORAGE_SRID)

    @property
    def merged(self) -> bool:
        return self.target_id is not None or self.target_new is not None

    @property
    def merged_into(self) -> int | None:
        if self.target_id is not None:
            return self.target_id
        return self.target_new.incident_id if self.target_new is not None else None

    def as_candidate(self, k: int, now: datetime) -> Candidate:
        """This report, for the later reports of its batch to merge into."""
        return Candidate(None, self.category.code, now, self.lon, self.lat, self.chosen.worker_id, self.chosen.tier,
                         self.chosen.department_code, self.due, ref=k)


def validate(ref: Reference, new: NewReport) -> CategoryRef:
    category = ref.category(new.category)
    if category is None or not category.active:
        known = sorted(c.code for c in ref.categories.values() if c.active)
        raise InvalidParameter("category", Say("unknown category %(category)r; categories: %(known)s.",
                                               category=new.category, known=', '.join(known)), allowed=known)
    if new.channel not in CHANNELS:
        raise InvalidParameter("channel", Say("channel must be one of %(channels)s; got %(channel)r.",
                                              channels=', '.join(CHANNELS), channel=new.channel), allowed=list(CHANNELS))
    if (new.x is None) != (new.y is None):
        missing = "lat" if new.y is None else "lon"
        raise InvalidParameter(missing, Say("`%(missing)s` is required with `%(value)s`.",
                                            missing=missing, value='lon' if missing == 'lat' else 'lat'))
    if new.x is None and not (new.building or new.household or new.address):
        raise InvalidParameter("location", Say("a report needs a location: lon and lat (with crs), or a building, household or address."))
    return category


def place(session: Session, ctx: Context, ref: Reference, sub: Submission, now: datetime) -> Placed:
    """Checked and placed: its category, its grid and micro-grid, its time limit."""
    new = sub.new
    category = validate(ref, new)
    answer, version = ctx.geocoder.place(
        LocationQuery(x=new.x, y=new.y, crs=new.crs, building=new.building, household=new.household, address=new.address),
        lambda: nullcontext(session), session,
    )
    areas = answer["layers"][ctx.geocoder.primary_layer]["areas"]
    codes = {level: a["code"] for level, a in areas.items()}
    due = ref.due(ctx.timezone, category, now, category.time_limit_minutes)
    accept = category.accept_limit_minutes
    grid_id = version.area_id(codes["grid"])
    assert grid_id is not None  # the placement named it
    placed = Placed(sub, category, answer, version.info.id, grid_id, version.area_id(codes.get("micro_grid")), codes,
                    answer["location"]["lon"], answer["location"]["lat"], due, Route(None, "", "grid"), [],
                    accept_due=ref.due(ctx.timezone, category, now, accept) if accept is not None else None,
                    warn_at=ref.due(ctx.timezone, category, now, warning_minutes(category.time_limit_minutes, WARN_LEVELS[0])))
    if "building" in answer:
        placed.building_id = session.scalar(select(Building.id).where(Building.code == answer["building"]["code"]))
        if "household" in answer:
            placed.household_id = session.scalar(select(Household.id).where(Household.code == answer["household"]["code"]))
    return placed


def decide(session: Session, ctx: Context, ref: Reference, load: WorkLoad, p: Placed, now: datetime,
           stored: list[Candidate], earlier: list[Placed]) -> None:
    """Merged into an open incident (stored, or earlier in this batch), or routed to a worker."""
    fresh = [e.as_candidate(k, now) for k, e in enumerate(earlier) if not e.merged]
    found = matches(stored + fresh, p.category, p.lon, p.lat, now)
    p.dupes = shown(found)
    if found and found[0][1].id is None:
        distance, twin = found[0]
        assert twin.ref is not None
        target = earlier[twin.ref]
        p.target_new, p.merge_distance_m = target, distance
        p.chosen = Route(target.chosen.worker_id, "", target.chosen.tier, target.chosen.department_code)
        p.due = target.due
    elif found:
        distance, twin = found[0]
        p.target_id = twin.id
        p.chosen = Route(twin.assignee_id, f"duplicate of incident {twin.id} ({round(distance, 1):.0f} m away)",
                         twin.tier, twin.department_code)
        p.due = twin.due_at
    else:
        ground = Ground(p.codes["grid"], p.codes.get("community"), p.codes.get("street"))
        p.chosen = route(ref, p.category, ground, now, tz=ctx.timezone, lon=p.lon, lat=p.lat, load=load,
                         positions=last_positions(session), layer=ctx.geocoder.primary_layer)
        load.hand(p.chosen.worker_id)


def likely_assignees(ref: Reference, layer: str, placed: list[Placed], now: datetime) -> set[int]:
    """Who a batch's reports will most likely go to: their grids' teams, their departments' staff."""
    ids: set[int] = set()
    for p in placed:
        if p.category.handler == "department":
            ids.update(ref.staff("department_staff", p.category.department_code))
        else:
            ids.update(ref.assigned(layer, [p.codes["grid"]], ("primary", "backup", "leader"), now))
    return ids


def confirm_signed_in(session: Session, ctx: Context, subs: list[Submission], stamp: int) -> list[Submission | Outcome]:
    """Each submission's user as this transaction sees them: a token revoked (or a role changed)
    since the request read it counts as of now, not as of then."""
    hashes = {s.token_hash for s in subs if s.token_hash is not None}
    if not hashes or ctx.principals is None:
        return list(subs)
    now_known = ctx.principals.confirm(session, hashes, stamp)
    out: list[Submission | Outcome] = []
    for s in subs:
        if s.token_hash is None:
            out.append(s)
        elif now_known[s.token_hash] is None:
            out.append(Outcome(error=Unauthorized("the token is not valid (unknown, or the user was deactivated).")))
        else:
            out.append(replace(s, actor=now_known[s.token_hash]))
    return out

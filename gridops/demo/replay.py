"""Playing a city's reports and scripted steps through the real loop with the clock moved: intake for each
report, `gridops.incidents.steps.act` for each step, as the API takes them. Apart from loader.py because it
is the one part of a load that does more than copy rows: a context over the load's session, a principal per
worker, the script's kinds of actor resolved at each moment, and a count of what the live state refused."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gridops.geo.errors import GeoError

from gridops.access.policy import Principal
from gridops.boundaries.geocoder import Geocoder
from gridops.boundaries.registry import Registry
from gridops.core import clock
from gridops.core.config import DEFAULTS
from gridops.core.db import Database
from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.models import Area, Category, Incident, IncidentEvent, StreamEvent, Worker
from gridops.demo.catalogue import ACTORS
from gridops.demo.reading import Progress, Row, features, optional_float, optional_int, required, rows, when
from gridops.incidents.context import Context
from gridops.incidents.intake.submission import NewReport
from gridops.incidents.intake.take import report
from gridops.incidents.loop import SEPARATE_FROM_RESOLVER, STEPS
from gridops.incidents.seen import resolver
from gridops.incidents.steps import Act, act
from gridops.reference.data import Reference, References, office_hours_setting

log = logging.getLogger(__name__)

# the role a worker takes steps in (gridops.access.policy.ROLES): street staff have no role of their own and lead
# their street's ground as a community admin leads a community's
_ROLE_OF_WORKER = {"grid_worker": "grid_worker", "grid_leader": "grid_leader", "community_staff": "community_admin",
                   "street_staff": "community_admin", "department_staff": "department", "supervisor": "command_centre"}


class _LoadSession:
    """The database as the registry sees it during a load: the load's own session, the one transaction that
    sees the boundaries being loaded (the registry is always handed it; this is for the odd path that is not)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def session(self) -> AbstractContextManager[Session]:
        return nullcontext(self._session)


def _context(session: Session, config: Mapping[str, Any]) -> Context:
    """What the use cases need, as an app would build it (gridops.web.context) but over the load's session:
    one geocoder over the boundaries just loaded, one copy of the reference data, the city's settings."""
    setting = {**DEFAULTS, **config}
    registry = Registry(
        # the registry uses nothing of its Database but `session()` (boundaries.registry), which this provides
        cast(Database, _LoadSession(session)),
        snap_distance_m=setting["SNAP_DISTANCE_M"],
        cell_m=setting["GEOCODER_CELL_M"] or None,
        refresh_seconds=float("inf"),  # nothing else publishes boundaries inside this transaction
    )
    return Context(Geocoder(registry, setting["PRIMARY_LAYER"]), setting["TIMEZONE"], setting["INSTANCE_PATH"] or "instance",
                   References(office_hours_setting(setting["OFFICE_HOURS"])), checkin_max_m=setting["CHECKIN_MAX_DISTANCE_M"],
                   reopen_days=setting["REOPEN_DAYS"])


class _Cast:
    """The people who take the scripted steps, as the loop sees them: a principal per loaded worker
    (their role, their worker row, the areas they answer for), and the script's kinds resolved at a moment."""

    def __init__(self, ref: Reference, tz: str, layer: str) -> None:
        self.ref, self.tz, self.layer = ref, tz, layer
        self.by_code = {w.code: w.id for w in ref.workers.values()}
        self.supervisors = ref.staff("supervisor")
        self._areas: dict[int, set[str]] = {}
        for a in ref.assignments:
            if a.layer == layer and a.valid_to is None:
                self._areas.setdefault(a.worker_id, set()).add(a.area_code)
        self._made: dict[int, Principal] = {}

    def worker(self, worker_id: int | None) -> Principal | None:
        if worker_id is None or worker_id not in self.ref.workers:
            return None
        found = self._made.get(worker_id)
        if found is None:
            w = self.ref.workers[worker_id]
            # no user row stands behind it (user_id 0): no role that sees only its own reports is ever made here
            found = self._made[worker_id] = Principal(
                0, w.name, _ROLE_OF_WORKER.get(w.role, "grid_worker"), w.id, w.department_code,
                tuple(sorted(self._areas.get(w.id, ()))))
        return found

    def centre(self, at: datetime) -> Principal | None:
        """The command centre's supervisor on duty (the first of them in the minute between shifts)."""
        on = sorted(self.ref.on_shift(self.supervisors, at, self.tz)) or self.supervisors
        return self.worker(on[0]) if on else None

    def leader(self, grid: str, at: datetime) -> Principal | None:
        leaders = self.ref.assigned(self.layer, [grid], ("leader",), at)
        return self.worker(leaders[0]) if leaders else None


@dataclass(frozen=True)
class _Step:
    """One row of incident_steps.csv, checked: an action of the loop, taken by one of the script's kinds."""

    incident: int  # its report's position in incidents.geojson
    n: int
    at: datetime
    action: str
    actor: str
    note: str | None
    lon: float | None
    lat: float | None
    rating: int | None


def _step(row: Row, position: Mapping[str, int]) -> _Step:
    ref = required(row, "incident_ref", "incident_steps.csv")
    found = position.get(ref)
    if found is None:
        raise InvalidParameter("incident_ref", f"incident_steps.csv has a step of {ref!r}, "
                               "which incidents.geojson does not report.")
    action, actor = row.get("action"), row.get("actor")
    if action is None or actor is None or action not in STEPS or actor not in ACTORS:
        raise InvalidParameter("action", f"step {row.get('step')} of {ref} is {action!r} by {actor!r}; "
                               f"steps: {', '.join(STEPS)}; actors: {', '.join(ACTORS)}.")
    at = when(row.get("at"))
    return _Step(found, int(required(row, "step", "incident_steps.csv")), at, action, actor, row.get("note"),
                 optional_float(row.get("lon")), optional_float(row.get("lat")), optional_int(row.get("rating")))


def _new_report(props: dict[str, Any], geom: BaseGeometry | None) -> NewReport:
    """A report as it would come in: a household's or a building's code where the channel gives one (a door's QR
    code, a hotline call about an address), else the coordinates as the phone sent them."""
    new = NewReport(category=props["category"], channel=props["channel"], description=props.get("description"),
                    reporter_name=props.get("reporter_name"), reporter_contact=props.get("reporter_contact"))
    if props.get("household_code"):
        new.household = props["household_code"]
    elif props.get("building_code"):
        new.building, new.address = props["building_code"], props.get("address_text")
    elif props.get("original_x") is not None:
        new.x, new.y, new.crs = props["original_x"], props["original_y"], props.get("original_crs") or "wgs84"
    elif isinstance(geom, Point):
        new.x, new.y, new.crs = geom.x, geom.y, "wgs84"
    return new


def play_history(session: Session, city_dir: Path, config: Mapping[str, Any], progress: Progress) -> dict[str, int]:
    """Every report and every scripted step, in one time order, through intake and the loop's steps."""
    reports = features(city_dir / "incidents.geojson")
    path = city_dir / "incident_steps.csv"
    script = rows(path) if path.exists() else []
    if not reports:
        return {"incidents": 0, "events": 0}
    known = set(session.scalars(select(Category.code)))
    position: dict[str, int] = {}
    for k, (p, _) in enumerate(reports):
        if p["category"] not in known:
            raise InvalidParameter("category", f"incident {p['ref']} has category {p['category']!r}, which city.json does not define.")
        position[p["ref"]] = k
    timeline: list[tuple[datetime, int, int, _Step | None]] = [
        (when(p["reported_at"]), k, 0, None) for k, (p, _) in enumerate(reports)]
    for row in script:
        st = _step(row, position)
        timeline.append((st.at, st.incident, st.n, st))
    timeline.sort(key=lambda e: e[:3])  # a report before its own steps; the same moment in report order

    ctx = _context(session, config)
    ref = ctx.references.current(session)
    people = _Cast(ref, ctx.timezone, ctx.geocoder.primary_layer)
    # the rows every step looks up by id (its worker, its category, the areas above its grid), held for the whole
    # replay: the session's identity map keeps only what something refers to, and would read them again each time
    held: list[object] = [*session.scalars(select(Worker)), *session.scalars(select(Category)), *session.scalars(select(Area))]
    incidents: list[Incident | None] = [None] * len(reports)
    ids: list[int] = [0] * len(reports)
    grids: list[str] = [""] * len(reports)
    merged: set[int] = set()
    played, unplayed, skipped = 0, 0, Counter[str]()
    before = session.scalar(select(func.max(StreamEvent.id))) or 0
    with progress(timeline, "history") as bar:
        for at, k, _, st in bar:
            with clock.moved(at):
                if st is None:
                    props, geom = reports[k]
                    reporter = (people.worker(people.by_code.get(props.get("reporter_worker") or "")) if props["channel"] == "patrol"
                                else people.centre(at) if props["channel"] == "hotline" else None)
                    try:
                        answer = report(session, ctx, _new_report(props, geom), reporter)
                    except (GridopsError, GeoError) as err:
                        raise InvalidParameter("incidents", f"intake refused report {props['ref']}: {err}") from err
                    ids[k], grids[k] = answer["id"], answer["grid"]["code"]
                    incidents[k] = session.get(Incident, ids[k])
                    if answer["status"] == "merged":
                        merged.add(k)
                elif k in merged:
                    unplayed += 1  # a duplicate has no steps of its own: the incident it joined is handled
                else:
                    incident = incidents[k]
                    assert incident is not None  # reported before its first step
                    refusal = _take_step(session, ctx, people, incident, grids[k], st, at)
                    if refusal is None:
                        played += 1
                    else:
                        skipped[refusal] += 1
    # the database copies every new event to the live stream (migration 0005); a loaded
    # history is not live news, so its copies go
    session.execute(delete(StreamEvent).where(StreamEvent.id > before))
    del held
    if skipped:
        log.info("steps the live state refused, skipped: %s", dict(skipped.most_common()))
    events = session.scalar(select(func.count(IncidentEvent.id))) or 0
    return {"incidents": len(reports), "events": events, "merged": len(merged), "steps played": played,
            "steps of merged reports": unplayed, "steps skipped": sum(skipped.values())}


def _take_step(session: Session, ctx: Context, people: _Cast, incident: Incident, grid: str, st: _Step,
               at: datetime) -> str | None:
    """One scripted step, taken as the API takes it; None when taken, else why the loop refused it."""
    kind = st.actor
    if kind == "centre":
        who = people.centre(at)
    elif kind == "leader":
        who = people.leader(grid, at)
        if who is not None and st.action in SEPARATE_FROM_RESOLVER and who.worker_id == resolver(session, incident):
            who = people.centre(at)  # the leader resolved it themselves: the command centre checks it
    else:
        who = people.worker(incident.assignee_id)  # whoever holds it now: routing chose them
    if who is None:
        return f"{st.action}: nobody is the {kind}"
    a = Act(note=st.note, lon=st.lon, lat=st.lat, rating=st.rating)
    try:
        act(session, ctx, incident.id, st.action, a, who)
    except GridopsError as err:  # refused before anything changed: the step is not taken
        return f"{st.action}: {err.slug}"
    return None

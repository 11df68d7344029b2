"""Taking a step of the loop: the checks (gridops.incidents.loop says what may follow what,
and who may), then what each step does besides moving the status — hand the work to
someone, end or open tasks, reroute, notify — each recorded as an append-only event.

The API, the sweeper and the demo city all call `act`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.geo.crs import STORAGE_SRID, distances_m

from gridops.access.policy import ALL, OVERRIDE, Forbidden, Principal, can_see, covers_any
from gridops.boundaries.areas import code_of
from gridops.core import clock
from gridops.core.errors import Conflict, GridopsError, InvalidParameter, NotFound, TooFar
from gridops.core.models import Area, Assignment, Category, Incident, IncidentEvent, Task, Worker
from gridops.core.shapes import to_point
from gridops.core.words import N_, Say, Term
from gridops.incidents.context import Context
from gridops.incidents.deadlines import WARN_LEVELS, limits_of, warning_minutes
from gridops.incidents.events import record
from gridops.incidents.flags import check_resolution, record_flags
from gridops.incidents.idempotency import Once, answered, remember
from gridops.incidents.loop import (
    LADDER,
    OPEN,
    REOPENING_RATINGS,
    STEPS,
    TAKE_SKIPS,
    Step,
    allowed_steps,
    may_take,
    next_tier,
    who_may,
)
from gridops.incidents.names import STATUS_NAMES, TIER_NAMES
from gridops.incidents.news import News, leaders, tiers
from gridops.incidents.photos import Photo, store
from gridops.incidents.routing import Ground, WorkLoad, last_positions, route
from gridops.incidents.seen import joined, resolver


class IllegalTransition(GridopsError):
    slug = "illegal-transition"


@dataclass
class Act:
    """What came with a step."""

    note: str | None = None
    lon: float | None = None
    lat: float | None = None
    rating: int | None = None
    worker: str | None = None  # reassign / dispatch to this worker code
    target: int | None = None  # merge into this incident
    photos: list[Photo] = field(default_factory=list)
    override: bool = False  # an admin verifies or closes what they resolved themselves (the event says so)
    reached: bool | None = None  # follow_up: the resident answered the call (回访)
    reporter: bool = False  # taken for the one who reported it, by the follow-up code they hold (no account): the event says so
    device_at: datetime | None = None  # when the phone says it was done (gridops.core.clock.device_time checks it)


@dataclass
class StepCall:
    """One step being taken: everything a step's handler reads, in one typed argument."""

    session: Session
    ctx: Context
    incident: Incident
    step: Step
    act: Act
    principal: Principal | None
    now: datetime
    where: tuple[float, float] | None
    photos: list[tuple[Photo, str]]
    grid_code: str
    overridden: bool = False  # the resolver's own verification, by an admin's override
    _news: News | None = None

    @property
    def news(self) -> News:
        """This step's messages (each person told once), with the incident's fields read once."""
        if self._news is None:
            self._news = News(self.session, self.incident, self.ctx.timezone, self.ctx.public_url, self.now)
        return self._news

    def leaders(self) -> list[int]:
        return leaders(self.ctx.references.current(self.session), self.ctx.geocoder.primary_layer, self.grid_code, self.now)

    def record(self, action: str | None = None, to_status: str | None = None, *, photos: bool = False, located: bool = True,
               **extra: Any) -> IncidentEvent:
        """This step's event (or one of the steps it walks), with the step's note and position."""
        if self.act.reporter:
            extra["data"] = {**(extra.get("data") or {}), "by": "the reporter, by their follow-up code"}
        return record(self.session, self.incident, action or self.step.action, to_status, self.principal, at=self.now,
                      device_at=self.act.device_at, note=extra.pop("note", self.act.note), location=self.where if located else None,
                      photos=self.photos if photos else [], **extra)


def act(session: Session, ctx: Context, incident_id: int, action: str, a: Act, principal: Principal | None,
        once: Once | None = None) -> dict[str, Any]:
    """Take one step of the loop; answers with the incident's new state. With `once` (an Idempotency-Key), a step
    sent again gets its first answer and is not taken twice."""
    step = STEPS.get(action)
    if step is None:
        raise InvalidParameter("action", Say("no step %(action)r; steps: %(steps)s.", action=action, steps=", ".join(STEPS)),
                               allowed=list(STEPS))
    clock.device_time(a.device_at)
    incident = session.get(Incident, incident_id, with_for_update=True)
    again = answered(session, once)
    if again is not None:
        return dict(again)
    grid_code = code_of(session, incident.grid_id) if incident else None
    follows = joined(session, incident_id, principal) if incident else False
    if incident is None or grid_code is None or (principal is not None and not (
            can_see(principal, incident, grid_code, joined=follows) or may_take(step, incident, principal, grid_code))):
        raise NotFound(Say("no incident %(id)s that you may see.", id=incident_id))
    resolved_by = resolver(session, incident)
    if incident.status not in step.sources:
        raise IllegalTransition(
            Say("incident %(id)s is %(status)s; %(step)s needs it %(sources)s.", id=incident.id,
                status=STATUS_NAMES.get(incident.status, Term(incident.status)), step=step.term,
                sources=[STATUS_NAMES.get(s, Term(s)) for s in step.sources]),
            status_now=incident.status, allowed=allowed_steps(incident, principal, grid_code, joined=follows, resolved_by=resolved_by),
        )
    overridden = False
    if not may_take(step, incident, principal, grid_code, joined=follows, resolved_by=resolved_by):
        own = principal is not None and may_take(step, incident, principal, grid_code, joined=follows)
        if own and principal is not None and principal.can(OVERRIDE) and a.override and (a.note or "").strip():
            overridden = True  # an admin may check their own resolution, saying why; the event records it
        elif own:
            raise Forbidden(Say("incident %(id)s was resolved by you: someone else must %(step)s it (核查 is other eyes).",
                                id=incident.id, step=step.term),
                            allowed=allowed_steps(incident, principal, grid_code, joined=follows, resolved_by=resolved_by))
        else:
            raise Forbidden(Say("%(step)s on incident %(id)s is for %(who)s.", step=step.term, id=incident.id, who=who_may(step)),
                            allowed=allowed_steps(incident, principal, grid_code, joined=follows, resolved_by=resolved_by))
    if step.needs_note and not (a.note or "").strip():
        raise InvalidParameter("note", Say("%(step)s needs a note saying why or what was done.", step=step.term))
    where = (a.lon, a.lat) if a.lon is not None and a.lat is not None else None
    call = StepCall(session, ctx, incident, step, a, principal, clock.now(), where, [(p, _stored(p, ctx)) for p in a.photos],
                    grid_code, overridden)
    _HANDLERS.get(action, _simple)(call)
    session.flush()
    answer = {"id": incident.id, "status": incident.status, "assignee": _ref(session, incident.assignee_id),
              "tier": incident.tier, "routing_reason": incident.routing_reason, "due_at": incident.due_at.isoformat(),
              "supervised_at": incident.supervised_at.isoformat() if incident.supervised_at else None,
              "allowed": allowed_steps(incident, principal, grid_code, joined=follows, resolved_by=resolver(session, incident))}
    remember(session, once, 200, answer, call.now)
    return answer


def _stored(photo: Photo, ctx: Context) -> str:
    path, wrote = store(photo, ctx.instance_path)
    if wrote:
        ctx.written.append(path)
    return path


def _ref(session: Session, worker_id: int | None) -> dict[str, Any] | None:
    w = session.get(Worker, worker_id) if worker_id else None
    return {"code": w.code, "name": w.name, "role": w.role} if w else None


# --- what each step does -----------------------------------------------------------------


def _simple(c: StepCall) -> None:
    c.record(to_status=c.step.target, photos=True, data=_override(c))


def _override(c: StepCall) -> dict[str, str] | None:
    """What the event says when an admin checked their own resolution (their note says why)."""
    return {"override": f"{c.step.action} by the one who resolved it (admin override)"} if c.overridden else None


def _take(c: StepCall) -> None:
    """A worker takes the task: one event saying so, naming the steps nobody took (no accept, assess
    or dispatch is recorded that no one did)."""
    first = c.incident.status == "reported"
    c.record("take", "dispatched", data={"skipped": list(TAKE_SKIPS[c.incident.status])})
    _tasks(c.session, c.incident, {"open": "accepted"})
    if first:
        c.news.reporters("accepted")


def _accept(c: StepCall) -> None:
    c.record("accept", "accepted")
    c.news.reporters("accepted")


def _tasks(session: Session, incident: Incident, change: dict[str, str], worker_id: int | None = None) -> None:
    for task in session.scalars(select(Task).where(Task.incident_id == incident.id, Task.status.in_(list(change)))):
        if worker_id is None or task.worker_id == worker_id:
            task.status = change[task.status]
            if task.status == "done":
                task.completed_at = clock.now()


def _give(c: StepCall, worker_id: int | None, reason: str, tell: bool = True) -> None:
    """Hand the incident to a worker: the old task ends, the new one opens, both are told (unless the step tells
    them its own way: an escalation). A department's order goes to every one of its staff."""
    session, incident, now = c.session, c.incident, c.now
    previous = incident.assignee_id
    _tasks(session, incident, {"open": "cancelled", "accepted": "cancelled"})
    incident.assignee_id, incident.routing_reason = worker_id, reason
    if worker_id is not None:
        category = session.get(Category, incident.category_code)
        assert category is not None
        session.add(Task(kind="incident", title=f"{category.name}: {incident.description or ''}"[:256], status="open",
                         incident_id=incident.id, worker_id=worker_id, area_code=c.grid_code, location=incident.location,
                         due_at=incident.due_at, created_at=now))
    if not tell:
        return
    if worker_id is not None and incident.department_code and incident.tier == "district":
        staff = c.ctx.references.current(session).staff("department_staff", incident.department_code)
        c.news.workers([worker_id, *staff], "department_order", reason=reason)
    else:
        c.news.worker(worker_id, "assigned", reason=reason)
    if previous and previous != worker_id:
        c.news.worker(previous, "unassigned", reason=reason)


def _ground(c: StepCall) -> Ground:
    """The grid and the community and street above it, walking the tree (a cluster level may sit between)."""
    codes: dict[str, str] = {}
    node = c.session.get(Area, c.incident.grid_id)
    while node is not None:
        codes[node.level] = node.code
        node = c.session.get(Area, node.parent_id) if node.parent_id else None
    return Ground(c.grid_code, codes.get("community"), codes.get("street"))


def _reroute(c: StepCall, tier: str, exclude: Iterable[int] = (), tell: bool = True) -> None:
    point = to_point(c.incident.location)
    ref = c.ctx.references.current(c.session)
    category = ref.category(c.incident.category_code)
    assert category is not None
    chosen = route(ref, category, _ground(c), c.now, tz=c.ctx.timezone, lon=point.x, lat=point.y,
                   load=WorkLoad.stored(c.session), positions=last_positions(c.session), layer=c.ctx.geocoder.primary_layer,
                   tier=tier, exclude=exclude)
    c.incident.tier = chosen.tier
    if chosen.department_code:
        c.incident.department_code = chosen.department_code
    _give(c, chosen.worker_id, chosen.reason, tell)


def _tier(c: StepCall) -> str:
    return c.incident.tier if c.incident.tier in LADDER else "grid"


def _by(c: StepCall) -> str:
    return c.principal.name if c.principal else "system"


def _dispatch(c: StepCall) -> None:
    if c.act.worker:
        _give(c, _worker_id(c, c.act.worker), f"dispatched by {_by(c)}")
    c.record("dispatch", "dispatched")


def _reassign(c: StepCall) -> None:
    before = c.incident.assignee_id
    if c.act.worker:
        _give(c, _worker_id(c, c.act.worker), f"reassigned by {_by(c)}")
    else:
        _reroute(c, _tier(c), exclude=[before] if before else [])
    c.record("reassign", data={"from": before, "to": c.incident.assignee_id, "reason": c.incident.routing_reason})


def _reject(c: StepCall) -> None:
    rejecters = {e.actor_id for e in c.session.scalars(
        select(IncidentEvent).where(IncidentEvent.incident_id == c.incident.id, IncidentEvent.action == "reject"))}
    before = c.incident.assignee_id
    rejecters.add(before)
    _reroute(c, _tier(c), exclude={r for r in rejecters if r is not None})
    c.record("reject", data={"from": before, "to": c.incident.assignee_id, "reason": c.incident.routing_reason})


def _check_in(c: StepCall) -> None:
    if c.where is None:
        raise InvalidParameter("lon", Say("a check-in needs the worker's position: lon and lat."))
    point = to_point(c.incident.location)
    distance = float(distances_m(point.x, point.y, c.where[0], c.where[1])[0])
    index = c.ctx.geocoder.versions(None, c.session)[c.ctx.geocoder.primary_layer].index
    areas, _, _ = index.locate_one(c.where[0], c.where[1])
    col = index.levels.index("grid")
    here = index.codes[areas[col]] if areas[col] >= 0 else None
    limit = c.ctx.checkin_max_m
    if distance > limit:
        raise TooFar(Say("you are %(distance)s m from incident %(id)s; check in within %(limit)s m.",
                         distance=format(distance, ",.0f"), id=c.incident.id, limit=format(limit, "g")),
                     distance_m=round(distance, 1))
    if here != c.grid_code:
        raise TooFar(Say("you are in grid %(here)s, not the incident's grid %(grid)s.", here=here or Term(N_("none")),
                         grid=c.grid_code), distance_m=round(distance, 1),
                     grid=here)
    if c.principal and c.principal.worker_id:
        worker = c.session.get(Worker, c.principal.worker_id)
        assert worker is not None
        worker.last_position, worker.last_seen_at = from_shape(Point(*c.where), srid=STORAGE_SRID), c.now
    c.record("check_in", "in_progress", photos=True, data={"distance_m": round(distance, 1)})
    _tasks(c.session, c.incident, {"open": "accepted"})


def _resolve(c: StepCall) -> None:
    """Resolved, with its photos checked against the incident: what does not fit is flagged for the
    verifier and the command centre (gridops.incidents.flags), never refused."""
    event = c.record("resolve", "resolved", photos=True)
    c.incident.verify_due_at = _stage_due(c, limits_of(c.incident, _category_of(c)).verify_minutes)
    _tasks(c.session, c.incident, {"open": "done", "accepted": "done"})
    c.news.workers(_verifiers(c), "verify", due=c.incident.verify_due_at or c.incident.due_at)
    c.news.reporters("resolved")
    if c.photos:
        c.session.flush()  # the flags name the resolve event; the same-photo check reads this step's attachments
        record_flags(c.session, c.incident, event, check_resolution(c.session, c.ctx, c.incident, [p for p, _ in c.photos], c.now),
                     c.now)


def _verifiers(c: StepCall) -> list[int]:
    """Who is asked to verify (核查): the grid's leader, else the community's staff — never the one who resolved it."""
    resolver_id = c.principal.worker_id if c.principal else c.incident.assignee_id
    found = [w for w in c.leaders() if w != resolver_id]
    if not found:
        ground = c.news.base["ground"]
        if len(ground) > 1:
            ref = c.ctx.references.current(c.session)
            found = [w for w in ref.assigned(c.ctx.geocoder.primary_layer, [ground[1]], ("primary",), c.now) if w != resolver_id]
    return found


def _back_to_handler(c: StepCall, reason: str) -> None:
    """Rework goes back to whoever handled it — unless they have left since (a deactivated worker), when the
    loop's rule picks who answers for the ground now."""
    handler = c.session.get(Worker, c.incident.assignee_id) if c.incident.assignee_id else None
    if handler is not None and handler.active:
        _give(c, handler.id, reason)
    else:
        _reroute(c, _tier(c), exclude=[handler.id] if handler else [])
        c.incident.routing_reason = f"{reason}; {c.incident.routing_reason} (the one who handled it has left)"


def _return(c: StepCall) -> None:
    c.record("return", "returned", photos=True)
    _back_to_handler(c, "returned for rework")


def _close(c: StepCall) -> None:
    c.record("close", "closed", data=_override(c))
    c.incident.closed_at, c.incident.warn_at = c.now, None
    c.news.reporters("closed", reopen_days=format(c.ctx.reopen_days, "g"))
    _tasks(c.session, c.incident, {"open": "cancelled", "accepted": "done"})
    for merged in c.session.scalars(select(Incident).where(Incident.merged_into_id == c.incident.id, Incident.status == "merged")):
        record(c.session, merged, "comment", None, None, at=c.now, note=f"the incident it was merged into ({c.incident.id}) is closed")


def _rate(c: StepCall) -> None:
    if c.act.rating is None or not 1 <= c.act.rating <= 5:
        raise InvalidParameter("rating", Say("a rating is a whole number from 1 to 5."))
    c.incident.rating, c.incident.rating_comment = c.act.rating, c.act.note
    if c.act.rating in REOPENING_RATINGS:  # not satisfied: back to the one who handled it, with their words (返工)
        c.record("rate", "reopened", located=False, data={"rating": c.act.rating, "reopened": True})
        _reopen(c)
        return
    c.record("rate", "followed_up", located=False, data={"rating": c.act.rating})


def _follow_up(c: StepCall) -> None:
    """回访: the resident was called. Not reached: said so, the incident stays closed for another call. Reached:
    their rating and words, as the resident's own rating would be (1 or 2 reopens it)."""
    if c.act.reached is None:
        raise InvalidParameter("reached", Say("a follow-up says whether the resident was reached: `reached` true or false."))
    if not c.act.reached:
        c.record("follow_up", None, located=False, data={"reached": False})
        return
    if c.act.rating is None or not 1 <= c.act.rating <= 5:
        raise InvalidParameter("rating", Say("a follow-up that reached the resident records their rating, a whole number from 1 to 5."))
    c.incident.rating, c.incident.rating_comment = c.act.rating, c.act.note
    if c.act.rating in REOPENING_RATINGS:
        c.record("follow_up", "reopened", located=False, data={"reached": True, "rating": c.act.rating, "reopened": True})
        _reopen(c)
        return
    c.record("follow_up", "followed_up", located=False, data={"reached": True, "rating": c.act.rating})


def _not_fixed(c: StepCall) -> None:
    """The resident says it is not fixed, within `reopen_days` of the close."""
    closed = c.incident.closed_at
    if closed is None or c.now - closed > timedelta(days=c.ctx.reopen_days):
        raise IllegalTransition(Say("incident %(id)s was closed more than %(days)s days ago; report it again as a new incident.",
                                    id=c.incident.id, days=format(c.ctx.reopen_days, "g")), status_now=c.incident.status)
    c.record("not_fixed", "reopened", located=False)
    _reopen(c)


def _reopen(c: StepCall) -> None:
    """Back to whoever handled it, with a fresh time limit counted from now: its own, as it was reported
    under (gridops.incidents.deadlines)."""
    c.incident.closed_at = c.incident.verify_due_at = None
    due = _stage_due(c, limits_of(c.incident, _category_of(c)).handle_minutes)
    assert due is not None
    c.incident.due_at = due
    c.incident.warn_at, c.incident.warned_pct = _stage_due(c, warning_minutes(limits_of(c.incident, _category_of(c)).handle_minutes,
                                                                              WARN_LEVELS[0])), 0
    _back_to_handler(c, f"reopened by the resident: {c.act.note or 'not satisfied'}")
    c.news.reporters("reopened")


def _category_of(c: StepCall) -> Category:
    category = c.session.get(Category, c.incident.category_code)
    assert category is not None  # incident.category_code is a NOT NULL foreign key
    return category


def _stage_due(c: StepCall, minutes: int | None) -> datetime | None:
    """A stage's limit from now, counted as the incident's limits are (working time or the clock)."""
    if minutes is None:
        return None
    ref = c.ctx.references.current(c.session)
    category = ref.category(c.incident.category_code)
    assert category is not None
    return ref.due(c.ctx.timezone, category, c.now, minutes, limits_of(c.incident, _category_of(c)).working_time)


def _escalate(c: StepCall) -> None:
    current = _tier(c)
    up = next_tier(current)
    if up is None:
        raise IllegalTransition(Say("incident %(id)s is already at the top of the ladder (%(tier)s).", id=c.incident.id,
                                    tier=TIER_NAMES.get(current, Term(current))))
    before = c.incident.assignee_id
    _reroute(c, up, tell=False)
    c.record("escalate", "escalated", data={"from_tier": current, "to_tier": c.incident.tier, "from": before,
                                            "to": c.incident.assignee_id, "reason": c.incident.routing_reason})
    told = tiers(current, c.incident.tier)
    c.news.worker(c.incident.assignee_id, "escalated", reason=c.act.note or c.incident.routing_reason, **told)
    c.news.worker(before, "escalated", reason=c.act.note or c.incident.routing_reason, **told)
    if c.incident.department_code and c.incident.tier == "district":
        staff = c.ctx.references.current(c.session).staff("department_staff", c.incident.department_code)
        c.news.workers(staff, "department_order", reason=c.act.note or c.incident.routing_reason)


def _supervise(c: StepCall) -> None:
    c.incident.supervised_at = c.now
    c.record("supervise", located=False, note=c.act.note or "督办")
    note = c.act.note or "督办"
    c.news.workers([c.incident.assignee_id, *c.leaders()], "supervised", note=note)


def _merge(c: StepCall) -> None:
    if not c.act.target or c.act.target == c.incident.id:
        raise InvalidParameter("target", Say("'merge' needs the id of another, open incident as `target`."))
    target = c.session.get(Incident, c.act.target)
    target_grid = code_of(c.session, target.grid_id) if target is not None else None
    if target is None or (c.principal is not None and not (
            can_see(c.principal, target, target_grid) and may_take(c.step, target, c.principal, target_grid))):
        # one the caller may not act on answers as one that does not exist: ids reveal nothing
        raise NotFound(Say("no incident %(id)s that you may merge into.", id=c.act.target), field="target")
    if target.status not in OPEN:
        raise Conflict(Say("incident %(id)s is not open; merge into an open incident.", id=c.act.target), field="target")
    c.incident.merged_into_id, c.incident.warn_at = target.id, None
    c.record("merge", "merged", located=False, data={"into": target.id})
    _tasks(c.session, c.incident, {"open": "cancelled", "accepted": "cancelled"})


def _split(c: StepCall) -> None:
    was = c.incident.merged_into_id
    c.incident.merged_into_id = None
    c.record("split", "reported", located=False, data={"from": was})
    _reroute(c, "grid")


def _worker_id(c: StepCall, code: str) -> int:
    """The worker to hand the incident to: for a caller who answers for some ground only, one who works
    on it (or in the caller's department); any other is as unknown as a code nobody has."""
    worker = c.session.scalar(select(Worker).where(Worker.code == code, Worker.active.is_(True)))
    who = c.principal
    if who is None or who.policy.sees == ALL:
        if worker is None:
            raise InvalidParameter("worker", Say("no active worker has the code %(code)r.", code=code))
        return worker.id
    ours = worker is not None and (
        (who.department_code is not None and worker.department_code == who.department_code)
        or covers_any(who, c.session.scalars(select(Assignment.area_code).where(Assignment.worker_id == worker.id))))
    if worker is None or not ours:
        raise InvalidParameter("worker", Say("no active worker %(code)r on the ground you answer for.", code=code))
    return worker.id


_HANDLERS: dict[str, Callable[[StepCall], None]] = {
    "take": _take, "accept": _accept, "dispatch": _dispatch, "reassign": _reassign, "reject": _reject, "check_in": _check_in,
    "resolve": _resolve, "return": _return, "close": _close, "rate": _rate, "follow_up": _follow_up, "escalate": _escalate,
    "supervise": _supervise, "merge": _merge, "split": _split, "not_fixed": _not_fixed,
}

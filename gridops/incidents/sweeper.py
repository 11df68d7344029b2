"""Deadlines watched: overdue work is supervised (督办), its worker told, and it climbs the ladder.

An overdue incident still being handled is supervised and escalated one tier
(grid worker → grid leader → community → street → district department); while
it stays overdue it climbs again each time its own time limit passes once more
(at least hourly), until the top. Work waiting for verification is supervised
and the assignee told, not escalated: the handling is done. The stages with
limits of their own — nobody accepted it in time (受理超时), nobody verified the
resolution in time (核查超时) — are supervised once each, not escalated: the
handling limit still runs. Each incident is swept in its own transaction through
the same steps people take, so two sweepers at once (a CLI run beside the
server's) cannot both act on it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError
from gridops.core.models import Area, Category, Incident, IncidentEvent
from gridops.incidents.context import Context
from gridops.incidents.deadlines import (
    AWAITING_ACCEPT,
    AWAITING_VERIFY,
    STAGE_NAMES,
    WARN_LEVELS,
    limits_of,
    overdue_stage,
    warning_minutes,
)
from gridops.incidents.loop import HANDLING, OPEN, next_tier
from gridops.incidents.news import News, leaders, when
from gridops.incidents.steps import Act, act

log = logging.getLogger(__name__)


def sweep_incidents(db: Database, ctx: Context, now: datetime | None = None) -> tuple[list[int], list[int], list[int]]:
    """Every overdue incident, each in its own transaction: (supervised, escalated, skipped because changed meanwhile)."""
    now = now or clock.now()
    supervised: list[int] = []
    escalated: list[int] = []
    skipped: list[int] = []
    with db.session() as session:
        overdue = list(session.scalars(
            select(Incident.id).where(Incident.merged_into_id.is_(None), or_(
                and_(Incident.status.in_(OPEN), Incident.due_at < now),
                _stage_overdue(Incident.status.in_(AWAITING_ACCEPT), Incident.accept_due_at, now),
                _stage_overdue(Incident.status.in_(AWAITING_VERIFY), Incident.verify_due_at, now),
            )).order_by(Incident.due_at)
        ))
    for iid in overdue:
        try:
            with db.session() as session:
                _one(session, ctx, iid, now, supervised, escalated)
        except (StaleDataError, GridopsError, SQLAlchemyError) as exc:  # changed under us: the next sweep sees it
            log.info("sweep skipped incident %s: %s", iid, exc)
            skipped.append(iid)
    return supervised, escalated, skipped


def _stage_overdue(waiting: ColumnElement[bool], deadline: InstrumentedAttribute[datetime | None],
                   now: datetime) -> ColumnElement[bool]:
    """In SQL: waiting in a stage past its own deadline, and not yet supervised since."""
    return and_(waiting, deadline < now, or_(Incident.supervised_at.is_(None), Incident.supervised_at < deadline))


def _one(session: Session, ctx: Context, iid: int, now: datetime, supervised: list[int], escalated: list[int]) -> None:
    incident = session.get(Incident, iid)
    if incident is None:
        return
    stage = overdue_stage(incident.status, now, incident.due_at, incident.accept_due_at, incident.verify_due_at)
    if stage in ("accept", "verify"):
        deadline = incident.accept_due_at if stage == "accept" else incident.verify_due_at
        assert deadline is not None  # overdue_stage said it has run out
        if incident.supervised_at is None or incident.supervised_at < deadline:
            by = when(deadline, ctx.timezone)["due"]
            act(session, ctx, iid, "supervise", Act(note=f"{STAGE_NAMES[stage]}超时督办：应于{by}前{STAGE_NAMES[stage]}"), None)
            supervised.append(iid)
        return
    if stage != "handle":
        return
    if incident.supervised_at is None or incident.supervised_at < incident.due_at:
        act(session, ctx, iid, "supervise", Act(note=f"逾期督办：应于{when(incident.due_at, ctx.timezone)['due']}前办结"), None)
        supervised.append(iid)
        if incident.status not in HANDLING:
            return
    elif incident.status not in HANDLING or not _due_again(session, incident, now):
        return
    if next_tier(incident.tier) is not None:
        act(session, ctx, iid, "escalate", Act(note="逾期自动升级 (overdue: escalated automatically)"), None)
        escalated.append(iid)


def _due_again(session: Session, incident: Incident, now: datetime) -> bool:
    """Overdue again since the last automatic escalation: one more time limit has passed."""
    last = session.scalar(
        select(IncidentEvent.at).where(IncidentEvent.incident_id == incident.id, IncidentEvent.action == "escalate",
                                       IncidentEvent.actor_label == "system").order_by(IncidentEvent.seq.desc()).limit(1)
    )
    if last is None:
        return True
    category = session.get(Category, incident.category_code)
    assert category is not None  # incident.category_code is a NOT NULL foreign key
    limit = limits_of(incident, category).handle_minutes
    return now - last >= max(timedelta(hours=1), timedelta(minutes=limit))


def warn_incidents(db: Database, ctx: Context, now: datetime | None = None) -> tuple[list[tuple[int, int]], list[int]]:
    """The pre-due warnings that fell due: at 50% of the handling limit its assignee is told, at 75% the assignee
    and the grid leader (at 100% the sweep supervises). One indexed query finds them (`warn_at`); each is
    warned in its own transaction, its row locked and re-read, so two sweepers never warn it twice at a level.
    Answers (incident, percent) warned, and those skipped because they changed meanwhile."""
    now = now or clock.now()
    with db.session() as session:
        due = list(session.scalars(select(Incident.id).where(Incident.warn_at <= now, Incident.status.in_(HANDLING),
                                                             Incident.merged_into_id.is_(None)).order_by(Incident.warn_at)))
    warned: list[tuple[int, int]] = []
    skipped: list[int] = []
    for iid in due:
        try:
            with db.session() as session:
                pct = _warn(session, ctx, iid, now)
            if pct:
                warned.append((iid, pct))
        except (StaleDataError, GridopsError, SQLAlchemyError) as exc:  # changed under us: the next sweep sees it
            log.info("warning skipped incident %s: %s", iid, exc)
            skipped.append(iid)
    return warned, skipped


def _warn(session: Session, ctx: Context, iid: int, now: datetime) -> int | None:
    incident = session.get(Incident, iid, with_for_update=True)
    if incident is None or incident.warn_at is None or incident.warn_at > now or incident.status not in HANDLING:
        return None  # another sweeper warned it first, or it moved on
    if incident.due_at <= now:  # overdue already: the 督办 says so, not a warning
        incident.warn_at = None
        return None
    ref = ctx.references.current(session)
    category = ref.category(incident.category_code)
    assert category is not None  # incident.category_code is a NOT NULL foreign key
    row = session.get(Category, incident.category_code)
    assert row is not None
    limits = limits_of(incident, row)
    levels = [p for p in WARN_LEVELS if p > incident.warned_pct]
    if not levels:
        incident.warn_at = None
        return None
    pct, at = levels[0], incident.warn_at
    for later, previous in zip(levels[1:], levels, strict=False):  # a sweeper that was away: the last level passed is the one said
        step_at = ref.due(ctx.timezone, category, at, warning_minutes(limits.handle_minutes, later - previous), limits.working_time)
        if step_at > now:
            break
        pct, at = later, step_at
    nxt = [p for p in WARN_LEVELS if p > pct]
    incident.warned_pct = pct
    incident.warn_at = (ref.due(ctx.timezone, category, at, warning_minutes(limits.handle_minutes, nxt[0] - pct), limits.working_time)
                        if nxt else None)
    grid = session.get(Area, incident.grid_id)
    news = News(session, incident, ctx.timezone, ctx.public_url, now)
    told: list[int | None] = [incident.assignee_id]
    if pct >= WARN_LEVELS[-1] and grid is not None:
        told += leaders(ref, ctx.geocoder.primary_layer, grid.code, now)
    news.workers(told, "warning", pct=pct)
    session.flush()  # the conditional update (lock_version): a sweeper that lost the race rolls back here
    return pct

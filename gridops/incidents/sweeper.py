"""Deadlines watched: overdue work is supervised (督办), its worker told, and it climbs the ladder.

An overdue incident still being handled is supervised and escalated one tier
(grid worker → grid leader → community → street → district department); while
it stays overdue it climbs again each time its category's time limit passes
once more (at least hourly), until the top. Work waiting for verification is
supervised and the assignee told, not escalated: the handling is done. Each
incident is swept in its own transaction through the same steps people take,
so two sweepers at once (a CLI run beside the server's) cannot both act on it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from gridops.core import clock
from gridops.core.db import Database
from gridops.core.errors import GridopsError
from gridops.incidents.records import Context
from gridops.core.models import Category, Incident, IncidentEvent, Notification, Task
from gridops.field.patrols import schedule_visits
from gridops.incidents.routing import LADDER, OPEN
from gridops.incidents.workflow import Act, act

log = logging.getLogger(__name__)
HANDLING = ("reported", "accepted", "assessed", "dispatched", "in_progress", "returned", "escalated")


@dataclass
class SweepReport:
    supervised: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    overdue_visits: list[int] = field(default_factory=list)
    visits_scheduled: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def sweep(db: Database, ctx: Context, now: datetime | None = None) -> SweepReport:
    now = now or clock.utcnow()
    report = SweepReport()
    with db.session() as session:
        overdue = list(session.scalars(
            select(Incident.id).where(Incident.status.in_(OPEN), Incident.merged_into_id.is_(None), Incident.due_at < now).order_by(Incident.due_at)
        ))
    for iid in overdue:
        try:
            with db.session() as session:
                _one(session, ctx, iid, now, report)
        except (StaleDataError, GridopsError, SQLAlchemyError) as exc:  # changed under us: the next sweep sees it
            log.info("sweep skipped incident %s: %s", iid, exc)
            report.skipped.append(iid)
    with db.session() as session:
        report.visits_scheduled = schedule_visits(session, ctx, now).created
    with db.session() as session:
        for task in session.scalars(select(Task).where(Task.kind == "patrol", Task.status.in_(("open", "accepted")), Task.due_at < now)):
            told = session.scalar(select(Notification.id).where(Notification.worker_id == task.worker_id, Notification.kind == "visit_overdue",
                                                                Notification.message.contains(f"task {task.id}:")))
            if told is None:
                session.add(Notification(worker_id=task.worker_id, kind="visit_overdue", created_at=now,
                                         message=f"task {task.id}: {task.title} is overdue since {task.due_at.isoformat()}"))
                report.overdue_visits.append(task.id)
    return report


def _one(session, ctx: Context, iid: int, now: datetime, report: SweepReport) -> None:
    incident = session.get(Incident, iid)
    if incident is None or incident.status not in OPEN or incident.due_at >= now:
        return
    if incident.supervised_at is None:
        act(session, ctx, iid, "supervise", Act(note=f"逾期督办: due {incident.due_at.isoformat()}"), None)
        report.supervised.append(iid)
        if incident.status not in HANDLING:
            return
    elif incident.status not in HANDLING or not _due_again(session, incident, now):
        return
    if (incident.tier if incident.tier in LADDER else "grid") != LADDER[-1]:
        act(session, ctx, iid, "escalate", Act(note="逾期自动升级 (overdue: escalated automatically)"), None)
        report.escalated.append(iid)


def _due_again(session, incident: Incident, now: datetime) -> bool:
    """Overdue again since the last automatic escalation: one more time limit has passed."""
    last = session.scalar(
        select(IncidentEvent.at).where(IncidentEvent.incident_id == incident.id, IncidentEvent.action == "escalate",
                                       IncidentEvent.actor_label == "system").order_by(IncidentEvent.seq.desc()).limit(1)
    )
    if last is None:
        return True
    limit = session.get(Category, incident.category_code).time_limit_minutes
    return now - last >= max(timedelta(hours=1), timedelta(minutes=limit))


class Sweeper(threading.Thread):
    """Sweeps every `interval` seconds in the background of `gridops serve`."""

    def __init__(self, make_context, db: Database, interval: float) -> None:
        super().__init__(name="gridops-sweeper", daemon=True)
        self.make_context, self.db, self.interval = make_context, db, interval
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                done = sweep(self.db, self.make_context())
                if done.supervised or done.escalated:
                    log.info("sweep: %d supervised, %d escalated", len(done.supervised), len(done.escalated))
            except Exception:  # a sweep must never take the server down; the next one tries again
                log.exception("sweep failed")
                time.sleep(1)

"""Due work watched, every minute inside `gridops serve` (and by `gridops sweep`): overdue
incidents supervised and escalated (gridops.incidents.sweeper), patrol visits falling due
scheduled, and overdue visits told to their worker once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gridops.access.users import sync_user_areas
from gridops.core import clock
from gridops.core.db import Database
from gridops.core.models import Notification, Task
from gridops.field.patrols import schedule_visits
from gridops.incidents.context import Context
from gridops.incidents.loop import TASK_ACTIVE
from gridops.incidents.sweeper import sweep_incidents

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    supervised: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    overdue_visits: list[int] = field(default_factory=list)
    visits_scheduled: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def sweep(db: Database, ctx: Context, now: datetime | None = None) -> SweepReport:
    """One sweep of everything due."""
    now = now or clock.now()
    report = SweepReport()
    report.supervised, report.escalated, report.skipped = sweep_incidents(db, ctx, now)
    with db.session() as session:
        report.visits_scheduled = schedule_visits(session, ctx, now).created
    with db.session() as session:  # assignments that started or ended by the clock: their users' ground follows
        sync_user_areas(session, now=now)
    with db.session() as session:
        for task in session.scalars(select(Task).where(Task.kind == "patrol", Task.status.in_(TASK_ACTIVE), Task.due_at < now)):
            told = session.scalar(select(Notification.id).where(Notification.worker_id == task.worker_id,
                                                                Notification.kind == "visit_overdue",
                                                                Notification.message.contains(f"task {task.id}:")))
            if told is None:
                assert task.due_at is not None
                session.add(Notification(worker_id=task.worker_id, kind="visit_overdue", created_at=now,
                                         message=f"task {task.id}: {task.title} is overdue since {task.due_at.isoformat()}"))
                report.overdue_visits.append(task.id)
    return report


class Sweeper(threading.Thread):
    """Sweeps every `interval` seconds in the background of `gridops serve`."""

    def __init__(self, make_context: Callable[[], Context], db: Database, interval: float) -> None:
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

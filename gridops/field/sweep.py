"""Due work watched, every minute inside `gridops serve` (and by `gridops sweep`): overdue
incidents supervised and escalated (gridops.incidents.sweeper), patrol visits falling due
scheduled, overdue visits told to their worker once, and the words of dead sign-in codes blanked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gridops.access.otp import forget_spent
from gridops.access.users import sync_user_areas
from gridops.core import clock
from gridops.core.db import Database
from gridops.field.patrols import schedule_visits, tell_overdue_visits
from gridops.incidents.context import Context
from gridops.incidents.sweeper import sweep_incidents, warn_incidents

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    supervised: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    overdue_visits: list[int] = field(default_factory=list)
    visits_scheduled: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    warned: list[tuple[int, int]] = field(default_factory=list)  # (incident, percent of its limit used)
    codes_forgotten: list[str] = field(default_factory=list)  # numbers whose dead sign-in codes' words were blanked


def sweep(db: Database, ctx: Context, now: datetime | None = None) -> SweepReport:
    """One sweep of everything due."""
    now = now or clock.now()
    report = SweepReport()
    report.supervised, report.escalated, report.skipped = sweep_incidents(db, ctx, now)
    report.warned, skipped = warn_incidents(db, ctx, now)
    report.skipped += skipped
    with db.session() as session:
        report.visits_scheduled = schedule_visits(session, ctx, now).created
    with db.session() as session:  # assignments that started or ended by the clock: their users' ground follows
        sync_user_areas(session, now=now)
    with db.session() as session:
        report.overdue_visits = tell_overdue_visits(session, ctx, now)
    with db.session() as session:
        report.codes_forgotten = forget_spent(session, now)
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

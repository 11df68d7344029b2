"""Each stage of the loop has its own time limit: accept (受理) from the report, handle (处置) from the
report to the resolution, verify (核查) from the resolution. The category sets them; an incident keeps
the ones it was reported under, so the city shortening a limit changes later reports only — and a
reopening or an automatic escalation counts the incident's own limit again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridops.core.models import Category, Incident
from gridops.incidents import names
from gridops.incidents.loop import OPEN

STAGES = ("accept", "handle", "verify")
STAGE_NAMES = {code: term.zh or str(term) for code, term in names.STAGE_NAMES.items()}  # 中文 (both: gridops.incidents.names)
AWAITING_ACCEPT = ("reported",)  # nobody has accepted or taken it yet
AWAITING_VERIFY = ("resolved",)  # resolved, nobody has verified it yet
# the pre-due warnings, in percent of the handling limit used (at 100% the sweeper supervises: 督办)
WARN_LEVELS = (50, 75)


@dataclass(frozen=True)
class Limits:
    handle_minutes: int
    verify_minutes: int | None
    working_time: bool

    def as_dict(self) -> dict[str, Any]:
        return {"handle_minutes": self.handle_minutes, "verify_minutes": self.verify_minutes,
                "working_time": self.working_time}


def limits_of(incident: Incident, category: Category) -> Limits:
    """The limits the incident was reported under (rows from before migration 0020 carry the category's
    of that day; a row with none falls back to the category's now)."""
    handle = incident.limit_minutes if incident.limit_minutes is not None else category.time_limit_minutes
    working = incident.limit_working if incident.limit_working is not None else bool(category.working_time)
    verify = incident.verify_limit_minutes if incident.limit_minutes is not None else category.verify_limit_minutes
    return Limits(handle, verify, bool(working))


def overdue_stage(status: str, now: datetime, due_at: datetime, accept_due_at: datetime | None = None,
                  verify_due_at: datetime | None = None) -> str | None:
    """The stage whose limit has run out (handling first: it is the one the measures count), or None."""
    if status not in OPEN:
        return None
    if due_at < now:
        return "handle"
    if status in AWAITING_ACCEPT and accept_due_at is not None and accept_due_at < now:
        return "accept"
    if status in AWAITING_VERIFY and verify_due_at is not None and verify_due_at < now:
        return "verify"
    return None


def warning_minutes(limit_minutes: int, pct: int) -> int:
    """How far into a limit a warning falls, in the limit's own minutes (working or not)."""
    return max(1, round(limit_minutes * pct / 100))

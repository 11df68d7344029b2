"""The reference stamps: one row each, moved by database triggers whenever what it
watches changes (migrations 0004 and 0011), so every process can tell in one
small query whether what it keeps in memory is still current."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridops.core.models import ReferenceStamp

ROUTING_STAMP = 1  # categories, calendar, workers, assignments, shifts, roads: what routing reads
USERS_STAMP = 2  # users, their tokens and areas
HISTORY_STAMP = 3  # settled incident history: the risk maps keep its counts


def read_stamp(session: Session, row: int = ROUTING_STAMP) -> int:
    return session.scalar(select(ReferenceStamp.stamp).where(ReferenceStamp.id == row)) or 0


def stamps(session: Session) -> dict[int, int]:
    """Every stamp in one query (the intake writer reads them once per batch)."""
    return dict(session.connection().exec_driver_sql("SELECT id, stamp FROM reference_stamp").all())

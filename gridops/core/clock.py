"""The time, in one place: tests move it; nothing else reads the system clock for business rules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

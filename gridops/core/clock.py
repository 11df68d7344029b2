"""The time, in one place: every rule that asks "when is it now" asks `now()`.

Nothing else in gridops reads the system clock for business rules, so a test can
move time (a report on a Sunday night, a deadline two days on) and the demo city
can make eight weeks of history through the real loop, by setting the clock here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current time, aware, in UTC."""
    if _source is None:
        return datetime.now(UTC)
    return _source().astimezone(UTC)


def today(tz: str) -> date:
    """The city's date now (a leave, a pause, a calendar year are days where the city is, not in UTC)."""
    return now().astimezone(ZoneInfo(tz)).date()


def set_source(source: Callable[[], datetime] | None) -> None:
    """Read the time from `source` from now on (None: the system clock again)."""
    global _source
    _source = source


@contextmanager
def moved(source: Callable[[], datetime] | datetime) -> Iterator[None]:
    """Within the block the clock reads `source`: a fixed time, or a function returning the time."""
    previous = _source
    set_source(source if callable(source) else (lambda: source))
    try:
        yield
    finally:
        set_source(previous)

"""The time, in one place: every rule that asks "when is it now" asks `now()`.

Nothing else in gridops reads the system clock for business rules, so a test can
move time (a report on a Sunday night, a deadline two days on) and the demo city
can make eight weeks of history through the real loop, by setting the clock here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridops.core.errors import DeviceClockAhead
from gridops.core.words import Say

_source: Callable[[], datetime] | None = None
# how far a phone's clock may run ahead of the server's: a step "done" later than this from now was not done yet
DEVICE_AHEAD = timedelta(minutes=5)


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


def device_time(value: datetime | None, field: str = "device_time") -> datetime | None:
    """When a phone says a step was done (it may send it hours later, after a day with no signal), kept beside
    the server's own time. Any past time is believed; one more than DEVICE_AHEAD in the future is refused,
    since it says the phone's clock is wrong and every time it sends would be."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    ahead = value - now()
    if ahead > DEVICE_AHEAD:
        minutes = ahead.total_seconds() / 60
        raise DeviceClockAhead(
            Say("`%(field)s` %(value)s is %(minutes)s minutes ahead of the server's time; set the phone's clock to automatic "
                "(network time) and send again (at most %(value2)s minutes ahead is accepted).",
                field=field, value=value.isoformat(), minutes=format(minutes, ",.0f"),
                    value2=format(DEVICE_AHEAD.total_seconds() / 60, "g")),
            field=field, ahead_minutes=round(minutes, 1))
    return value

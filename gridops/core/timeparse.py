"""Times and boxes as people and files write them, read one way everywhere.

An ISO-8601 time (a `Z` for UTC allowed, a date alone meaning its midnight); a time
without a zone is read in the city's time zone; what comes out is always aware and in
UTC. A bounding box is minlon,minlat,maxlon,maxlat. A bad value is an
InvalidParameter naming the field, so it becomes a 400 that says what would be right.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gridops.core.errors import InvalidParameter
from gridops.core.words import Say

EXAMPLE = "2026-11-23T09:30:00+08:00"
BBox = tuple[float, float, float, float]
# the times the service reasons about (boundary versions, reports, windows of days or years around them); beyond
# them `datetime` overflows once a zone or a window is applied (9999-12-31T23:59:59-14:00 is year 10000 in UTC)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


class BadValue(InvalidParameter):
    """A value that is not a time (or a box); `reason` is the message without the field's name, for a schema."""

    def __init__(self, field: str, reason: Say) -> None:
        super().__init__(field, Say("`%(field)s` %(reason)s", field=field, reason=reason))
        self.reason = str(reason)
        self.said_reason = reason  # for a schema, which names the field itself: said in the reader's language


def parse_time(raw: str, tz: str | None, field: str = "time") -> datetime:
    """`raw` as an aware UTC time; zone-less times are in `tz` (None: a zone is required)."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(field, Say("must be an ISO-8601 time like %(example)s; got %(raw)r.", example=EXAMPLE, raw=raw)) from None
    if value.tzinfo is None:
        if tz is None:
            raise BadValue(field, Say("must carry its time zone, like %(example)s or with a Z for UTC; got %(raw)r.",
                                      example=EXAMPLE, raw=raw))
        value = value.replace(tzinfo=ZoneInfo(tz))
    return _within_range(value, raw, field)


def _within_range(value: datetime, raw: str, field: str) -> datetime:
    """`value` in UTC, if it falls in the years the service handles (a time zone can push 9999-12-31 past 9999)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise BadValue(field, Say("must fall between %(first)s and %(last)s (like %(example)s); got %(raw)r.",
                                  first=EARLIEST.year, last=LATEST.year - 1, example=EXAMPLE, raw=raw))
    return utc


def parse_optional_time(raw: str | None, tz: str | None, field: str = "time") -> datetime | None:
    """parse_time, where an empty or missing value means none was given."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return parse_time(raw, tz, field)


def format_local(value: datetime, tz: str) -> str:
    """A stored time as a file writes it for the city's clerks, and as parse_time reads it back: the city's day
    alone for its midnight (an assignment from Monday is 2026-12-07), else the city's time with its offset."""
    local = value.astimezone(ZoneInfo(tz))
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date().isoformat()
    return local.isoformat()


def parse_date(raw: str, field: str = "date") -> date:
    """A calendar day (2026-02-17), as a holiday file or a form writes it."""
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadValue(field, Say("must be a day like 2027-02-06; got %(raw)r.", raw=raw)) from None
    if not EARLIEST.year <= value.year < LATEST.year:
        raise BadValue(field, Say("must fall between %(first)s and %(last)s; got %(raw)r.", first=EARLIEST.year,
                                         last=LATEST.year - 1, raw=raw))
    return value


def parse_month(raw: str, tz: str, field: str = "month") -> datetime:
    """A year and month (2026-11) as the first moment of that month in the city, in UTC."""
    try:
        first = datetime.strptime(raw.strip() + "-01", "%Y-%m-%d")
    except ValueError:
        raise BadValue(field, Say("is a year and month like 2026-11; got %(raw)r.", raw=raw)) from None
    return _within_range(first.replace(tzinfo=ZoneInfo(tz)), raw, field)


def parse_bbox(raw: str, field: str = "bbox") -> BBox:
    """minlon,minlat,maxlon,maxlat in WGS-84, min ≤ max."""
    try:
        minx, miny, maxx, maxy = (float(p) for p in str(raw).split(","))
    except ValueError:
        raise BadValue(field, Say("must be four numbers minlon,minlat,maxlon,maxlat; got %(raw)r.", raw=raw)) from None
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadValue(field, Say("must be minlon,minlat,maxlon,maxlat with min ≤ max, lon in [-180, 180], lat in "
                                    "[-90, 90]; got %(raw)r.", raw=raw))
    return minx, miny, maxx, maxy

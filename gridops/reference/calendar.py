"""Time limits: when an incident is due, in calendar time or in working time.

A construction complaint has "15 working days"; an elderly person's request has
"2 hours". Working time counts only the office windows of working days, where a
working day is Monday–Friday unless the holiday calendar says otherwise (public
holidays off, make-up weekend days 调休 on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Windows = tuple[tuple[time, time], ...]
# 08:30–12:00 and 13:30–17:30: the usual street-office day (7.5 hours); a city sets its own
# (GRIDOPS_OFFICE_HOURS) and a department may keep its own (department.office_hours)
DEFAULT_WINDOWS: Windows = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
DEFAULT_OFFICE_HOURS = "08:30-12:00,13:30-17:30"
_MAX_DAYS = 3 * 366  # a limit that needs longer than this is a data error


class BadOfficeHours(ValueError):
    """Office hours that are not a day's ordered, non-overlapping windows."""


def parse_windows(raw: str) -> Windows:
    """Office hours as people write them, "08:30-12:00,13:30-17:30" (a full-width comma or dash is read too):
    windows within one day, in order, not overlapping."""
    text = raw.replace("，", ",").replace("－", "-").replace("–", "-").replace("—", "-").replace("~", "-").strip()
    if not text:
        raise BadOfficeHours("office hours are empty: give windows like 08:30-12:00,13:30-17:30.")
    windows: list[tuple[time, time]] = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            if not sep:
                raise ValueError
            window = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError:
            raise BadOfficeHours(f"{part.strip()!r} is not a window like 08:30-12:00.") from None
        if window[1] <= window[0]:
            raise BadOfficeHours(f"{part.strip()!r} ends before it starts: office hours lie within one day.")
        if windows and window[0] < windows[-1][1]:
            raise BadOfficeHours(f"{part.strip()!r} starts before the window ahead of it ends: give the windows in order.")
        windows.append(window)
    return tuple(windows)


def format_windows(windows: Windows) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in windows)


def workday_minutes(windows: Windows = DEFAULT_WINDOWS) -> int:
    """The length of an office day, in minutes (a limit of "3 working days" is three of them)."""
    return sum((datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds // 60 for start, end in windows)


WORKDAY_MINUTES = workday_minutes(DEFAULT_WINDOWS)


@dataclass(frozen=True)
class WorkCalendar:
    timezone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked (调休)
    windows: Windows = DEFAULT_WINDOWS

    @classmethod
    def from_days(cls, tz: str, days: Iterable[tuple[date, str]], windows: Windows = DEFAULT_WINDOWS) -> WorkCalendar:
        """From (day, kind) rows as stored in calendar_day: kind is 'holiday' or 'workday'."""
        days = list(days)
        return cls(
            ZoneInfo(tz),
            frozenset(d for d, kind in days if kind == "holiday"),
            frozenset(d for d, kind in days if kind == "workday"),
            windows,
        )

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def due(self, start: datetime, minutes: int, working_time: bool) -> datetime:
        """The moment a limit of `minutes` that starts at `start` runs out."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if not working_time:
            return start + timedelta(minutes=minutes)
        local = start.astimezone(self.timezone)
        remaining = timedelta(minutes=minutes)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if self.is_workday(day):
                for w_start, w_end in self.windows:
                    opens = datetime.combine(day, w_start, self.timezone)
                    closes = datetime.combine(day, w_end, self.timezone)
                    begin = max(opens, local)
                    if begin >= closes:
                        continue
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            local = datetime.combine(day, time(0, 0), self.timezone)
        raise ValueError(f"a limit of {minutes} working minutes does not end within {_MAX_DAYS} days")

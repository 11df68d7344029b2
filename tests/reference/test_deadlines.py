from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gridops.reference.calendar import WORKDAY_MINUTES, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar.from_days(
    "Asia/Shanghai",
    [(date(2026, 10, d), "holiday") for d in range(1, 8)] + [(date(2026, 10, 10), "workday")],
)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_calendar_time_ignores_nights_and_weekends():
    assert CAL.due(local(2026, 11, 20, 22, 0), 120, False) == local(2026, 11, 21, 0, 0)


def test_working_time_skips_the_night_and_the_lunch_break():
    # Friday 17:00, 2 working hours: 30 min on Friday, then Monday 08:30 + 90 min
    assert CAL.due(local(2026, 11, 20, 17, 0), 120, True) == local(2026, 11, 23, 10, 0)
    # Monday 11:30 + 60 min: 30 min before lunch, 30 after 13:30
    assert CAL.due(local(2026, 11, 23, 11, 30), 60, True) == local(2026, 11, 23, 14, 0)


def test_working_time_skips_public_holidays_and_counts_make_up_saturdays():
    # Wednesday 30 September, 17:00 + 1 working hour: 30 min that day, then the
    # holiday week, then Thursday 8 October 08:30 + 30 min
    assert CAL.due(local(2026, 9, 30, 17, 0), 60, True) == local(2026, 10, 8, 9, 0)
    # Saturday 10 October is a make-up working day
    assert CAL.due(local(2026, 10, 10, 8, 0), 60, True) == local(2026, 10, 10, 9, 30)


def test_fifteen_working_days_end_fifteen_working_days_later():
    due = CAL.due(local(2026, 11, 2, 9, 0), 15 * WORKDAY_MINUTES, True)
    assert due.astimezone(SH).date() == date(2026, 11, 23)
    assert due.tzinfo == UTC


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        CAL.due(datetime(2026, 11, 20, 9, 0), 60, True)

"""When a signal's conversion into an eval is due: two business days after the day it happened.

Business days are Monday to Friday; there is no holiday calendar. The day is the signal's
own date as written (in its own UTC offset), so a signal recorded late on a Friday is due on
Tuesday wherever triage runs.
"""

from __future__ import annotations

import datetime as dt

BUSINESS_DAYS = 2


def day_of(time: dt.datetime | dt.date) -> dt.date:
    return time.date() if isinstance(time, dt.datetime) else time


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The day `days` business days after `start` (Saturday and Sunday do not count)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def due(time: dt.datetime | dt.date) -> dt.date:
    return add_business_days(day_of(time), BUSINESS_DAYS)


def is_overdue(deadline: dt.date, today: dt.date) -> bool:
    """Overdue from the day after the deadline: the deadline day itself is still in time."""
    return today > deadline

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalloop.intake.deadline import add_business_days, day_of, due, is_overdue

MONDAY = dt.date(2026, 4, 20)


@pytest.mark.parametrize(("start", "deadline"), [
    ("2026-04-20", "2026-04-22"),  # Monday -> Wednesday
    ("2026-04-21", "2026-04-23"),  # Tuesday -> Thursday
    ("2026-04-22", "2026-04-24"),  # Wednesday -> Friday
    ("2026-04-23", "2026-04-27"),  # Thursday -> Monday: the weekend does not count
    ("2026-04-24", "2026-04-28"),  # Friday -> Tuesday
    ("2026-04-25", "2026-04-28"),  # Saturday -> Tuesday
    ("2026-04-26", "2026-04-28"),  # Sunday -> Tuesday
    ("2026-12-31", "2027-01-04"),  # Thursday, across the year -> Monday
])
def test_two_business_days_skip_the_weekend(start: str, deadline: str) -> None:
    assert due(dt.date.fromisoformat(start)) == dt.date.fromisoformat(deadline)


def test_the_day_is_the_signal_s_own_date_in_its_offset() -> None:
    # Friday evening in New York is Saturday in UTC: still due on Tuesday, not Wednesday
    late_friday = dt.datetime.fromisoformat("2026-04-24T21:30:00-05:00")
    assert day_of(late_friday) == dt.date(2026, 4, 24)
    assert due(late_friday) == dt.date(2026, 4, 28)
    assert due(dt.datetime(2026, 4, 20, 23, 59)) == dt.date(2026, 4, 22)


def test_overdue_from_the_day_after_the_deadline() -> None:
    deadline = due(MONDAY)
    assert not is_overdue(deadline, MONDAY)
    assert not is_overdue(deadline, deadline)
    assert is_overdue(deadline, deadline + dt.timedelta(days=1))


def test_zero_business_days_is_the_day_itself() -> None:
    assert add_business_days(dt.date(2026, 4, 25), 0) == dt.date(2026, 4, 25)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)), st.integers(1, 30))
def test_the_deadline_is_a_weekday_n_weekdays_later(start: dt.date, days: int) -> None:
    end = add_business_days(start, days)
    assert end.weekday() < 5
    between = [start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(d.weekday() < 5 for d in between) == days

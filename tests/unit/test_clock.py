"""EVALLOOP_NOW: the time evalloop stamps its records with, for histories written after the fact."""

from __future__ import annotations

import datetime as dt

import pytest

from evalloop import clock
from evalloop.errors import UsageError
from evalloop.model.results import started_now


def test_the_system_clock_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = clock.now()
    assert before <= at <= dt.datetime.now(dt.UTC) and at.microsecond == 0 and at.tzinfo is dt.UTC


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-05-04T09:00:00Z", dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)),
    ("2026-05-04T09:00:00", dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)),  # no offset: UTC
    ("2026-05-04T11:00:00+02:00", dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)),
])
def test_evalloop_now_fixes_it(monkeypatch: pytest.MonkeyPatch, given: str, expected: dt.datetime) -> None:
    monkeypatch.setenv(clock.ENV, given)
    assert clock.now() == expected
    assert started_now()[0] == "2026-05-04T09:00:00Z"  # gate reports and their ledger lines


def test_a_bad_value_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "yesterday")
    with pytest.raises(UsageError, match="EVALLOOP_NOW='yesterday' is not an ISO 8601 time"):
        clock.now()

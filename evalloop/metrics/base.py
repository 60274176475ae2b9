"""The window a metric is computed over, and what one metric's computation returns."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from evalloop.model.metrics import MetricStatus

MAX_PERIODS = 26  # points of a trend chart


@dataclass(frozen=True)
class Window:
    """The days `since` to `until`, both included; `now` is when the report is made (a window
    ending in the future ends now for anything that asks "by when")."""

    since: dt.date
    until: dt.date
    now: dt.datetime

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.since.year, self.since.month, self.since.day, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the window."""
        after = self.until + dt.timedelta(days=1)
        return dt.datetime(after.year, after.month, after.day, tzinfo=dt.UTC)

    @property
    def asof(self) -> dt.datetime:
        """The last moment anything in the window can have happened by."""
        return min(self.end, self.now)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when < self.end and when <= self.now

    def periods(self) -> list[Window]:
        """The window cut into consecutive periods for a trend: weeks, or longer periods when a
        window of weeks would have more than MAX_PERIODS points."""
        length = max(7, math.ceil(self.days / MAX_PERIODS))
        out = []
        day = self.since
        while day <= self.until:
            last = min(day + dt.timedelta(days=length - 1), self.until)
            out.append(Window(day, last, self.now))
            day = last + dt.timedelta(days=1)
        return out


@dataclass
class Outcome:
    """One metric over one window: its value (None when it cannot be computed: `missing` says
    which data), the counts behind it, and its status with the records that decided it."""

    value: float | None
    status: MetricStatus = "ok"
    numerator: int | None = None
    denominator: int | None = None
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def no_data(cls, *missing: str, notes: list[str] | None = None) -> Outcome:
        return cls(None, "no_data", missing=list(missing), notes=notes or [])

    def investigate(self, reason: str) -> None:
        if self.status != "block":
            self.status = "investigate"
        self.reasons.append(reason)

    def block(self, reason: str) -> None:
        self.status = "block"
        self.reasons.append(reason)


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator


def day(when: dt.datetime) -> str:
    return when.date().isoformat()

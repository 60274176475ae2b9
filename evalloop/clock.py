"""The time evalloop writes on its records: ledger entries, gate reports, incident records.

`EVALLOOP_NOW` (ISO 8601, UTC when it names no offset) fixes it, so a demo or a test can
write a history at the times it happened (examples/loop_demo.py); without it, the system
clock. Commands that judge against a time also take `--now`/`--today`, which win over both.
"""

from __future__ import annotations

import datetime as dt
import os

from evalloop.errors import UsageError

ENV = "EVALLOOP_NOW"


def now() -> dt.datetime:
    """The current time, timezone-aware UTC, to the second."""
    given = os.environ.get(ENV)
    if not given:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        at = dt.datetime.fromisoformat(given)
    except ValueError:
        raise UsageError(f"{ENV}={given!r} is not an ISO 8601 time (like 2026-05-04T09:00:00Z)") from None
    return (at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at).astimezone(dt.UTC).replace(microsecond=0)

"""Mapped spans before their run is assembled: `Draft` (agent meaning) and `Other` (plumbing)."""

from __future__ import annotations

import math
from typing import Any

from evalloop.traces.raw import RawSpan

# How sure we are that a span *is* the model call, used to pick one span when
# several layers record the same call: the span named by a convention wins over
# a provider SDK span (OpenLLMetry's `llm.request.type`), which wins over a
# framework wrapper that merely repeats the usage numbers (ADK's `call_llm`).
P_SEMCONV, P_PROVIDER, P_WRAPPER = 3, 2, 1

INF = math.inf


def when(t: float | None) -> float:
    """A time as a sort key: unknown (None) and unparseable (NaN) sort last, since
    NaN compares false with everything and would leave the order arbitrary."""
    return t if t is not None and t == t else INF


class Draft:
    """A span on its way to becoming a `Span`: `f` is the Span's field dict.

    Until the run is assembled, `f["parent_id"]` is the source parent and
    `f["error"]` is set exactly when the source marked the span failed. `bad`
    lists (field, recorded value) for measurements that are not numbers.
    """

    __slots__ = ("bad", "f", "key", "kind", "prio")

    def __init__(self, f: dict[str, Any], prio: int, s: RawSpan) -> None:
        self.f = f
        self.prio = prio
        self.kind = s.kind
        self.bad: list[tuple[str, str]] | None = None
        start, end = f["start_ms"], f["end_ms"]
        # start order; a parent sharing its child's start (and lasting longer) first
        self.key = (when(start), -end if end is not None and end == end else INF)


# A span without agent meaning, kept only for the tree and the run's outcome:
# (span_id, parent_id, start_ms, end_ms, failed, attrs or None).
Other = tuple[str | None, str | None, float | None, float | None, bool, dict[str, Any] | None]

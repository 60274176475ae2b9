"""What a format reader hands on: `RawSpan`, one source span reduced to what every format has.

Readers (`otlp`, `jaeger`, `anyagent`, `aws`, `langfuse`) turn their format into
`RawSpan`s and pass each to a callback (the `Collector` of `traces.assemble`),
which maps it by its attributes at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError


class RawSpan:
    """One source span reduced to what every format has; `attrs` is a flat dict.

    `events` holds the span's events (exceptions, the GenAI event forms), None without.
    """

    __slots__ = ("attrs", "end_ms", "events", "failed", "kind", "name", "parent_id", "span_id",
                 "start_ms", "status_message", "trace_id")

    def __init__(self, trace_id: str, span_id: str | None, parent_id: str | None, name: str,
                 start_ms: float | None, end_ms: float | None, attrs: dict[str, Any],
                 failed: bool, status_message: str | None,
                 events: list[tuple[str, dict[str, Any]]] | None, kind: str | None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.name = name
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.attrs = attrs
        self.failed = failed
        self.status_message = status_message
        self.events = events
        self.kind = kind


def add_parsed(items: Any, parse: Callable[[Any], RawSpan], add: Callable[[RawSpan], None], where: str,
               label: str) -> None:
    """Parse and add each span of a reader's list; a malformed one is a one-line error naming
    its position (`label[k]`), never a traceback. Nothing is kept here: the collector frees
    attributes as it goes."""
    for k, item in enumerate(items):
        try:
            raw = parse(item)
        except (AttributeError, TypeError, KeyError, ValueError) as exc:  # only parsing here
            raise EvalloopError(f"{where}: malformed span at {label}[{k}]: {type(exc).__name__}: {exc}") from None
        add(raw)

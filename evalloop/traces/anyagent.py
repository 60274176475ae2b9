"""any-agent `AgentTrace` JSON and other OpenTelemetry-SDK span dumps.

`{"spans": [...], "final_output": ...}`; each span as the Python SDK dumps it:
`context`/`parent` with `trace_id`/`span_id` as decimal integers (or "0x.." hex
from `ReadableSpan.to_json`), nanosecond or ISO times, a flat attribute dict.
The decimal ids exceed 64 bits, so these files are parsed with the standard
library (orjson would turn them into floats).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import orjson

from evalloop.errors import EvalloopError
from evalloop.model.run import float_value
from evalloop.traces.raw import RawSpan, add_parsed


def _id(value: Any, width: int) -> str | None:
    if value is None or value == "":
        return None
    if type(value) is int:
        return format(value, f"0{width}x")
    text = str(value)
    if text.startswith("0x"):
        return text[2:].zfill(width)
    return text


def ns_or_iso_ms(value: Any) -> float | None:
    """Nanoseconds or an ISO time to milliseconds.

    A time that is neither becomes NaN (not None, which would read as "not
    recorded" and let the other spans' times stand for the run's latency).
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return value / 1e6
        except OverflowError:  # an integer of 300+ digits
            return math.inf
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp() * 1000.0
    except (ValueError, OverflowError, OSError):
        pass
    number = float_value(value)[0]  # nanoseconds written as a string; NaN otherwise
    return None if number is None else number / 1e6


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    return text.removeprefix("spankind.")


def _span(sp: dict[str, Any]) -> RawSpan:
    context = sp.get("context") or {}
    parent = sp.get("parent")
    parent_id = _id(parent.get("span_id"), 16) if isinstance(parent, dict) \
        else _id(sp.get("parent_id"), 16)
    status = sp.get("status") or {}
    failed = str(status.get("status_code") or "").lower().endswith("error")
    events = None
    if sp.get("events"):  # GenAI event forms (outputs, tool results) and exceptions
        events = [(str(e.get("name") or ""), dict(e.get("attributes") or {}))
                  for e in sp.get("events") or ()]
    return RawSpan(_id(context.get("trace_id"), 32) or "", _id(context.get("span_id"), 16),
                   parent_id, str(sp.get("name") or ""), ns_or_iso_ms(sp.get("start_time")),
                   ns_or_iso_ms(sp.get("end_time")), dict(sp.get("attributes") or {}), failed,
                   status.get("description") or None, events, _kind(sp.get("kind")))


def span_list(doc: Any) -> list[Any] | None:
    """The SDK-style spans of a document, None when it is not such a dump."""
    spans = doc.get("spans") if type(doc) is dict else doc
    if type(spans) is not list:
        return None
    if type(doc) is dict and "final_output" in doc and not spans:
        return spans
    if spans and all(type(s) is dict and "context" in s for s in spans[:10]):
        return spans
    return None


def final_text(doc: Any) -> str | None:
    if type(doc) is not dict:
        return None
    value = doc.get("final_output")
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def read(doc: Any, add: Callable[[RawSpan], None], where: str,
         outputs: dict[str, str]) -> int:
    spans = span_list(doc)
    if spans is None:
        raise EvalloopError(f"{where}: not an any-agent trace (expected "
                            '{"spans": [{"context": ...}], "final_output": ...})')
    ids: list[str] = []

    def add_noting_trace(raw: RawSpan) -> None:
        add(raw)
        if raw.trace_id not in ids:
            ids.append(raw.trace_id)

    add_parsed(spans, _span, add_noting_trace, where, "spans")
    text = final_text(doc)
    if text is not None and ids:
        # An AgentTrace is one agent run; its answer belongs to its (last) trace.
        outputs[ids[-1]] = text
    return len(spans)

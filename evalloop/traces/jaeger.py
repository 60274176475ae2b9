"""Jaeger query-API JSON: `{"data": [{"traceID", "spans", "processes"}]}`.

Times are microseconds; tags are typed `{key, type, value}`; the parent is the
first CHILD_OF reference, else the legacy `parentSpanID` field, else the first
other (FOLLOWS_FROM) reference; failure is `otel.status_code=ERROR` or `error=true`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.model.run import float_value
from evalloop.traces.raw import RawSpan


def _tag(tag: dict[str, Any]) -> Any:
    value = tag.get("value")
    kind = tag.get("type")
    if kind == "int64" and type(value) is not int:
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value
    if kind == "float64" and type(value) is not float:
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):  # the mapping judges what is left
            return value
    if kind == "bool" and type(value) is not bool:
        return str(value).lower() == "true"
    return value


def tags(items: Any) -> dict[str, Any]:
    return {t["key"]: _tag(t) for t in items} if items else {}


def _id(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    n = len(text)
    # Jaeger drops leading zeros of ids; pad back to the OTel widths.
    if n < 16:
        return text.zfill(16)
    if 16 < n < 32:
        return text.zfill(32)
    return text


def _parent(sp: dict[str, Any]) -> str | None:
    follows = None
    for ref in sp.get("references") or ():
        if ref.get("refType") == "CHILD_OF":
            return _id(ref.get("spanID"))
        if follows is None:
            follows = ref.get("spanID")
    return _id(sp.get("parentSpanID") or follows)


def _us_to_ms(value: Any) -> float | None:
    """Microseconds to milliseconds; NaN for a time that is not a number, so that a
    latency read from it cannot be judged (the span itself is still imported)."""
    number = float_value(value)[0]
    return None if number is None else number / 1000.0


def _span(sp: dict[str, Any], trace_id: str | None) -> RawSpan:
    attrs = tags(sp.get("tags"))
    failed = attrs.get("otel.status_code") == "ERROR" or attrs.get("error") is True
    events = None
    if sp.get("logs"):  # GenAI event forms (outputs, tool results) and exceptions
        events = []
        for log in sp.get("logs") or ():
            fields = tags(log.get("fields"))
            events.append((str(fields.get("event") or ""), fields))
    start = _us_to_ms(sp.get("startTime"))
    duration = _us_to_ms(sp.get("duration"))
    end = start + duration if start is not None and duration is not None else None
    kind = attrs.get("span.kind")
    return RawSpan(_id(sp.get("traceID") or trace_id) or "", _id(sp.get("spanID")), _parent(sp),
                   str(sp.get("operationName") or ""), start, end, attrs, failed,
                   attrs.get("otel.status_description") or None, events,
                   str(kind) if kind is not None else None)


def trace_list(doc: Any) -> list[Any] | None:
    """The traces of a Jaeger document, None when it is not one."""
    if type(doc) is dict:
        data = doc.get("data")
        if type(data) is list and all(type(t) is dict and "spans" in t for t in data[:10]):
            return data
        if "traceID" in doc and "spans" in doc:
            return [doc]
        return None
    if type(doc) is list and doc and all(type(t) is dict and "traceID" in t and "spans" in t
                                         for t in doc[:10]):
        return doc
    return None


def read(doc: Any, add: Callable[[RawSpan], None], where: str) -> int:
    data = trace_list(doc)
    if data is None:
        raise EvalloopError(f"{where}: not a Jaeger JSON document (expected "
                            '{"data": [{"traceID", "spans", ...}]})')
    n = 0
    try:
        for trace in data:
            trace_id = trace.get("traceID")
            for sp in trace.get("spans") or ():
                add(_span(sp, trace_id))
                n += 1
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        at = _locate(data)
        if at is None:
            raise  # every span parses: the failure is in the mapping, not the input
        raise EvalloopError(f"{where}: malformed Jaeger span at {at}: "
                            f"{type(exc).__name__}: {exc}") from None
    return n


def _locate(data: list[Any]) -> str | None:
    """Where `read` failed, found by walking again (only on the error path)."""
    errors = (AttributeError, TypeError, KeyError, ValueError)
    for i, trace in enumerate(data):
        try:
            spans = list(enumerate(trace.get("spans") or ()))
        except errors:
            return f"data[{i}]"
        for k, sp in spans:
            try:
                _span(sp, None)
            except errors:
                return f"data[{i}].spans[{k}]"
    return None


def has_openinference(doc: Any) -> bool:
    for trace in trace_list(doc) or ():
        for sp in (trace.get("spans") or ())[:500]:
            if any(t.get("key") == "openinference.span.kind" for t in sp.get("tags") or ()):
                return True
    return False

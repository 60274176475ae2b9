"""OTLP/JSON spans as exporters, collectors and Tempo write them.

Accepts a TracesData / ExportTraceServiceRequest object (`resourceSpans`), the
legacy Tempo shape (`batches` with `instrumentationLibrarySpans`), Tempo's
`{"trace": {...}}` wrapper, and proto field names (`resource_spans`, ...).
Ids are hex, or base64 as protobuf's canonical JSON mapping writes bytes;
enums are numbers or names; int64 values are strings or numbers.

Per-span work is the cost of a large import, so the common spelling of every
field is tried first and the rarer ones only when it is missing.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.model.run import float_value
from evalloop.traces.raw import RawSpan

_ERROR_CODES = frozenset({2, "2", "STATUS_CODE_ERROR", "ERROR"})
_KINDS: dict[Any, str] = {
    0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer",
    "SPAN_KIND_UNSPECIFIED": "unspecified", "SPAN_KIND_INTERNAL": "internal",
    "SPAN_KIND_SERVER": "server", "SPAN_KIND_CLIENT": "client",
    "SPAN_KIND_PRODUCER": "producer", "SPAN_KIND_CONSUMER": "consumer",
}


def hex_id(value: Any) -> str | None:
    """A trace or span id as hex, whichever way the JSON spelled it."""
    if not value:
        return None
    if type(value) is str:
        n = len(value)
        # 32 or 16 characters is hex: base64 of 16 or 8 bytes has 24 or 12.
        if n == 32 or n == 16:
            return value
        try:
            return base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return value
    if type(value) is int:
        return format(value, "x")
    return str(value)


def _ms(value: Any) -> float | None:
    """Nanoseconds (string or number) to milliseconds; 0 means unset.

    A time that is not a number becomes NaN and one beyond any clock infinity:
    the span is still imported (its other evidence counts), and a latency
    budget read from it cannot be judged rather than being judged on a guess.
    """
    if not value:
        return None
    try:
        return int(value) / 1e6  # exact for the int64 strings OTLP writes
    except OverflowError:  # an integer (or float) no double holds
        return math.inf
    except (TypeError, ValueError):  # "1.5e18", "abc", a list, NaN, too many digits
        pass
    number = float_value(value)[0]
    return number / 1e6 if number else None


def _int(x: Any) -> Any:
    if type(x) is int:
        return x
    try:
        return int(x)
    except (TypeError, ValueError):
        return x


def _float(x: Any) -> Any:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):  # the mapping judges what is left
        return x


def _bool(x: Any) -> Any:
    return x if type(x) is bool else str(x).lower() == "true"


def _array(x: Any) -> list[Any]:
    values = x.get("values") if isinstance(x, dict) else None
    return [any_value(v) for v in values] if values else []


def _kvlist(x: Any) -> dict[str, Any]:
    values = x.get("values") if isinstance(x, dict) else None
    return attributes(values) if values else {}


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "intValue": _int, "int_value": _int,
    "doubleValue": _float, "double_value": _float,
    "boolValue": _bool, "bool_value": _bool,
    "arrayValue": _array, "array_value": _array,
    "kvlistValue": _kvlist, "kvlist_value": _kvlist,
    "string_value": str,
    # bytes stay base64 text: attributes must stay JSON
    "bytesValue": str, "bytes_value": str,
}


def any_value(v: Any) -> Any:
    """An OTLP AnyValue union as a plain value (kvlist -> dict, array -> list)."""
    if type(v) is not dict:
        return v  # some writers put plain values where an AnyValue belongs
    s = v.get("stringValue")
    if s is not None:
        return s
    for key, x in v.items():
        conv = _CONVERTERS.get(key)
        if conv is not None:
            return conv(x)
    return None


def _not_string(v: Any) -> Any:
    x = v.get("intValue")
    if x is not None:
        return x if type(x) is int else _int(x)
    return any_value(v)


def attributes(kvs: Any) -> dict[str, Any]:
    """An OTLP KeyValue list as a flat dict."""
    out: dict[str, Any] = {}
    try:
        # nearly all values are strings: keep the loop body to the bare minimum
        for kv in kvs:
            v = kv["value"]
            x = v.get("stringValue")
            out[kv["key"]] = x if x is not None else _not_string(v)
    except (KeyError, AttributeError, TypeError):
        return _attributes_lenient(kvs)
    return out


def _attributes_lenient(kvs: Any) -> dict[str, Any]:
    """The same for lists with missing values or plain values instead of AnyValues."""
    out: dict[str, Any] = {}
    for kv in kvs:
        v = kv.get("value")
        out[kv["key"]] = any_value(v) if v else None
    return out


def _events(sp: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    events = sp.get("events")
    if not events:
        return []
    return [(str(e.get("name") or ""), attributes(e.get("attributes") or ())) for e in events]


def _span(sp: dict[str, Any]) -> RawSpan:
    kvs = sp.get("attributes")
    attrs = attributes(kvs) if kvs else {}
    status = sp.get("status")
    failed = False
    message = None
    events = None
    if status:
        code = status.get("code")
        if code is not None and code in _ERROR_CODES:
            failed = True
            message = status.get("message") or None
    if sp.get("events"):
        # GenAI event forms carry outputs and tool results on any span, not only errors
        events = _events(sp)
    start = sp.get("startTimeUnixNano")
    end = sp.get("endTimeUnixNano")
    if start is None and end is None:
        start, end = sp.get("start_time_unix_nano"), sp.get("end_time_unix_nano")
    # the common spellings inline (`or None`: a zero time is unset); hex_id and
    # _ms handle every other one
    try:
        start = (int(start) / 1e6 or None) if start else None
        end = (int(end) / 1e6 or None) if end else None
    except (TypeError, ValueError, OverflowError):
        start, end = _ms(start), _ms(end)
    trace_id = sp.get("traceId")
    span_id = sp.get("spanId")
    if trace_id is None and span_id is None:
        trace_id, span_id = sp.get("trace_id"), sp.get("span_id")
    if type(trace_id) is not str or len(trace_id) != 32:
        trace_id = hex_id(trace_id) or ""
    if type(span_id) is not str or len(span_id) != 16:
        span_id = hex_id(span_id)
    parent = sp.get("parentSpanId")
    if parent is None:
        parent = sp.get("parent_span_id")
    if parent is not None and (type(parent) is not str or len(parent) != 16):
        parent = hex_id(parent)
    kind = sp.get("kind")
    return RawSpan(trace_id, span_id, parent, str(sp.get("name") or ""), start, end, attrs,
                   failed, message, events, _KINDS.get(kind) if kind is not None else None)


def resource_spans(doc: Any) -> list[Any] | None:
    """The doc's list of resource spans under any of its names, None when not OTLP."""
    if type(doc) is not dict:
        return None
    for key in ("resourceSpans", "batches", "resource_spans"):
        value = doc.get(key)
        if value is not None:
            return value  # type: ignore[no-any-return]
    inner = doc.get("trace")
    if type(inner) is dict:
        return resource_spans(inner)
    return None


def is_otlp(doc: Any) -> bool:
    if resource_spans(doc) is not None:
        return True
    return type(doc) is dict and any(k in doc for k in (
        "resourceLogs", "resourceMetrics", "resource_logs", "resource_metrics"))


def _scopes(rs: dict[str, Any]) -> Any:
    scopes = rs.get("scopeSpans")
    if scopes is None:
        scopes = rs.get("instrumentationLibrarySpans")
        if scopes is None:
            scopes = rs.get("scope_spans") or rs.get("instrumentation_library_spans") or ()
    return scopes


def read(doc: Any, add: Callable[[RawSpan], None], where: str) -> int:
    """Pass the doc's spans to `add`; the number of spans read."""
    if type(doc) is list:  # a JSON array of requests instead of JSON Lines
        return sum(read(item, add, f"{where}[{i}]") for i, item in enumerate(doc))
    rss = resource_spans(doc)
    if rss is None:
        if is_otlp(doc):
            return 0  # logs or metrics only: load_runs reports the missing spans
        raise EvalloopError(f"{where}: not an OTLP/JSON document (no resourceSpans)")
    n = 0
    try:
        for rs in rss:
            for ss in _scopes(rs):
                spans = ss.get("spans")
                if not spans:
                    continue
                for sp in spans:
                    add(_span(sp))
                n += len(spans)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        at = _locate(rss)
        if at is None:
            raise  # every span parses: the failure is in the mapping, not the input
        raise EvalloopError(f"{where}: malformed OTLP span data at {at}: "
                            f"{type(exc).__name__}: {exc}") from None
    return n


def _locate(rss: Any) -> str | None:
    """Where `read` failed, found by walking again (only on the error path)."""
    errors = (AttributeError, TypeError, KeyError, ValueError)
    try:
        items = list(enumerate(rss))
    except errors:
        return "resourceSpans"
    for i, rs in items:
        try:
            scopes = list(enumerate(_scopes(rs)))
        except errors:
            return f"resourceSpans[{i}]"
        for j, ss in scopes:
            try:
                spans = list(enumerate(ss.get("spans") or ()))
            except errors:
                return f"resourceSpans[{i}].scopeSpans[{j}]"
            for k, sp in spans:
                try:
                    _span(sp)
                except errors:
                    return f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
    return None


def has_openinference(doc: Any, limit: int = 500) -> bool:
    """Whether the first spans carry OpenInference attributes (detection only)."""
    seen = 0
    for rs in resource_spans(doc) or ():
        if type(rs) is not dict:
            return False
        for ss in _scopes(rs):
            for sp in (ss.get("spans") if type(ss) is dict else None) or ():
                kvs = sp.get("attributes") if type(sp) is dict else None
                for kv in kvs or ():
                    if type(kv) is dict and kv.get("key") == "openinference.span.kind":
                        return True
                seen += 1
                if seen >= limit:
                    return False
    return False

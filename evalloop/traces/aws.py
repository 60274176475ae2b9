"""Flat span dumps: one JSON object per span, attributes as a flat object.

Three dialects of the same thing:

- AWS CloudWatch `aws/spans` (Transaction Search, Bedrock AgentCore): one span per
  log line, `traceId`, `spanId`, `parentSpanId`, `name`, `kind`,
  `startTimeUnixNano`, `endTimeUnixNano`, `attributes`, `status`, `events`,
  `resource.attributes`;
- the OpenTelemetry JS SDK's `ReadableSpan` (Vercel AI SDK test dumps):
  `spanContext.traceId/spanId`, `parentSpanId` or `parentSpanContext`, `startTime`
  / `endTime` as `[seconds, nanoseconds]`, numeric `kind` counted from INTERNAL=0;
- snake-case dumps (strands-evals, span exporters writing `to_dict`): `trace_id`,
  `span_id`, `parent_span_id`, `start_time` / `end_time` in nanoseconds,
  `span_events`.

A file is a list of spans, `{"spans": [...]}`, or JSON Lines of spans (or lists).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.traces.anyagent import ns_or_iso_ms
from evalloop.traces.otlp import hex_id
from evalloop.traces.raw import RawSpan, add_parsed

_ERROR = frozenset({2, "2", "ERROR", "STATUS_CODE_ERROR", "error"})
# OpenTelemetry JS SpanKind (INTERNAL=0), unlike OTLP's enum (UNSPECIFIED=0).
_JS_KINDS = {0: "internal", 1: "server", 2: "client", 3: "producer", 4: "consumer"}


def _is_span(item: Any) -> bool:
    if type(item) is not dict or "name" not in item or "context" in item:
        return False
    return ("traceId" in item and "spanId" in item) \
        or ("trace_id" in item and "span_id" in item) \
        or type(item.get("spanContext")) is dict


def span_list(doc: Any) -> list[Any] | None:
    """The flat spans of a document, None when it is not such a dump."""
    if type(doc) is dict:
        if _is_span(doc):
            return [doc]
        spans = doc.get("spans")
        return spans if type(spans) is list and spans and _is_span(spans[0]) else None
    if type(doc) is list and doc and all(_is_span(s) for s in doc[:10]):
        return doc
    return None


def is_aws(doc: Any) -> bool:
    """A CloudWatch aws/spans record (rather than another flat dialect)."""
    spans = span_list(doc)
    return spans is not None and bool(spans) and type(spans[0]) is dict \
        and "startTimeUnixNano" in spans[0]


def _time(value: Any) -> float | None:
    if type(value) is list and len(value) == 2 and all(type(v) is int for v in value):
        return float(value[0] * 1000.0 + value[1] / 1e6)  # JS hrtime [s, ns]
    return ns_or_iso_ms(value)


def _kind(sp: dict[str, Any]) -> str | None:
    kind = sp.get("kind")
    if kind is None:
        return None
    if type(kind) is int:
        return _JS_KINDS.get(kind) if "spanContext" in sp else \
            {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}.get(kind)
    return str(kind).lower().removeprefix("span_kind_").removeprefix("spankind.")


def _events(sp: dict[str, Any]) -> list[tuple[str, dict[str, Any]]] | None:
    events = sp.get("events") or sp.get("span_events")
    if not isinstance(events, list) or not events:
        return None
    return [(str(e.get("name") or ""), dict(e.get("attributes") or {}))
            for e in events if isinstance(e, dict)]


def _span(sp: dict[str, Any]) -> RawSpan:
    context = sp.get("spanContext")
    if isinstance(context, dict):
        trace_id, span_id = context.get("traceId"), context.get("spanId")
        parent = sp.get("parentSpanId")
        if parent is None and isinstance(sp.get("parentSpanContext"), dict):
            parent = sp["parentSpanContext"].get("spanId")
    else:
        trace_id = sp.get("traceId", sp.get("trace_id"))
        span_id = sp.get("spanId", sp.get("span_id"))
        parent = sp.get("parentSpanId", sp.get("parent_span_id", sp.get("parent_id")))
    start = sp.get("startTimeUnixNano", sp.get("startTime", sp.get("start_time")))
    end = sp.get("endTimeUnixNano", sp.get("endTime", sp.get("end_time")))
    raw_status = sp.get("status")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    code = status.get("code", status.get("status_code"))
    failed = code in _ERROR or str(code).upper().endswith("ERROR")
    message = status.get("message") or status.get("description") or None
    return RawSpan(hex_id(trace_id) or "", hex_id(span_id), hex_id(parent) or None,
                   str(sp.get("name") or ""), _time(start), _time(end),
                   dict(sp.get("attributes") or {}), failed, message if failed else None,
                   _events(sp), _kind(sp))


def read(doc: Any, add: Callable[[RawSpan], None], where: str,
         _outputs: dict[str, str]) -> int:
    spans = span_list(doc)
    if spans is None:
        raise EvalloopError(f"{where}: not a span dump (expected span objects with traceId/"
                            "spanId, trace_id/span_id or spanContext)")
    add_parsed(spans, _span, add, where, "")
    return len(spans)

"""Optional OpenTelemetry instrumentation of the refund agent: one span per step.

Nothing imports this module unless asked (the agent itself never does), so the
agent runs without opentelemetry installed; `pip install 'evalloop[otel]'` for it.

    provider = tracer_provider(OtlpJsonLinesExporter(open("traces.jsonl", "w")))
    result = traced_run(request, tools, tracer=provider.get_tracer("refund_agent"))
    provider.shutdown()

`TracedTools` wraps the agent's `Tools` and records every request it makes:
a tool call is an `execute_tool` span, a model turn a `chat` span (OpenTelemetry
GenAI semantic conventions), a retrieval a `retrieval` span; policy decisions,
approvals and customer messages, which OpenTelemetry has no convention for,
carry evalloop's `evalloop.span.*` attributes (docs/traces.md). The root
`invoke_agent` span carries the run's outcome (`evalloop.route`,
`evalloop.stop_reason`, `evalloop.final_status`). Imported with
`evalloop.traces.load.load_runs`, a trace gives the spans the harness records
for the same request, plus the root's `workflow:refund-support-agent`.

Span times come from a `Clock`: the wall clock in a real deployment, a seeded
`SimulatedClock` in the production simulator (latencies drawn per step, so a
run's latency is realistic and the same for a seed).

`OtlpJsonLinesExporter` writes what the OpenTelemetry Collector's file exporter
writes: one ExportTraceServiceRequest per line in the OTLP/JSON encoding, made
by the official encoder (`encode_spans`, protobuf's JSON mapping) with the ids
turned from base64 into hex as OTLP/JSON requires.
"""

from __future__ import annotations

import base64
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from evalloop.agent import ToolError, Tools
from refund_agent.agent import Agent, Artifacts

AGENT_NAME = "refund-support-agent"
SCOPE = "refund_agent"
PROVIDER = "scripted"  # gen_ai.provider.name of the scripted stand-in model
_APPROVAL_STATUS = {"pending": "waiting", "approved": "succeeded", "denied": "denied"}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


# --------------------------------------------------------------------------- clocks

@dataclass(frozen=True)
class Step:
    """What a span did, for a clock that decides how long it took."""

    kind: str  # tool, model, retrieval, approval, policy, message, memory, workflow, agent
    name: str
    error: str | None = None  # the ToolError kind of a failed call
    output_tokens: int | None = None


class Clock(Protocol):
    def begin(self) -> int:
        """A span's start, in ns since the epoch."""

    def end(self, step: Step) -> int:
        """The end of the span begun last, in ns since the epoch."""


class WallClock:
    """Real time, for a deployed agent."""

    def begin(self) -> int:
        return time.time_ns()

    def end(self, step: Step) -> int:
        return time.time_ns()


# Median (ms) and spread (sigma of the log) of each step's latency.
TOOL_LATENCY = {"read_order": (45.0, 0.35), "track_shipment": (140.0, 0.5),
                "draft_refund_request": (80.0, 0.3), "issue_refund": (210.0, 0.4),
                "send_customer_email": (95.0, 0.35)}
TOOL_TIMEOUT_MS = {"track_shipment": 5000.0}  # the carrier API's client timeout
DEFAULT_TOOL = (60.0, 0.4)
DEFAULT_TIMEOUT_MS = 3000.0
KIND_LATENCY = {"retrieval": (60.0, 0.4), "approval": (35.0, 0.3), "memory": (8.0, 0.4),
                "policy": (0.4, 0.5), "message": (0.3, 0.5), "workflow": (0.3, 0.5),
                "agent": (2.0, 0.5)}
MODEL_FIRST_TOKEN = (380.0, 0.35)
MODEL_PER_TOKEN = (14.0, 0.15)
AGENT_GAP = (1.2, 0.6)  # the agent's own work between two steps


class SimulatedClock:
    """Seeded latencies: lognormal per step, a timeout lasting the client's timeout."""

    def __init__(self, start_ns: int, rng: random.Random) -> None:
        self.now = start_ns
        self.rng = rng

    def _ms(self, median_sigma: tuple[float, float]) -> float:
        median, sigma = median_sigma
        return self.rng.lognormvariate(math.log(median), sigma)

    def begin(self) -> int:
        self.now += int(self._ms(AGENT_GAP) * 1e6)
        return self.now

    def end(self, step: Step) -> int:
        self.now += int(self.duration_ms(step) * 1e6)
        return self.now

    def duration_ms(self, step: Step) -> float:
        if step.kind == "tool":
            if step.error == "timeout":
                return TOOL_TIMEOUT_MS.get(step.name, DEFAULT_TIMEOUT_MS) * self.rng.uniform(1.0, 1.02)
            if step.error is not None:  # refused fast: bad arguments, a 5xx
                return self._ms((25.0, 0.5))
            return self._ms(TOOL_LATENCY.get(step.name, DEFAULT_TOOL))
        if step.kind == "model":
            return self._ms(MODEL_FIRST_TOKEN) + (step.output_tokens or 1) * self._ms(MODEL_PER_TOKEN)
        return self._ms(KIND_LATENCY.get(step.kind, (1.0, 0.5)))


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator, so a simulation's file is reproducible."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def generate_span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self.rng.getrandbits(128) or 1


# --------------------------------------------------------------------------- the proxy

class TracedTools(Tools):
    """The agent's tools, recording one span per request under the run's root span.

    Every request goes to `inner` (the real toolbox); the span records what it
    answered, so the trace says what the harness would record.
    """

    def __init__(self, inner: Tools, tracer: Tracer, clock: Clock, parent: Context) -> None:
        # no channel of its own: every request is passed on to `inner`
        self.inner = inner
        self.available = inner.available
        self.tracer = tracer
        self.clock = clock
        self.parent = parent
        # tool call ids unique per trace, and as reproducible as the trace id
        self.trace_hex = f"{trace.get_current_span(parent).get_span_context().trace_id:032x}"
        self.calls = 0

    def _span(self, name: str, start: int, end: int, attributes: dict[str, Any],
              kind: SpanKind = SpanKind.INTERNAL, error: tuple[str, str] | None = None) -> trace.Span:
        span = self.tracer.start_span(name, context=self.parent, kind=kind, start_time=start,
                                      attributes={k: v for k, v in attributes.items() if v is not None})
        if error is not None:
            error_type, message = error
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, message))
        span.end(end_time=end)
        return span

    def call(self, name: str, args: dict[str, Any] | None = None, /, **kwargs: Any) -> Any:
        merged = {**(args or {}), **kwargs}
        start = self.clock.begin()
        attrs: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                                 "gen_ai.tool.type": "function",
                                 "gen_ai.tool.call.arguments": _json(merged)}
        self.calls += 1
        attrs["gen_ai.tool.call.id"] = f"call_{self.trace_hex[:20]}{self.calls:04d}"
        try:
            result = self.inner.call(name, merged)
        except ToolError as exc:
            self._span(f"execute_tool {name}", start, self.clock.end(Step("tool", name, exc.kind)),
                       attrs, error=(exc.kind, exc.message))
            raise
        attrs["gen_ai.tool.call.result"] = _json(result)
        self._span(f"execute_tool {name}", start, self.clock.end(Step("tool", name)), attrs)
        return result

    def retrieve(self, name: str, query: str | None = None) -> list[Any]:
        start = self.clock.begin()
        docs = self.inner.retrieve(name, query)
        self._span(f"retrieval {name}", start, self.clock.end(Step("retrieval", name)), {
            "gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": name,
            "gen_ai.retrieval.query.text": query, "gen_ai.retrieval.documents": _json(docs),
            "evalloop.span.type": "retrieval", "evalloop.span.name": name}, kind=SpanKind.CLIENT)
        return docs

    def memory_read(self, key: str | None = None) -> list[Any]:
        start = self.clock.begin()
        records = self.inner.memory_read(key)
        self._marked("memory", key or "read", start, self.clock.end(Step("memory", key or "read")),
                     "succeeded", {"op": "read", "key": key}, records)
        return records

    def memory_write(self, key: str, value: Any) -> None:
        start = self.clock.begin()
        self.inner.memory_write(key, value)
        self._marked("memory", key, start, self.clock.end(Step("memory", key)), "succeeded",
                     {"op": "write", "key": key, "value": value}, None)

    def approval(self, name: str = "required", args: dict[str, Any] | None = None) -> str:
        start = self.clock.begin()
        decision = self.inner.approval(name, args)
        self._marked("approval", name, start, self.clock.end(Step("approval", name)),
                     _APPROVAL_STATUS.get(decision, "waiting"), args, {"decision": decision})
        return decision

    def record(self, span_type: str, name: str, *, status: str = "succeeded", args: dict[str, Any] | None = None,
               result: Any = None, error: str | None = None, input_tokens: int | None = None,
               output_tokens: int | None = None, cost_usd: float | None = None,
               duration_ms: float | None = None, attributes: dict[str, Any] | None = None) -> None:
        self.inner.record(span_type, name, status=status, args=args, result=result, error=error,
                          input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost_usd,
                          duration_ms=duration_ms, attributes=attributes)
        start = self.clock.begin()
        end = self.clock.end(Step(span_type, name, output_tokens=output_tokens))
        if duration_ms is not None:
            start = end - int(duration_ms * 1e6)
        extra = {k: v for k, v in (attributes or {}).items() if isinstance(v, str | bool | int | float)}
        if span_type == "model":
            self._span(f"chat {name}", start, end, {
                **extra, "gen_ai.operation.name": "chat", "gen_ai.provider.name": PROVIDER,
                "gen_ai.request.model": name, "gen_ai.response.model": name,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens,
                "gen_ai.usage.cost": cost_usd,
                # what the conventions have no key for: why the agent asked the model
                "evalloop.span.args": _json(args) if args is not None else None,
                "evalloop.span.result": _json(result) if result is not None else None,
                "evalloop.span.status": status if status != "succeeded" else None,
            }, kind=SpanKind.CLIENT, error=("model_error", error or "failed") if status == "failed" else None)
            return
        self._marked(span_type, name, start, end, status, args, result, error, extra)

    def _marked(self, span_type: str, name: str, start: int, end: int, status: str,
                args: dict[str, Any] | None, result: Any, error: str | None = None,
                extra: dict[str, Any] | None = None) -> None:
        """A span OpenTelemetry has no operation for, in evalloop's attributes."""
        self._span(f"{span_type} {name}", start, end, {
            **(extra or {}), "evalloop.span.type": span_type, "evalloop.span.name": name,
            "evalloop.span.status": status,
            "evalloop.span.args": _json(args) if args is not None else None,
            "evalloop.span.result": _json(result) if result is not None else None,
        }, error=(span_type, error or "failed") if status == "failed" else None)


def traced_run(request: dict[str, Any], tools: Tools, *, tracer: Tracer, clock: Clock | None = None,
               artifacts: Artifacts | None = None, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The agent's run (`refund_agent.run`), traced: an `invoke_agent` root span and one span per step.

    `artifacts` replaces the files the agent reads (a candidate revision);
    `attributes` are added to the root span (a ticket id, the revision).
    """
    clock = clock or WallClock()
    start = clock.begin()
    message = (request.get("input") or {}).get("user_message")
    root = tracer.start_span(f"invoke_agent {AGENT_NAME}", kind=SpanKind.INTERNAL, start_time=start, attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": AGENT_NAME,
        "gen_ai.provider.name": PROVIDER, **(attributes or {})})
    if isinstance(message, str):
        root.set_attribute("gen_ai.input.messages", _json(
            [{"role": "user", "parts": [{"type": "text", "content": message}]}]))
    proxy = TracedTools(tools, tracer, clock, trace.set_span_in_context(root))
    try:
        result = Agent(request, proxy, artifacts or Artifacts.load()).run()
    except BaseException as exc:
        root.set_attribute("error.type", type(exc).__name__)
        root.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        root.end(end_time=clock.end(Step("agent", "error")))
        raise
    for key in ("route", "stop_reason", "final_status"):
        if result.get(key) is not None:
            root.set_attribute(f"evalloop.{key}", str(result[key]))
    if isinstance(result.get("output"), str):
        root.set_attribute("gen_ai.output.messages", _json([{
            "role": "assistant", "parts": [{"type": "text", "content": result["output"]}],
            "finish_reason": "stop"}]))
    root.end(end_time=clock.end(Step("agent", "finish")))
    return result


# --------------------------------------------------------------------------- export

def _hex(value: str) -> str:
    return base64.b64decode(value).hex()


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """One ExportTraceServiceRequest in the OTLP/JSON encoding, as the Collector writes it:
    camelCase keys, int64 as strings, enums as numbers, hex ids, `parentSpanId: ""` on roots."""
    data: dict[str, Any] = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                # protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants hex
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _hex(span[key])
                span.setdefault("parentSpanId", "")
                span.setdefault("status", {})
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        if key in link:
                            link[key] = _hex(link[key])
    return data


class OtlpJsonLinesExporter(SpanExporter):
    """OTLP JSON Lines to a text stream: one `{"resourceSpans": [...]}` per export."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if spans:
            self.out.write(json.dumps(otlp_json(spans), ensure_ascii=False, separators=(",", ":")) + "\n")
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.out.flush()
        return True

    def shutdown(self) -> None:
        self.out.flush()


class BatchBySize(SpanProcessor):
    """Export every `max_batch` ended spans (the batch processor's default size, 512), in the
    order they ended, and the rest at shutdown. Synchronous, so the lines of a simulation
    do not depend on thread timing, and nothing is dropped however fast spans end."""

    def __init__(self, exporter: SpanExporter, max_batch: int = 512) -> None:
        self.exporter = exporter
        self.max_batch = max_batch
        self.pending: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.pending.append(span)
        if len(self.pending) >= self.max_batch:
            self.force_flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        batch, self.pending = self.pending, []
        if batch:
            self.exporter.export(batch)
        return self.exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.force_flush()
        self.exporter.shutdown()


def tracer_provider(exporter: SpanExporter, resource: dict[str, Any] | None = None,
                    ids: IdGenerator | None = None, max_batch: int = 512) -> TracerProvider:
    """A TracerProvider exporting to `exporter` in batches of `max_batch` spans.

    `resource` adds to the SDK's own attributes and OTEL_RESOURCE_ATTRIBUTES
    (`service.name`, `service.version`, `deployment.environment.name`).
    """
    provider = TracerProvider(resource=Resource.create({"service.name": AGENT_NAME, **(resource or {})}),
                              id_generator=ids, shutdown_on_exit=False)
    provider.add_span_processor(BatchBySize(exporter, max_batch))
    return provider

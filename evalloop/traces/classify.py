"""Span mapping: the evalloop span a source span stands for, by its attributes.

`classify` reads the OpenTelemetry GenAI conventions, OpenInference, OpenLLMetry,
the Vercel AI SDK's `ai.*` spans and the `evalloop.span.*` overrides, and gives a
`Draft` (or None for a span without agent meaning). docs/traces.md describes the
rules for users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.model.kinds import SPAN_TYPES
from evalloop.model.run import count_value, float_value
from evalloop.traces.draft import P_PROVIDER, P_SEMCONV, P_WRAPPER, Draft
from evalloop.traces.raw import RawSpan
from evalloop.traces.values import TOOL_ARG_KEYS, as_args, first, json_value, strip_op, tool_result

MODEL_OPS = frozenset({"chat", "generate_content", "text_completion", "call_llm"})
AGENT_OPS = frozenset({"invoke_agent", "create_agent"})
RETRIEVAL_OPS = frozenset({"retrieval", "embeddings"})
MEMORY_OPS = frozenset({"create_memory", "search_memory", "update_memory", "upsert_memory",
                        "delete_memory"})
SPAN_STATUSES = ("succeeded", "failed", "denied", "waiting")
# Vercel AI SDK: the outer call of generateText & co. (a total over its steps) and
# the one provider call of each step.
VERCEL_CALLS = frozenset({"ai.generateText", "ai.streamText", "ai.generateObject",
                          "ai.streamObject", "ai.embed", "ai.embedMany"})
VERCEL_STEPS = frozenset({"ai.generateText.doGenerate", "ai.streamText.doStream",
                          "ai.generateObject.doGenerate", "ai.streamObject.doStream",
                          "ai.embed.doEmbed", "ai.embedMany.doEmbed"})


def _draft(s: RawSpan, type_: str, name: str, args: dict[str, Any] | None = None,
           result: Any = None, prio: int = 0) -> Draft:
    a = s.attrs
    failed = s.failed or bool(a.get("error.type"))
    f = {"type": type_, "name": name, "status": "failed" if failed else "succeeded",
         "args": args, "result": result, "error": error_text(s) if failed else None,
         "start_ms": s.start_ms, "end_ms": s.end_ms, "span_id": s.span_id,
         "parent_id": s.parent_id, "input_tokens": None, "output_tokens": None,
         "cost_usd": None, "attributes": a}
    return Draft(f, prio, s)


def error_text(s: RawSpan) -> str:
    """Why a span failed: its last exception event, else its status message or error.type."""
    for name, ea in reversed(s.events or ()):
        if name == "exception":
            kind, message = ea.get("exception.type"), ea.get("exception.message")
            if kind and message:
                return f"{kind}: {message}"
            if kind or message:
                return str(message or kind)
    if s.status_message:
        return s.status_message
    kind = s.attrs.get("error.type")
    return str(kind) if kind else "error"


def _model(s: RawSpan, prio: int) -> Draft:
    a = s.attrs
    name = a.get("gen_ai.request.model") or a.get("gen_ai.response.model") \
        or a.get("llm.model_name") or a.get("ai.model.id")
    if not name:
        op = a.get("gen_ai.operation.name")
        name = strip_op(s.name, op) if isinstance(op, str) else s.name
    d = _draft(s, "model", str(name), prio=prio)
    f = d.f
    tokens = a.get("gen_ai.usage.input_tokens")
    if tokens is None:
        tokens = first(a, ("gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                            "llm.usage.prompt_tokens", "ai.usage.inputTokens",
                            "ai.usage.promptTokens"))
    f["input_tokens"] = _measure(d, "input_tokens", tokens, count_value)
    tokens = a.get("gen_ai.usage.output_tokens")
    if tokens is None:
        tokens = first(a, ("gen_ai.usage.completion_tokens", "llm.token_count.completion",
                            "llm.usage.completion_tokens", "ai.usage.outputTokens",
                            "ai.usage.completionTokens"))
    f["output_tokens"] = _measure(d, "output_tokens", tokens, count_value)
    # gen_ai.usage.cost (any-agent, Langfuse), llm.cost.total (OpenInference),
    # operation.cost (pydantic-ai), then the halves tools record separately.
    cost = first(a, ("gen_ai.usage.cost", "llm.cost.total", "operation.cost"))
    if cost is None:
        for prompt_key, completion_key in _COST_HALVES:
            if prompt_key in a or completion_key in a:
                # a half that is not a number makes the sum NaN (and is kept as
                # unjudged), never 0.
                cost = (_measure(d, "cost_usd", a.get(prompt_key), float_value) or 0.0) \
                    + (_measure(d, "cost_usd", a.get(completion_key), float_value) or 0.0)
                break
    f["cost_usd"] = _measure(d, "cost_usd", cost, float_value)
    return d


_COST_HALVES = (("gen_ai.usage.input_cost", "gen_ai.usage.output_cost"),  # any-agent < 1.0
                ("cost_prompt", "cost_completion"),  # any-agent
                ("llm.cost.prompt", "llm.cost.completion"))  # OpenInference


def _measure(d: Draft, field: str, value: Any,
             convert: Callable[[Any], tuple[Any, str | None]]) -> Any:
    """`value` converted by `count_value` or `float_value`; what was recorded is kept
    on the draft when it is not a number, so the budget that reads it fails closed
    instead of summing the span's neighbours as if it had not been there."""
    number, raw = convert(value)
    if raw is not None:
        if d.bad is None:
            d.bad = []
        d.bad.append((field, raw))
    return number


def _tool(s: RawSpan, name: Any) -> Draft | None:
    a = s.attrs
    if not name:
        name = strip_op(s.name, "execute_tool")
    if name == "(merged tools)":  # ADK's summary of parallel calls, each has its own span
        return None
    return _draft(s, "tool", str(name), as_args(first(a, TOOL_ARG_KEYS)), tool_result(a))


def _from_genai(s: RawSpan, op: Any) -> Draft | None:
    a = s.attrs
    if op == "execute_tool":
        return _tool(s, a.get("gen_ai.tool.name"))
    if op in MODEL_OPS:
        return _model(s, P_SEMCONV)
    if op in AGENT_OPS:
        return _draft(s, "workflow", str(a.get("gen_ai.agent.name") or strip_op(s.name, op)))
    if op == "invoke_workflow":
        name = a.get("gen_ai.workflow.name") or a.get("gen_ai.agent.name") \
            or strip_op(s.name, op)
        return _draft(s, "workflow", str(name))
    if op in RETRIEVAL_OPS:
        name = a.get("gen_ai.data_source.id") or strip_op(s.name, op)
        query = a.get("gen_ai.retrieval.query.text")
        result = json_value(a.get("gen_ai.retrieval.documents"))
        return _draft(s, "retrieval", str(name), {"query": query} if query is not None else None,
                      result)
    if op in MEMORY_OPS:
        name = a.get("gen_ai.memory.store.id") or strip_op(s.name, op)
        query = a.get("gen_ai.memory.query.text")
        return _draft(s, "memory", str(name), {"operation": op, "query": query}
                      if query is not None else {"operation": op})
    return None


def _from_openinference(s: RawSpan, kind: Any) -> Draft | None:
    a = s.attrs
    kind = str(kind).upper()
    if kind == "TOOL":
        return _tool(s, a.get("tool.name"))
    if kind == "LLM":
        return _model(s, P_SEMCONV)
    if kind in ("RETRIEVER", "EMBEDDING", "RERANKER"):
        query = a.get("input.value")
        args = as_args(query) if isinstance(query, str) and query[:1] in ("{", "[") else \
            ({"query": query} if query is not None else None)
        return _draft(s, "retrieval", s.name, args, json_value(a.get("output.value")))
    if kind in ("AGENT", "CHAIN"):
        return _draft(s, "workflow", str(a.get("agent.name") or a.get("gen_ai.agent.name")
                                         or s.name))
    if kind == "GUARDRAIL":
        return _draft(s, "policy", s.name, result=json_value(a.get("output.value")))
    return None


def _from_traceloop(s: RawSpan, kind: Any) -> Draft | None:
    a = s.attrs
    name = str(a.get("traceloop.entity.name") or s.name)
    if kind == "tool":
        return _tool(s, name)
    if kind in ("agent", "workflow"):
        return _draft(s, "workflow", name)
    return None


KNOWN_OPS = MODEL_OPS | AGENT_OPS | RETRIEVAL_OPS | MEMORY_OPS | {"execute_tool",
                                                               "invoke_workflow"}
_TOOL_NAME_KEYS = ("gen_ai.tool.name", "ai.toolCall.name", "tool.name", "traceloop.entity.name")


def _is_tool(s: RawSpan) -> bool:
    """A tool call by any marker an instrumentation writes, without an operation name:
    pydantic-ai < 1.0 (`gen_ai.tool.name` + `tool_arguments`), the GenAI conventions'
    `gen_ai.tool.call.id`, Vercel AI SDK's `ai.toolCall` spans, OpenLLMetry's
    `traceloop.span.kind = tool`."""
    a = s.attrs
    return "gen_ai.tool.name" in a or "gen_ai.tool.call.id" in a or "ai.toolCall.name" in a \
        or a.get("ai.operationId") == "ai.toolCall" or s.name == "ai.toolCall" \
        or a.get("traceloop.span.kind") == "tool"


def _has_usage(a: dict[str, Any]) -> bool:
    return "gen_ai.usage.input_tokens" in a or "gen_ai.usage.output_tokens" in a \
        or "gen_ai.usage.prompt_tokens" in a or "gen_ai.usage.completion_tokens" in a


def classify(s: RawSpan, oi_first: bool) -> Draft | None:
    """The evalloop span a source span stands for, or None when it has no agent meaning."""
    a = s.attrs
    if not a:
        return None
    op = a.get("gen_ai.operation.name")
    if op is not None and type(op) is not str:
        op = str(op)  # an array or number here is garbage, but must not crash the lookups
    oi = a.get("openinference.span.kind")
    d: Draft | None
    if oi is not None and (oi_first or op is None):
        d = _from_openinference(s, oi)
    elif op is not None and op in KNOWN_OPS:
        d = _from_genai(s, op)
    elif _is_tool(s):
        d = _tool(s, first(a, _TOOL_NAME_KEYS))
    elif "traceloop.span.kind" in a:
        d = _from_traceloop(s, a["traceloop.span.kind"])
    elif "gen_ai.agent.name" in a:
        # pydantic-ai, Strands and others mark the agent run only by its name: a
        # workflow, never a usage wrapper to be merged with the model calls inside.
        d = _draft(s, "workflow", str(a["gen_ai.agent.name"]))
    elif a.get("ai.operationId") in VERCEL_CALLS or a.get("ai.operationId") in VERCEL_STEPS:
        d = _model(s, P_PROVIDER if a["ai.operationId"] in VERCEL_STEPS else P_WRAPPER)
    elif op is not None:
        d = _from_genai(s, op)
    elif "llm.request.type" in a:
        d = _model(s, P_PROVIDER)
    elif _has_usage(a):
        d = _model(s, P_WRAPPER)
    else:
        d = None
    if any(key in a for key in OVERRIDE_KEYS):
        d = _override(s, d)
    return d


OVERRIDE_KEYS = ("evalloop.span.type", "evalloop.span.name", "evalloop.span.status",
                 "evalloop.span.args", "evalloop.span.result")


def _override(s: RawSpan, d: Draft | None) -> Draft:
    """Apply `evalloop.span.*`: what the team marked wins over what we inferred.

    `args` and `result` are JSON text (instrumentations can only write strings and
    scalars; an attribute value that is not JSON text is taken as it is) or a
    structured value (an OTLP `kvlistValue` / `arrayValue`)."""
    a = s.attrs
    where = f"span {s.span_id} ({s.name!r})"
    type_ = a.get("evalloop.span.type")
    if type_ is not None:
        if type_ not in SPAN_TYPES:
            raise EvalloopError(f"{where}: evalloop.span.type {type_!r} is not one of "
                                f"{', '.join(SPAN_TYPES)}")
        if d is None:
            d = _model(s, P_SEMCONV) if type_ == "model" else _draft(s, str(type_), s.name)
        elif d.f["type"] != type_:
            d.f["type"] = type_
            d.prio = P_SEMCONV if type_ == "model" else 0
    if d is None:
        what = "name/status" if "evalloop.span.name" in a or "evalloop.span.status" in a \
            else "args/result"
        raise EvalloopError(f"{where}: evalloop.span.{what} without evalloop.span.type on "
                            "a span whose type cannot be inferred")
    name = a.get("evalloop.span.name")
    if name is not None:
        d.f["name"] = str(name)
    status = a.get("evalloop.span.status")
    if status is not None:
        if status not in SPAN_STATUSES:
            raise EvalloopError(f"{where}: evalloop.span.status {status!r} is not one of "
                                f"{', '.join(SPAN_STATUSES)}")
        d.f["status"] = status
    # Present means marked: an explicit JSON null clears what was inferred. Args that are
    # not an object are kept under `input`, as for tool arguments (`as_args`).
    if "evalloop.span.args" in a:
        d.f["args"] = as_args(a["evalloop.span.args"])
    if "evalloop.span.result" in a:
        d.f["result"] = json_value(a["evalloop.span.result"])
    return d


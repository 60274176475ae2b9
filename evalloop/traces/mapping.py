"""From source spans to evalloop runs: the attribute mapping every trace format shares.

Readers (`otlp`, `jaeger`, `anyagent`, ...) reduce their format
to `RawSpan`s and hand them to a `Collector`, which maps each one at once by its
attributes (OpenTelemetry GenAI conventions, OpenInference, OpenLLMetry, the
`evalloop.*` overrides) and groups them by trace. `build_runs` then merges the
copies of one model call that several instrumentation layers record, links each
kept span to its nearest kept ancestor and assembles one `Run` per trace.
docs/traces.md describes the rules for users.

This is the hot path of a 100 MB import, so spans are built as plain dicts and
adopted by the pydantic models without re-validation (`construct`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from evalloop.errors import EvalloopError
from evalloop.model.kinds import SPAN_TYPES
from evalloop.model.run import Run, Span, Unjudged, count_value, float_value
from evalloop.traces.events import EVENT_TEXT
from evalloop.traces.events import fold as fold_events

MODEL_OPS = frozenset({"chat", "generate_content", "text_completion", "call_llm"})
AGENT_OPS = frozenset({"invoke_agent", "create_agent"})
RETRIEVAL_OPS = frozenset({"retrieval", "embeddings"})
MEMORY_OPS = frozenset({"create_memory", "search_memory", "update_memory", "upsert_memory",
                        "delete_memory"})
SPAN_STATUSES = ("succeeded", "failed", "denied", "waiting")

# How sure we are that a span *is* the model call, used to pick one span when
# several layers record the same call: the span named by a convention wins over
# a provider SDK span (OpenLLMetry's `llm.request.type`), which wins over a
# framework wrapper that merely repeats the usage numbers (ADK's `call_llm`).
P_SEMCONV, P_PROVIDER, P_WRAPPER = 3, 2, 1

# Every key a tool's arguments / result is recorded under: GenAI conventions,
# ADK, any-agent, OpenInference, OpenLLMetry, pydantic-ai (< 1.0), Vercel AI SDK.
TOOL_ARG_KEYS = ("gen_ai.tool.call.arguments", "gcp.vertex.agent.tool_call_args",
                 "gen_ai.tool.args", "input.value", "traceloop.entity.input", "tool_arguments",
                 "ai.toolCall.args", "ai.toolCall.input")
TOOL_RESULT_KEYS = ("gen_ai.tool.call.result", "gcp.vertex.agent.tool_response",
                    "gen_ai.output", "output.value", "traceloop.entity.output", "tool_response",
                    "ai.toolCall.result", "ai.toolCall.output")
# Vercel AI SDK: the outer call of generateText & co. (a total over its steps) and
# the one provider call of each step.
VERCEL_CALLS = frozenset({"ai.generateText", "ai.streamText", "ai.generateObject",
                          "ai.streamObject", "ai.embed", "ai.embedMany"})
VERCEL_STEPS = frozenset({"ai.generateText.doGenerate", "ai.streamText.doStream",
                          "ai.generateObject.doGenerate", "ai.streamObject.doStream",
                          "ai.embed.doEmbed", "ai.embedMany.doEmbed"})
# Values instrumentations write when they have nothing to record.
PLACEHOLDERS = frozenset({"<not specified>", "N/A"})
OUTCOME_KEYS = ("evalloop.stop_reason", "evalloop.final_status", "evalloop.route")

_INF = math.inf


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


def _when(t: float | None) -> float:
    """A time as a sort key: unknown (None) and unparseable (NaN) sort last, since
    NaN compares false with everything and would leave the order arbitrary."""
    return t if t is not None and t == t else _INF


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
        self.key = (_when(start), -end if end is not None and end == end else _INF)


# A span without agent meaning, kept only for the tree and the run's outcome:
# (span_id, parent_id, start_ms, end_ms, failed, attrs or None).
Other = tuple[str | None, str | None, float | None, float | None, bool, dict[str, Any] | None]


# --- constructing models without validation ------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _descriptor_setters() -> tuple[Any, Any, Any, Any]:
    slots = BaseModel.__dict__
    return (slots["__dict__"].__set__, slots["__pydantic_fields_set__"].__set__,
            slots["__pydantic_extra__"].__set__, slots["__pydantic_private__"].__set__)


try:
    _SET_DICT, _SET_FIELDS_SET, _SET_EXTRA, _SET_PRIVATE = _descriptor_setters()
except (KeyError, AttributeError):  # a pydantic without these slots: _fast_path_works says no
    _SET_DICT = _SET_FIELDS_SET = _SET_EXTRA = _SET_PRIVATE = None


# Every field of a constructed model is set, so all instances of a class can share
# one fields-set: pydantic only ever adds a field name to it (a no-op here) or
# copies it. One set per object would be 30,000 more objects for the collector.
_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def _construct_fast(cls: type[M], fields: dict[str, Any]) -> M:
    obj = cls.__new__(cls)
    _SET_DICT(obj, fields)
    all_fields = _ALL_FIELDS.get(cls)
    if all_fields is None:
        all_fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    _SET_FIELDS_SET(obj, all_fields)
    _SET_EXTRA(obj, None)
    # A model with private attributes (Run) needs their defaults, as model_construct
    # gives them; one without (Span, the many) keeps None and costs no dict.
    private = cls.__private_attributes__
    _SET_PRIVATE(obj, {k: v.get_default() for k, v in private.items()} if private else None)
    return obj


def _construct_slow(cls: type[M], fields: dict[str, Any]) -> M:
    return cls.model_construct(None, **fields)


def _fast_path_works() -> bool:
    # model_construct costs ~8 us a span, five times the bare object setup; the
    # shortcut relies on pydantic internals, so it is checked once against the
    # public API and abandoned if a pydantic release changes them.
    sample: dict[str, Any] = {"type": "tool", "name": "t", "status": "failed", "args": {"a": 1},
                              "result": [1],
                              "error": "e", "start_ms": 1.0, "end_ms": 2.0, "span_id": "s",
                              "parent_id": "p", "input_tokens": 1, "output_tokens": 2,
                              "cost_usd": 0.5, "attributes": {"k": "v"}}
    try:
        fast = _construct_fast(Span, dict(sample))
        other = _construct_fast(Span, dict(sample))
        slow = Span.model_construct(**sample)
        same = (fast.model_dump() == slow.model_dump() == Span.model_validate(sample).model_dump()
                and fast == slow and fast.ref == "tool:t")
        # assignment and copies must not leak between instances sharing the fields-set
        fast.name = "u"
        copy = fast.model_copy(update={"name": "v"})
        return same and other.name == "t" and copy.name == "v" and fast.name == "u" \
            and fast.model_fields_set == set(Span.model_fields)
    except Exception:  # any surprise from the internals means: use the public API
        return False


construct = _construct_fast if _fast_path_works() else _construct_slow


# --- small value helpers --------------------------------------------------------------

def json_value(value: Any) -> Any:
    """A JSON string's value (instrumentations serialize structured data), else the value."""
    if isinstance(value, str) and value:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _strip_op(name: str, op: str) -> str:
    """`execute_tool get_weather` -> `get_weather` (GenAI span names are `{op} {target}`)."""
    if name.startswith(op) and name[len(op):len(op) + 1] == " ":
        return name[len(op) + 1:].strip() or name
    return name


def _args(value: Any) -> dict[str, Any] | None:
    if value is None or (type(value) is str and value in PLACEHOLDERS):
        return None
    parsed = json_value(value)
    if parsed is None or isinstance(parsed, dict):
        return parsed
    return {"input": parsed}


def _tool_result(a: dict[str, Any]) -> Any:
    for key in TOOL_RESULT_KEYS:
        value = a.get(key)
        if value is None:
            continue
        parsed = json_value(value)
        # ADK wraps non-dict tool returns as {"result": X}.
        if key == "gcp.vertex.agent.tool_response" and isinstance(parsed, dict) \
                and len(parsed) == 1 and "result" in parsed:
            parsed = parsed["result"]
        return None if isinstance(parsed, str) and parsed in PLACEHOLDERS else parsed
    return None


def _first(a: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = a.get(key)
        if value is not None:
            return value
    return None


# --- span mapping ---------------------------------------------------------------------

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
        name = _strip_op(s.name, op) if isinstance(op, str) else s.name
    d = _draft(s, "model", str(name), prio=prio)
    f = d.f
    tokens = a.get("gen_ai.usage.input_tokens")
    if tokens is None:
        tokens = _first(a, ("gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                            "llm.usage.prompt_tokens", "ai.usage.inputTokens",
                            "ai.usage.promptTokens"))
    f["input_tokens"] = _measure(d, "input_tokens", tokens, count_value)
    tokens = a.get("gen_ai.usage.output_tokens")
    if tokens is None:
        tokens = _first(a, ("gen_ai.usage.completion_tokens", "llm.token_count.completion",
                            "llm.usage.completion_tokens", "ai.usage.outputTokens",
                            "ai.usage.completionTokens"))
    f["output_tokens"] = _measure(d, "output_tokens", tokens, count_value)
    # gen_ai.usage.cost (any-agent, Langfuse), llm.cost.total (OpenInference),
    # operation.cost (pydantic-ai), then the halves tools record separately.
    cost = _first(a, ("gen_ai.usage.cost", "llm.cost.total", "operation.cost"))
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
        name = _strip_op(s.name, "execute_tool")
    if name == "(merged tools)":  # ADK's summary of parallel calls, each has its own span
        return None
    return _draft(s, "tool", str(name), _args(_first(a, TOOL_ARG_KEYS)), _tool_result(a))


def _from_genai(s: RawSpan, op: Any) -> Draft | None:
    a = s.attrs
    if op == "execute_tool":
        return _tool(s, a.get("gen_ai.tool.name"))
    if op in MODEL_OPS:
        return _model(s, P_SEMCONV)
    if op in AGENT_OPS:
        return _draft(s, "workflow", str(a.get("gen_ai.agent.name") or _strip_op(s.name, op)))
    if op == "invoke_workflow":
        name = a.get("gen_ai.workflow.name") or a.get("gen_ai.agent.name") \
            or _strip_op(s.name, op)
        return _draft(s, "workflow", str(name))
    if op in RETRIEVAL_OPS:
        name = a.get("gen_ai.data_source.id") or _strip_op(s.name, op)
        query = a.get("gen_ai.retrieval.query.text")
        result = json_value(a.get("gen_ai.retrieval.documents"))
        return _draft(s, "retrieval", str(name), {"query": query} if query is not None else None,
                      result)
    if op in MEMORY_OPS:
        name = a.get("gen_ai.memory.store.id") or _strip_op(s.name, op)
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
        args = _args(query) if isinstance(query, str) and query[:1] in ("{", "[") else \
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
        d = _tool(s, _first(a, _TOOL_NAME_KEYS))
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
    if "evalloop.span.type" in a or "evalloop.span.name" in a or "evalloop.span.status" in a:
        d = _override(s, d)
    return d


def _override(s: RawSpan, d: Draft | None) -> Draft:
    """Apply `evalloop.span.*`: what the team marked wins over what we inferred."""
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
        raise EvalloopError(f"{where}: evalloop.span.name/status without evalloop.span.type on "
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
    return d


# --- model output text ------------------------------------------------------------------

def _parts_text(parts: Any, key: str) -> str | None:
    if not isinstance(parts, list):
        return None
    texts = [p[key] for p in parts if isinstance(p, dict) and isinstance(p.get(key), str)
             and p.get("type", "text") == "text"]
    return "".join(texts) if texts else None


_OI_PART0 = "llm.output_messages.0.message.contents.0.message_content.text"
_MAX_PARTS = 64


def model_text(a: dict[str, Any]) -> str | None:
    """The response text a model span records, in whichever convention it uses."""
    value = a.get("gen_ai.completion.0.content")  # OpenLLMetry
    if isinstance(value, str):
        return value
    value = a.get("llm.output_messages.0.message.content")  # OpenInference
    if isinstance(value, str):
        return value
    # OpenInference content parts (openai-agents and other multi-part responses)
    parts = [t for m in range(_MAX_PARTS)
             for t in [a.get(f"llm.output_messages.0.message.contents.{m}.message_content.text")]
             if isinstance(t, str)] if _OI_PART0 in a else []
    if parts:
        return "".join(parts)
    value = a.get("ai.response.text")  # Vercel AI SDK
    if isinstance(value, str) and value:
        return value
    value = a.get("gen_ai.output.messages")  # GenAI semconv >= 1.37
    if value is not None:
        messages = json_value(value)
        if isinstance(messages, list):
            texts = [t for m in messages if isinstance(m, dict)
                     for t in [_parts_text(m.get("parts"), "content")] if t]
            if texts:
                return "\n".join(texts)
    value = a.get("gcp.vertex.agent.llm_response")  # ADK
    if isinstance(value, str) and len(value) > 2:
        response = json_value(value)
        if isinstance(response, dict):
            content = response.get("content")
            if isinstance(content, dict):
                return _parts_text(content.get("parts"), "text")
    value = a.get("gen_ai.output")  # any-agent
    if isinstance(value, str) and a.get("gen_ai.output.type", "text") == "text":
        return value
    if a.get("output.mime_type") == "text/plain" and isinstance(a.get("output.value"), str):
        return str(a["output.value"])
    value = a.get(EVENT_TEXT)
    return value if isinstance(value, str) else None


def agent_output(a: dict[str, Any]) -> str | None:
    """The final answer an agent/root span records (not a model call's text)."""
    value = a.get("final_result")  # pydantic-ai's agent run
    if isinstance(value, str):
        return value
    value = a.get("gen_ai.output.messages")
    if value is not None:
        text = model_text({"gen_ai.output.messages": value})
        if text:
            return text
    value = a.get("gen_ai.output")
    if isinstance(value, str) and a.get("gen_ai.output.type", "text") == "text":
        return value
    value = a.get("output.value")
    if isinstance(value, str) and a.get("output.mime_type") != "application/json":
        return value
    value = a.get(EVENT_TEXT)
    return value if isinstance(value, str) else None


# --- assembling runs --------------------------------------------------------------------

def _same_call(child: Draft, parent: Draft) -> bool:
    c, p = child.f, parent.f
    ci, co, pi, po = c["input_tokens"], c["output_tokens"], p["input_tokens"], p["output_tokens"]
    if (ci is None and co is None) or (pi is None and po is None):
        return True
    return bool(ci == pi and co == po)


def _ancestors(order: list[Draft], drafts: dict[str, Draft],
               others: list[Other]) -> dict[str, str | None]:
    """Each mapped span's nearest mapped ancestor, skipping plumbing spans."""
    up: dict[str, str | None] = {}
    parent_of: dict[str, str | None] | None = None
    memo: dict[str, str | None] = {}
    for d in order:
        f = d.f
        sid = f["span_id"]
        if sid is None:
            continue
        pid = f["parent_id"]
        if pid is None or (pid in drafts and pid != sid):
            up[sid] = pid
            continue
        if pid == sid:
            up[sid] = None
            continue
        if parent_of is None:
            parent_of = {o[0]: o[1] for o in others if o[0] is not None}
        path: list[str] = []
        found: str | None = None
        steps = len(others) + 1  # a cycle in hand-edited data must not hang the import
        while pid is not None and steps:
            steps -= 1
            if pid in drafts:
                found = pid
                break
            if pid in memo:
                found = memo[pid]
                break
            if pid not in parent_of:
                break
            path.append(pid)
            pid = parent_of[pid]
        for p in path:
            memo[p] = found
        up[sid] = found
    return up


def _merge_model_calls(models: list[Draft], drafts: dict[str, Draft],
                       up: dict[str, str | None]) -> dict[str, str | None]:
    """Spans dropped because another span records the same model call, each mapped
    to the span kept for that call (None for a dropped aggregate).

    A model-like span whose nearest mapped ancestor is a model-like span with the
    same token usage (or no usage at all) is the same LLM call seen by another
    instrumentation layer (ADK's call_llm > generate_content > openai.chat). One
    span per call survives: the highest priority, the outermost on ties; it
    borrows usage, cost and text it lacks from the others. A usage-only wrapper
    around several different calls is an aggregate, not a call, and is dropped.
    """
    head: dict[str, str] = {}
    parents_of_models: set[str] = set()
    limit = len(models) + 1
    for d in models:
        chain: list[str] = []
        cur = d
        h: str | None = None
        while True:
            sid = cur.f["span_id"]
            if sid in head:
                h = head[sid]
                break
            chain.append(sid)
            pid = up.get(sid)
            parent = drafts.get(pid) if pid is not None else None
            if pid is None or parent is None or parent.f["type"] != "model" or not parent.prio:
                break
            parents_of_models.add(pid)
            if not _same_call(cur, parent) or len(chain) > limit:
                break
            cur = parent
        if h is None:
            h = chain[-1]
        for sid in chain:
            head[sid] = h
    groups: dict[str, list[Draft]] = {}
    for d in models:
        groups.setdefault(head[d.f["span_id"]], []).append(d)
    replaced: dict[str, str | None] = {}
    for members in groups.values():
        if len(members) == 1:
            only = members[0]
            if only.prio == P_WRAPPER and only.f["span_id"] in parents_of_models:
                replaced[only.f["span_id"]] = None
            continue
        # members are in start order, so the outermost (earliest) wins ties.
        best = max(members, key=_prio)
        bf = best.f
        for m in members:
            if m is best:
                continue
            mf = m.f
            replaced[mf["span_id"]] = bf["span_id"]
            if bf["input_tokens"] is None and bf["output_tokens"] is None:
                bf["input_tokens"], bf["output_tokens"] = mf["input_tokens"], mf["output_tokens"]
                _borrow_bad(best, m, ("input_tokens", "output_tokens"))
            if bf["cost_usd"] is None:
                bf["cost_usd"] = mf["cost_usd"]
                _borrow_bad(best, m, ("cost_usd",))
            if mf["status"] == "failed" and bf["status"] != "failed":
                bf["status"], bf["error"] = "failed", mf["error"]
        if bf["result"] is None:
            for m in (best, *members):
                text = model_text(m.f["attributes"])
                if text is not None:
                    bf["result"] = text
                    break
        bf["result"] = bf["result"] if bf["result"] is not None else _NO_TEXT
    return replaced


def _prio(d: Draft) -> int:
    return d.prio


def _borrow_bad(best: Draft, other: Draft, fields: tuple[str, ...]) -> None:
    """The kept copy of a model call takes the unparseable values of the fields it
    borrowed: they are the same call's measurement, and must not vanish with the copy."""
    if other.bad:
        taken = [b for b in other.bad if b[0] in fields]
        if taken:
            best.bad = (best.bad or []) + taken


# Marks a model span whose text was looked for and not found (None means: not looked yet).
_NO_TEXT = object()


def _parent(sid: str | None, up: dict[str, str | None],
            replaced: dict[str, str | None]) -> str | None:
    """The nearest kept ancestor, seeing through the dropped copies of model calls."""
    if sid is None:
        return None
    p = up.get(sid)
    steps = len(replaced) + 1  # cycles in hand-edited data
    while p is not None and p in replaced and steps:
        steps -= 1
        # Climb past the dropped copy, never jump to the copy that was kept: when a
        # wrapper merged with the model call inside it, the wrapper's other
        # children (tool calls) are the call's siblings, not its children. A kept
        # copy that is an ancestor is reached by climbing anyway.
        p = up.get(p)
    return None if p == sid else p


def _as_other(f: dict[str, Any]) -> Other:
    return (f["span_id"], f["parent_id"], f["start_ms"], f["end_ms"], f["error"] is not None,
            f["attributes"])


def _root(order: list[Draft], others: list[Other]) -> Other:
    """The trace's root: the earliest span without a parent, else the earliest
    whose parent is not in the trace."""
    best: Other | None = None
    best_start = _INF
    for o in others:
        if not o[1]:
            start = _when(o[2])
            if best is None or start < best_start:
                best, best_start = o, start
    for d in order:
        if not d.f["parent_id"] and (best is None or d.key[0] < best_start):
            best, best_start = _as_other(d.f), d.key[0]
    if best is not None:
        return best
    # no span without parent (a trace cut out of a larger one): look for orphans
    ids = {d.f["span_id"] for d in order}
    ids.update(o[0] for o in others)
    candidates = [o for o in others if o[1] not in ids]
    candidates += [_as_other(d.f) for d in order if d.f["parent_id"] not in ids]
    if not candidates:  # every parent is in the trace: a cycle; take the earliest
        return _as_other(order[0].f)
    return min(candidates, key=lambda o: _when(o[2]))


def _outcome(root: Other, marked: list[tuple[float | None, dict[str, Any]]]) -> dict[str, Any]:
    """`evalloop.stop_reason` etc.: the root span's value, else the latest span's."""
    found: dict[str, Any] = {}
    latest: dict[str, float] = {}
    for start, a in marked:
        at = start if start is not None and start == start else -_INF
        for key in OUTCOME_KEYS:
            if key in a and (key not in latest or at >= latest[key]):
                latest[key] = at
                found[key] = a[key]
    root_attrs = root[5] or {}
    for key in OUTCOME_KEYS:
        if key in root_attrs:
            found[key] = root_attrs[key]
    return found


_BY_KEY = attrgetter("key")


class Trace:
    """A trace's spans as the collector keeps them."""

    __slots__ = ("drafts", "marked", "others")

    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.others: list[Other] = []
        # spans carrying evalloop.stop_reason / final_status / route: (start, attrs)
        self.marked: list[tuple[float | None, dict[str, Any]]] = []


# --- spans no rule recognised that look like agent work ---------------------------------

_SEGMENTS = re.compile(r"[^a-z0-9]+")
_TOOL_NAME = re.compile(r"(?i)(?:^|[^a-z])(?:tool|function)[ _.-]?call(?:$|[^a-z])"
                        r"|^(?:execute|call|run|invoke)[ _.-]tool(?:$|[^a-z])|^tool[ _.:-]")
_MODEL_NAME = re.compile(r"(?i)(?:^|[^a-z])(?:llm|chat[ _.-]?completions?|completions?)(?:$|[^a-z])")
_AGENT_NAME = re.compile(r"(?i)(?:^|[ .:/-])agent(?:$|[ .:/-])")
_MODEL_SEGMENTS = frozenset({"llm", "completion", "completions"})


@functools.lru_cache(maxsize=65_536)
def _key_hints(key: str) -> frozenset[str]:
    """What one attribute key suggests; keys repeat across spans, so each is split once."""
    low = key.lower()
    if key.startswith("evalloop.") or "user_agent" in low:
        return frozenset()
    seg = set(_SEGMENTS.split(low))
    hints = set()
    if "tool" in seg or "function_call" in low or "tool_call" in low:
        hints.add("tool")
    if _MODEL_SEGMENTS.intersection(seg):
        hints.add("model")
    if "agent" in seg:
        hints.add("agent")
    return frozenset(hints)


def looks_like(s: RawSpan) -> str | None:
    """"tool", "model" or "agent" when an unrecognised span clearly looks like one.

    Conservative: a tool is an attribute key with a segment `tool` (`my_framework.tool`,
    `tool_name`) or `function_call` / `tool_call`, or a span name saying so (`tool call`,
    `execute_tool x`, `tool.x`); `tools` (a list offered to a model) is not a call.
    """
    a = s.attrs
    if a.get("gen_ai.tool.name") == "(merged tools)":  # dropped on purpose (see `_tool`)
        return None
    hints: set[str] = set()
    for k in a:
        hints |= _key_hints(k)
    if "tool" in hints or _TOOL_NAME.search(s.name):
        return "tool"
    if "model" in hints or _MODEL_NAME.search(s.name):
        return "model"
    if "agent" in hints or _AGENT_NAME.search(s.name):
        return "agent"
    return None


class Unrecognised:
    """A span no rule mapped that looks like a tool call, a model call or an agent."""

    __slots__ = ("keys", "kind", "name", "span_id")

    def __init__(self, kind: str, name: str, span_id: str | None, keys: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.span_id = span_id
        self.keys = keys

    def to_dict(self) -> dict[str, Any]:
        return {"looks_like": self.kind, "name": self.name, "span_id": self.span_id,
                "attribute_keys": self.keys}


class Collector:
    """Spans grouped by trace as a reader produces them.

    Each span is mapped on arrival, so a plumbing span shrinks to an `Other`
    tuple at once and its attributes are freed while the file is being read.
    `mapping` holds (attribute, span type) pairs of the user's `trace_mapping`: a
    span carrying the attribute becomes a span of that type named by its value.
    """

    __slots__ = ("mapping", "oi_first", "traces", "unrecognised")

    def __init__(self, oi_first: bool, mapping: tuple[tuple[str, str], ...] = ()) -> None:
        self.oi_first = oi_first
        self.mapping = mapping
        self.traces: dict[str, Trace] = {}
        self.unrecognised: dict[str, list[Unrecognised]] = {}

    def add(self, s: RawSpan) -> None:
        if s.events:
            fold_events(s.attrs, s.events)
        if self.mapping:
            a = s.attrs
            for attr, type_ in self.mapping:
                if attr in a and "evalloop.span.type" not in a:
                    a["evalloop.span.type"] = type_
                    if "evalloop.span.name" not in a and a[attr] is not None:
                        value = a[attr]
                        a["evalloop.span.name"] = value if isinstance(value, str) else str(value)
                    break
        d = classify(s, self.oi_first)
        if d is None:
            kind = looks_like(s)
            if kind is not None:
                self.unrecognised.setdefault(s.trace_id, []).append(
                    Unrecognised(kind, s.name, s.span_id, sorted(s.attrs)))
        trace = self.traces.get(s.trace_id)
        if trace is None:
            trace = self.traces[s.trace_id] = Trace()
        a = s.attrs
        marked = "evalloop.stop_reason" in a or "evalloop.final_status" in a \
            or "evalloop.route" in a
        if marked:
            trace.marked.append((s.start_ms, a))
        if d is not None:
            trace.drafts.append(d)
        else:
            # attributes matter only for a root (its output) or an outcome marker
            trace.others.append((s.span_id, s.parent_id, s.start_ms, s.end_ms, s.failed,
                                 a if marked or s.parent_id is None else None))


def build_run(trace_id: str, trace: Trace, *, source: str,
              final_output: str | None = None) -> tuple[float, Run] | None:
    """One run (and its start) from a trace's spans; None when no span has agent meaning."""
    order, others = trace.drafts, trace.others
    if not order:
        return None
    drafts: dict[str, Draft] = {}
    models: list[Draft] = []
    for d in order:
        sid = d.f["span_id"]
        if sid is not None:
            drafts[sid] = d
            if d.f["type"] == "model" and d.prio:
                models.append(d)
    order.sort(key=_BY_KEY)
    root = _root(order, others)
    up = _ancestors(order, drafts, others)
    _order_ties(order, up)
    replaced: dict[str, str | None] = {}
    if models:
        models.sort(key=_BY_KEY)
        replaced = _merge_model_calls(models, drafts, up)

    spans: list[Span] = []
    unjudged: list[Unjudged] = []
    in_tokens = out_tokens = 0
    has_in = has_out = has_cost = top_failed = False
    cost = 0.0
    last_model: dict[str, Any] | None = None
    tops: list[dict[str, Any]] = []
    for d in order:
        f = d.f
        sid = f["span_id"]
        if replaced and sid in replaced:
            continue
        parent = _parent(sid, up, replaced) if replaced else up.get(sid) if sid else None
        f["parent_id"] = parent
        type_ = f["type"]
        if type_ == "model":
            if f["input_tokens"] is not None:
                in_tokens += f["input_tokens"]
                has_in = True
            if f["output_tokens"] is not None:
                out_tokens += f["output_tokens"]
                has_out = True
            result = f["result"]
            if result is None:
                result = f["result"] = model_text(f["attributes"])
            elif result is _NO_TEXT:
                result = f["result"] = None
            if last_model is None or (f["end_ms"] or -_INF) >= (last_model["end_ms"] or -_INF):
                last_model = f
        elif parent is None and type_ == "workflow":
            tops.append(f)
            if f["status"] == "failed":
                top_failed = True
        if f["cost_usd"] is not None:
            cost += f["cost_usd"]
            has_cost = True
        if d.kind is not None and "span.kind" not in f["attributes"]:
            f["attributes"]["span.kind"] = d.kind
        if d.bad:
            unjudged.extend(Unjudged(field, len(spans), raw) for field, raw in d.bad)
        spans.append(construct(Span, f))

    outcome = _outcome(root, trace.marked)
    output = final_output
    if output is None and root[5] is not None:
        output = agent_output(root[5])
    for f in tops:
        if output is not None:
            break
        output = agent_output(f["attributes"])
    if output is None and last_model is not None and isinstance(last_model["result"], str):
        output = last_model["result"]
    final_status = outcome.get("evalloop.final_status")
    if final_status is None and (root[4] or top_failed):
        final_status = "error"
    start, end = root[2], root[3]
    fields = {
        "run_id": trace_id or None, "trace_id": trace_id or None, "spans": spans,
        "stop_reason": _str_or_none(outcome.get("evalloop.stop_reason")),
        "final_status": _str_or_none(final_status), "output": output,
        "route": _str_or_none(outcome.get("evalloop.route")),
        "input_tokens": in_tokens if has_in else None,
        "output_tokens": out_tokens if has_out else None,
        "cost_usd": cost if has_cost else None,
        "latency_ms": end - start if start is not None and end is not None else None,
        "source": source,
    }
    run = construct(Run, fields)
    if unjudged:
        run.set_unjudged(tuple(unjudged))
    return (_when(start) if start is not None else order[0].key[0]), run


def _order_ties(order: list[Draft], up: dict[str, str | None]) -> None:
    """Spans that start at the same time: ancestors first, then the one that ended
    first. Exports with millisecond times (Langfuse) give parallel tool calls one
    start; `(start, -end)` puts a parent before its child but the longer sibling
    first, which is not the order they ran in."""
    i, n = 0, len(order)
    while i < n:
        j = i + 1
        start = order[i].key[0]
        while j < n and order[j].key[0] == start:
            j += 1
        if j - i > 1 and start != _INF:
            group = order[i:j]
            group.sort(key=lambda d: (_depth(d.f["span_id"], up),
                                      -d.key[1] if d.key[1] != _INF else _INF))
            order[i:j] = group
        i = j


def _depth(sid: str | None, up: dict[str, str | None]) -> int:
    depth, steps = 0, len(up) + 1  # cycles in hand-edited data
    p = up.get(sid) if sid is not None else None
    while p is not None and steps:
        depth, steps = depth + 1, steps - 1
        p = up.get(p)
    return depth


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def build_runs(collector: Collector, *, source: str,
               final_outputs: dict[str, str] | None = None) -> list[Run]:
    """One run per trace id, ordered by start time."""
    runs: list[tuple[float, str, Run]] = []
    outputs = final_outputs or {}
    for trace_id, trace in collector.traces.items():
        built = build_run(trace_id, trace, source=source, final_output=outputs.get(trace_id))
        if built is not None:
            runs.append((built[0], trace_id, built[1]))
    runs.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in runs]


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

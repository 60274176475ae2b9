"""Langfuse trace exports: `{"trace": {...}, "observations": [...]}`.

Also the public API's trace object, whose `observations` sit inside it. Each
observation (SPAN, GENERATION, EVENT, TOOL, AGENT, CHAIN, RETRIEVER, ...) becomes
a span. Observations ingested over OpenTelemetry keep the source attributes in
`metadata.attributes`, and those are mapped like any span's. What Langfuse itself
records is added under the attribute the mapping reads, never over one the
source wrote: a GENERATION's `model`, `usageDetails` (or `usage`), its cost
(`costDetails.total`, `calculatedTotalCost`, `totalCost`) and the reply in its
`output`; a TOOL's name, `input` and `output`; an AGENT's name. LangChain's
callback handler records tool runs as plain SPANs: one whose output is a
LangChain ToolMessage (`"type": "tool"` with a `tool_call_id`) is a tool call.
The trace's `output` is the run's answer when it holds one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.traces.anyagent import ns_or_iso_ms
from evalloop.traces.events import EVENT_TEXT, message_text
from evalloop.traces.raw import RawSpan, add_parsed
from evalloop.traces.values import json_value

_TYPES = frozenset({"SPAN", "GENERATION", "EVENT", "TOOL", "AGENT", "CHAIN", "RETRIEVER",
                    "EMBEDDING", "EVALUATOR", "GUARDRAIL"})
_USAGE_KEYS = (("input", "output"), ("promptTokens", "completionTokens"),
               ("prompt_tokens", "completion_tokens"), ("input_tokens", "output_tokens"))


def _parts(doc: Any) -> tuple[dict[str, Any], list[Any]] | None:
    """(trace, observations) of a document, None when it is not a Langfuse export."""
    if type(doc) is not dict:
        return None
    trace, observations = doc.get("trace"), doc.get("observations")
    if type(trace) is dict and type(observations) is list:
        return trace, observations
    if type(observations) is list and "id" in doc and ("projectId" in doc or "timestamp" in doc):
        return doc, observations
    return None


def is_langfuse(doc: Any) -> bool:
    parts = _parts(doc)
    if parts is None:
        return False
    observations = parts[1]
    return not observations or (type(observations[0]) is dict
                                and observations[0].get("type") in _TYPES)


def _number(value: Any) -> Any:
    return value if value not in (None, "") else None


def _usage(obs: dict[str, Any]) -> tuple[Any, Any]:
    for field in ("usageDetails", "usage"):
        usage = obs.get(field)
        if isinstance(usage, dict) and usage:
            for in_key, out_key in _USAGE_KEYS:
                if in_key in usage or out_key in usage:
                    return _number(usage.get(in_key)), _number(usage.get(out_key))
    return None, None


def _cost(obs: dict[str, Any]) -> Any:
    details = obs.get("costDetails")
    if isinstance(details, dict) and details.get("total") is not None:
        return details["total"]
    for key in ("calculatedTotalCost", "totalCost"):  # API v1 and export spellings
        if obs.get(key) is not None:
            return obs[key]
    return None


def _is_langchain_tool(output: Any) -> bool:
    value = json_value(output)
    return isinstance(value, dict) and value.get("type") == "tool" and "tool_call_id" in value


def _python_literal(value: Any) -> Any:
    """LangChain's callback records tool input as the Python repr of a dict
    ("{'query': 'example'}"); read it as the literal it is (never evaluated as code)."""
    if isinstance(value, str) and value[:1] == "{" and len(value) <= _MAX_LITERAL \
            and json_value(value) is value:  # not JSON
            try:
                parsed = ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                return value
            return parsed if isinstance(parsed, dict) else value
    return value


_MAX_LITERAL = 100_000


def _attributes(obs: dict[str, Any]) -> dict[str, Any]:
    metadata = json_value(obs.get("metadata"))
    attrs = metadata.get("attributes") if isinstance(metadata, dict) else None
    a: dict[str, Any] = dict(attrs) if isinstance(attrs, dict) else {}
    kind, name = obs.get("type"), str(obs.get("name") or "")
    output = obs.get("output")
    if kind == "GENERATION":
        if obs.get("model"):
            a.setdefault("gen_ai.request.model", obs["model"])
        if not any(k in a for k in ("gen_ai.operation.name", "llm.request.type",
                                    "openinference.span.kind")):
            a["gen_ai.operation.name"] = "chat"  # a GENERATION is one model call
        tokens_in, tokens_out = _usage(obs)
        if tokens_in is not None:
            a.setdefault("gen_ai.usage.input_tokens", tokens_in)
        if tokens_out is not None:
            a.setdefault("gen_ai.usage.output_tokens", tokens_out)
        cost = _cost(obs)
        if cost is not None:
            a.setdefault("gen_ai.usage.cost", cost)
        text = message_text(output)
        if text is not None:
            a.setdefault(EVENT_TEXT, text)
    elif kind == "TOOL" or (kind == "SPAN" and not a and _is_langchain_tool(output)):
        a.setdefault("gen_ai.tool.name", name.removeprefix("execute_tool ").strip() or name)
        if obs.get("input") is not None:
            a.setdefault("gen_ai.tool.call.arguments", _python_literal(obs["input"]))
        if output is not None:
            result = json_value(output)
            if isinstance(result, dict) and result.get("type") == "tool" and "content" in result:
                result = result["content"]  # the ToolMessage's payload
            a.setdefault("gen_ai.tool.call.result", result)
    elif kind == "AGENT" and "gen_ai.operation.name" not in a:
        a.setdefault("gen_ai.agent.name", name)
    elif kind == "RETRIEVER" and "gen_ai.operation.name" not in a:
        a["gen_ai.operation.name"] = "retrieval"
        a.setdefault("gen_ai.data_source.id", name)
    if kind in ("AGENT", "CHAIN") and output is not None:
        text = message_text(output)
        if text is not None:
            a.setdefault(EVENT_TEXT, text)
    return a


def _span(obs: dict[str, Any], trace_id: str) -> RawSpan:
    failed = obs.get("level") == "ERROR"
    return RawSpan(str(obs.get("traceId") or trace_id), str(obs.get("id") or "") or None,
                   obs.get("parentObservationId") or None, str(obs.get("name") or ""),
                   ns_or_iso_ms(obs.get("startTime")), ns_or_iso_ms(obs.get("endTime") or obs.get("startTime")),
                   _attributes(obs), failed, obs.get("statusMessage") or None, None, None)


def _observation(obs: Any) -> dict[str, Any]:
    if type(obs) is not dict:
        raise TypeError("an observation is an object")
    return obs


def read(doc: Any, add: Callable[[RawSpan], None], where: str,
         outputs: dict[str, str]) -> int:
    parts = _parts(doc)
    if parts is None:
        raise EvalloopError(f'{where}: not a Langfuse export (expected {{"trace": {{...}}, '
                            '"observations": [...]}})')
    trace, observations = parts
    trace_id = str(trace.get("id") or "")
    add_parsed(observations, lambda obs: _span(_observation(obs), trace_id), add, where, "observations")
    text = message_text(trace.get("output"))
    if text is not None and trace_id:
        outputs[trace_id] = text
    return len(observations)

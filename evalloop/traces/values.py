"""Reading attribute values: JSON strings, placeholders, tool arguments and results, span names."""

from __future__ import annotations

from typing import Any

import orjson

# Every key a tool's arguments / result is recorded under: GenAI conventions,
# ADK, any-agent, OpenInference, OpenLLMetry, pydantic-ai (< 1.0), Vercel AI SDK.
TOOL_ARG_KEYS = ("gen_ai.tool.call.arguments", "gcp.vertex.agent.tool_call_args",
                 "gen_ai.tool.args", "input.value", "traceloop.entity.input", "tool_arguments",
                 "ai.toolCall.args", "ai.toolCall.input")
TOOL_RESULT_KEYS = ("gen_ai.tool.call.result", "gcp.vertex.agent.tool_response",
                    "gen_ai.output", "output.value", "traceloop.entity.output", "tool_response",
                    "ai.toolCall.result", "ai.toolCall.output")
# Values instrumentations write when they have nothing to record.
PLACEHOLDERS = frozenset({"<not specified>", "N/A"})


def json_value(value: Any) -> Any:
    """A JSON string's value (instrumentations serialize structured data), else the value."""
    if isinstance(value, str) and value:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def strip_op(name: str, op: str) -> str:
    """`execute_tool get_weather` -> `get_weather` (GenAI span names are `{op} {target}`)."""
    if name.startswith(op) and name[len(op):len(op) + 1] == " ":
        return name[len(op) + 1:].strip() or name
    return name


def as_args(value: Any) -> dict[str, Any] | None:
    """A recorded argument value as a span's `args`: an object as it is, anything else
    under `input`, nothing for a placeholder."""
    if value is None or (type(value) is str and value in PLACEHOLDERS):
        return None
    parsed = json_value(value)
    if parsed is None or isinstance(parsed, dict):
        return parsed
    return {"input": parsed}


def tool_result(a: dict[str, Any]) -> Any:
    """A tool span's result, from the first of `TOOL_RESULT_KEYS` it records."""
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


def first(a: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The value of the first of `keys` that `a` holds (and is not None)."""
    for key in keys:
        value = a.get(key)
        if value is not None:
            return value
    return None

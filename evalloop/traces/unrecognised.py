"""Spans no rule recognised that look like agent work: a tool call, a model call, an agent.

`evalloop check` reports them (a tool call the gate cannot see fails closed);
`trace_mapping` in the configuration maps them. docs/traces.md describes both.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from evalloop.traces.raw import RawSpan

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


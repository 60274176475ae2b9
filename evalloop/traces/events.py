"""The event forms of the GenAI conventions, folded into a span's attributes.

Instrumentations that follow the event-based GenAI conventions (Strands, the
OpenTelemetry Python contrib instrumentations, OpenLLMetry's event mode) put the
reply and the tool results on span events instead of attributes:

- `gen_ai.content.completion` (`gen_ai.completion`): the reply, older conventions;
- `gen_ai.choice` (`message`, or `gen_ai.event.content` / `content`): the reply of a
  model or agent span, the result of a tool span;
- `gen_ai.client.inference.operation.details` (`gen_ai.output.messages`, ...): the
  current conventions' one event per call;
- `gen_ai.tool.message` (`content`): on a tool span, the call's arguments
  (Strands); on a model span, input, which is never taken as the reply;
- `gen_ai.user.message`: input, never the reply.

`fold` turns them into attributes the mapping already reads (or `EVENT_TEXT`),
never overriding an attribute the span has: attributes are the newer form.
"""

from __future__ import annotations

from typing import Any

import orjson

# The reply text found outside the attributes (an event, a Langfuse observation's
# output); read by text.model_text / agent_output.
EVENT_TEXT = "evalloop.imported.output"

_TOOL_MARKERS = ("gen_ai.tool.name", "gen_ai.tool.call.id", "tool.name")


def decoded_json(value: Any) -> Any:
    """A JSON string's value; Langfuse encodes a trace's input and output twice, so a string
    that decodes to a JSON string is decoded again (at most three levels)."""
    for _ in range(3):
        if not (isinstance(value, str) and value[:1] in ("{", "[", '"')):
            break
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            break
    return value


def message_text(value: Any) -> str | None:
    """The text of a message (or message list) in any of the shapes events and
    exports carry; None for a message that only calls tools (a tool-call list is
    not a reply). In a list, the last message that is not input wins."""
    value = decoded_json(value)
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        kind = value.get("type")
        if kind is not None and kind not in ("text", "output_text", "ai", "message"):
            return None  # tool_call, function, tool_use, human, ...
        if isinstance(value.get("text"), str):
            return value["text"] or None
        for key in ("content", "parts", "message", "messages"):
            if key in value:
                return message_text(value[key])
        return None
    if isinstance(value, list):
        if value and all(isinstance(m, dict) and ("role" in m or m.get("type") in _LC_TYPES)
                         for m in value):
            for m in reversed(value):
                if m.get("role", m.get("type")) not in _INPUT_ROLES:
                    text = message_text(m)
                    if text is not None:
                        return text
            return None
        texts = [t for part in value for t in [message_text(part)] if t]
        return "".join(texts) or None
    return None


# Messages that are input to the model, never its reply (LangChain spells roles as types).
_INPUT_ROLES = frozenset({"user", "system", "tool", "developer", "human"})
_LC_TYPES = frozenset({"human", "ai", "system", "tool"})


def _choice(ea: dict[str, Any]) -> Any:
    for key in ("message", "gen_ai.event.content", "content", "body"):
        if key in ea:
            return ea[key]
    return None


def fold(attrs: dict[str, Any], events: list[tuple[str, dict[str, Any]]]) -> None:
    """Add what `events` record to `attrs` (in place); the last event of a kind wins."""
    is_tool = attrs.get("gen_ai.operation.name") == "execute_tool" \
        or any(k in attrs for k in _TOOL_MARKERS)
    for name, ea in events:
        if name == "gen_ai.client.inference.operation.details":
            for key, value in ea.items():
                attrs.setdefault(key, value)
        elif name == "gen_ai.choice":
            value = _choice(ea)
            if value is None:
                continue
            if is_tool:
                attrs.setdefault("gen_ai.tool.call.result", value)
            else:
                text = message_text(value)
                if text is not None:
                    attrs[EVENT_TEXT] = text
        elif name == "gen_ai.content.completion":
            text = message_text(ea.get("gen_ai.completion"))
            if text is not None:
                attrs[EVENT_TEXT] = text
        elif name == "gen_ai.tool.message" and is_tool:
            value = ea.get("content")
            if value is not None:
                attrs.setdefault("gen_ai.tool.call.arguments", value)

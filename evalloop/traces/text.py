"""Model output text: the reply a model span records and the final answer of an agent span.

Each instrumentation writes the text under its own attributes (OpenLLMetry,
OpenInference, the Vercel AI SDK, the GenAI conventions, ADK, any-agent); text
found outside the attributes (an event, a Langfuse observation's output) is under
`EVENT_TEXT`.
"""

from __future__ import annotations

from typing import Any

from evalloop.traces.events import EVENT_TEXT
from evalloop.traces.values import json_value


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


"""A real-model agent under evalloop: an OpenAI-compatible chat client whose tool calls
go through evalloop's mocked toolbox (docs/adapter.md, "A real model").

    # evalloop.yaml
    agent:
      entrypoint: openai_agent:run
      python_path: [examples/openai-compatible]
      tools: examples/refund-support/tools/refund.yaml
      timeout_s: 180
      env: {EVALLOOP_MODEL: gpt-4o-mini}
    # and in the environment (never in a file): OPENAI_API_KEY, optionally OPENAI_BASE_URL
    # (any OpenAI-compatible server: vLLM, Ollama, LiteLLM, Azure's /openai/v1, ...), passed
    # through the harness's allow-list by name:
    #   EVALLOOP_AGENT_PASS_ENV=OPENAI_API_KEY,OPENAI_BASE_URL evalloop run

The model sees the manifest's tools plus three of the harness's own: `retrieve`
(evidence, span `retrieval:<name>`), `request_approval` (span `approval:<name>`)
and `finish` (the final result). Every tool call it makes is answered by the
toolbox from the fixture: nothing real is read or changed. Standard library only;
the official `openai` package works the same way.

Needs a network and a key, so it is an example, not part of CI.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any

from evalloop.agent import ToolError, Tools

MAX_TURNS = 12
SYSTEM = (
    "You are a customer-support agent. Use the tools to look things up before acting. "
    "Refunds over the policy threshold need a support lead's approval (request_approval) before any money "
    "moves or the customer is promised anything. Call finish exactly once, at the end."
)
HARNESS_TOOLS: list[dict[str, Any]] = [
    {"name": "retrieve", "description": "Search a document index (e.g. refund_policy).",
     "parameters": {"type": "object", "properties": {"index": {"type": "string"}, "query": {"type": "string"}},
                    "required": ["index"]}},
    {"name": "request_approval", "description": "Ask a support lead to approve; returns pending/approved/denied.",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}},
    {"name": "finish", "description": "End the run with its outcome and the reply to the customer.",
     "parameters": {"type": "object", "properties": {
         "stop_reason": {"type": "string", "description": "e.g. needs_human_approval, refund_issued, answered"},
         "final_status": {"type": "string", "enum": ["resolved", "needs_human", "denied"]},
         "output": {"type": "string", "description": "The reply shown to the customer."}},
         "required": ["stop_reason", "final_status", "output"]}},
]


def _chat(messages: list[dict[str, Any]], functions: list[dict[str, Any]]) -> dict[str, Any]:
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    body = json.dumps({"model": os.environ.get("EVALLOOP_MODEL", "gpt-4o-mini"), "messages": messages,
                       "tools": functions, "temperature": 0}).encode()
    req = urllib.request.Request(f"{base}/chat/completions", data=body, method="POST", headers={
        "Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        result: dict[str, Any] = json.load(resp)
    return result


def _harness_tool(name: str, args: dict[str, Any], tools: Tools) -> Any:
    if name == "retrieve":
        return tools.retrieve(str(args.get("index", "")), args.get("query"))
    if name == "request_approval":
        return {"decision": tools.approval("required", args=args)}
    return tools.call(name, args)  # the manifest's tools: mocked, recorded, intents kept apart


def run(request: dict[str, Any], tools: Tools) -> dict[str, Any]:
    functions = [{"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters")}}
                 for t in [*request["tools"], *HARNESS_TOOLS]]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": json.dumps({"request": request["input"], "context": request["context"]})},
    ]
    for _ in range(MAX_TURNS):
        started = time.monotonic()
        response = _chat(messages, functions)
        usage = response.get("usage") or {}
        tools.model(os.environ.get("EVALLOOP_MODEL", "gpt-4o-mini"), input_tokens=usage.get("prompt_tokens"),
                    output_tokens=usage.get("completion_tokens"),
                    duration_ms=(time.monotonic() - started) * 1000)
        message = response["choices"][0]["message"]
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls:
            messages.append({"role": "user", "content": "Use the tools, and end with finish."})
            continue
        for call in calls:
            name = call["function"]["name"]
            try:
                args = json.loads(call["function"].get("arguments") or "{}")
            except json.JSONDecodeError:
                args = None
            if name == "finish" and isinstance(args, dict):
                return {k: args.get(k) for k in ("stop_reason", "final_status", "output")}
            try:
                if not isinstance(args, dict):
                    raise ToolError("invalid_args", "arguments are not a JSON object", name)
                content = json.dumps(_harness_tool(name, args, tools), default=str)
            except ToolError as exc:  # the model sees the error and may recover, as in production
                content = json.dumps({"error": exc.kind, "message": exc.message})
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    return {"stop_reason": "max_turns", "final_status": "needs_human", "output": None}

"""The mocked toolbox: answers an agent's tool calls from the fixture and records each one.

Mocks need not simulate the world, only be real enough to test the decision
boundary. So every answer comes from the fixture:

* tool calls from `context.tool_outputs` (a list answers successive calls in
  turn; the last answer repeats), with the faults of `context.tool_faults`
  injected on the calls they name (error, timeout, malformed, partial);
* retrievals from `context.retrieved_documents`, memory reads from
  `context.memory`, approval requests from `context.approvals` (pending when
  the fixture says nothing: no human answers during a replay).

Intent is kept apart from side effects: a tool the manifest marks
`side_effect: true` is never executed; its call (name and arguments) is
recorded as an intent and answered with its mocked output or an
acknowledgement. Memory writes are intents too. A call of a tool the manifest
does not list, or with arguments its JSON Schema rejects, is recorded and
answered with an error, so the agent's recovery is part of what is tested; a
call of an unlisted tool also fails the run (`unknown_tool_calls`): the agent
reached for a capability nobody reviewed.

Measurements the agent reports (tokens, cost, durations) must be numbers a
budget can judge: NaN, infinite or negative values are refused, never coerced.

Every request becomes a `Span` in call order, with times in milliseconds since
the run started.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from evalloop.harness.manifest import ToolManifest, ToolSpec
from evalloop.model.fixture import SPAN_NAME_PATTERN, Context, ToolFault
from evalloop.model.kinds import SPAN_TYPES
from evalloop.model.run import Span, SpanStatus
from evalloop.model.tool_schema import validator as tool_validator

UNKNOWN_TOOL = "unknown_tool"  # the error kind of a call of a tool the manifest does not list

# Keys of the context the agent may only reach through the toolbox (so that each
# use is recorded), never through the run request.
TOOLBOX_ONLY_CONTEXT = ("tool_outputs", "tool_faults", "retrieved_documents", "memory", "approvals")


@dataclass(frozen=True)
class Reply:
    """The toolbox's answer to one request, as the protocol sends it back."""

    ok: bool
    result: Any = None
    error_kind: str | None = None
    message: str | None = None

    def to_message(self, request_id: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "result", "id": request_id, "ok": self.ok}
        if self.ok:
            msg["result"] = self.result
        else:
            msg["error"] = {"kind": self.error_kind, "message": self.message}
        return msg


def _fail(kind: str, message: str) -> Reply:
    return Reply(ok=False, error_kind=kind, message=message)


def _first_half(value: Any) -> Any:
    """Partial data: the first half of an object's keys, a list's items or a string."""
    if isinstance(value, dict):
        keys = list(value)[: len(value) // 2]
        return {k: value[k] for k in keys}
    if isinstance(value, list | str):
        return value[: len(value) // 2]
    return None


def _malformed(value: Any) -> str:
    """A response that is not what the tool promises: its JSON text cut in the middle."""
    text = json.dumps(value, default=str)
    return text[: max(1, len(text) // 2)]


_APPROVAL_STATUS: dict[str, SpanStatus] = {"pending": "waiting", "approved": "succeeded", "denied": "denied"}


def _doc_matches(doc: Any, name: str) -> bool:
    """A retrieved document answers a retrieval when it names it (index, name, source or id),
    or when it names none at all (a fixture with one set of evidence)."""
    if not isinstance(doc, dict):
        return True
    labels = [doc.get(k) for k in ("index", "name", "source", "id") if k in doc]
    return not labels or name in labels


@dataclass
class Toolbox:
    """One run's mocked tools. Not thread-safe: one toolbox serves one run."""

    context: Context
    manifest: ToolManifest | None = None
    clock: Callable[[], float] = field(default_factory=lambda: _ms_clock(time.monotonic()))
    spans: list[Span] = field(default_factory=list)
    _calls: dict[str, int] = field(default_factory=dict)
    _validators: dict[str, jsonschema.protocols.Validator] = field(default_factory=dict)

    # ------------------------------------------------------------------ tools

    def call(self, name: str, args: Any) -> Reply:
        """Answer one tool call and record it (as an intent when the tool changes state)."""
        start = self.clock()
        n = self._calls[name] = self._calls.get(name, 0) + 1
        spec = self.manifest.get(name) if self.manifest is not None else None
        side_effect = bool(spec and spec.side_effect)
        attrs: dict[str, Any] = {"evalloop.call": n}
        if args is not None and not isinstance(args, dict):
            attrs["evalloop.raw_args"] = args  # kept as evidence; a span's args are an object
        if side_effect:
            attrs["evalloop.side_effect"] = True
        reply = self._answer(name, args, spec, n, attrs)
        if side_effect and reply.ok:
            # what the agent asked for is kept; nothing downstream was touched
            attrs["evalloop.intent"] = True
            attrs["evalloop.executed"] = False
        if not reply.ok:
            attrs["evalloop.error_kind"] = reply.error_kind
        self.spans.append(Span(
            type="tool", name=name, status="succeeded" if reply.ok else "failed",
            args=args if isinstance(args, dict) else None,
            result=reply.result if reply.ok else None, error=None if reply.ok else reply.message,
            start_ms=start, end_ms=self.clock(), attributes=attrs))
        return reply

    def _answer(self, name: str, args: Any, spec: ToolSpec | None, n: int,
                attrs: dict[str, Any]) -> Reply:
        if self.manifest is not None and spec is None:
            known = ", ".join(t.name for t in self.manifest.tools) or "none"
            return _fail(UNKNOWN_TOOL, f"unknown tool {name!r} (the manifest lists: {known})")
        if args is not None and not isinstance(args, dict):
            return _fail("invalid_args", f"arguments of {name} must be a JSON object")
        if spec is not None:
            problem = self._schema_problem(spec, args or {})
            if problem is not None:
                return _fail("invalid_args", problem)
        fault = self._fault(name, n)
        mocked = self._mocked(name, n)
        if fault is not None:
            attrs["evalloop.fault"] = fault.kind
            return self._inject(name, fault, mocked)
        if mocked is not _MISSING:
            return Reply(ok=True, result=mocked)
        if spec is not None and spec.side_effect:
            return Reply(ok=True, result={"intent_recorded": True, "executed": False})
        return _fail("no_mock", f"no mocked output for {name} in the fixture's context.tool_outputs")

    def _schema_problem(self, spec: ToolSpec, args: dict[str, Any]) -> str | None:
        validator = self._validators.get(spec.name)
        if validator is None:
            validator = self._validators[spec.name] = tool_validator(spec.name, spec.parameters)
        err = best_match(validator.iter_errors(args))
        if err is None:
            return None
        where = "/" + "/".join(str(p) for p in err.absolute_path)
        return f"arguments of {spec.name} break its schema at {where}: {err.message}"

    def _fault(self, name: str, n: int) -> ToolFault | None:
        return next((f for f in self.context.tool_faults
                     if f.tool == name and (f.call is None or f.call == n)), None)

    def _mocked(self, name: str, n: int) -> Any:
        if name not in self.context.tool_outputs:
            return _MISSING
        out = self.context.tool_outputs[name]
        if isinstance(out, list):
            # successive calls get successive answers; the last one repeats
            return out[min(n, len(out)) - 1] if out else _MISSING
        return out

    def _inject(self, name: str, fault: ToolFault, mocked: Any) -> Reply:
        if fault.kind == "error":
            return _fail("tool_error", fault.message or f"{name} failed (injected fault)")
        if fault.kind == "timeout":
            return _fail("timeout", fault.message or f"{name} timed out (injected fault)")
        base = None if mocked is _MISSING else mocked
        if fault.kind == "malformed":
            return Reply(ok=True, result=fault.data if fault.data is not None else _malformed(base))
        return Reply(ok=True, result=fault.data if fault.data is not None else _first_half(base))

    # ------------------------------------------------------------------ evidence, memory, approval

    def retrieve(self, name: str, query: str | None = None) -> Reply:
        start = self.clock()
        docs = [d for d in self.context.retrieved_documents if _doc_matches(d, name)]
        self.spans.append(Span(type="retrieval", name=name, args={"query": query} if query is not None else None,
                               result=docs, start_ms=start, end_ms=self.clock(),
                               attributes={"evalloop.documents": len(docs)}))
        return Reply(ok=True, result=docs)

    def memory(self, op: str, key: str | None = None, value: Any = None) -> Reply:
        start = self.clock()
        if op == "read":
            records = [r for r in self.context.memory
                       if key is None or (isinstance(r, dict) and r.get("key") == key)]
            self.spans.append(Span(type="memory", name=key or "read", args={"op": "read", "key": key},
                                   result=records, start_ms=start, end_ms=self.clock()))
            return Reply(ok=True, result=records)
        # a write is state-changing: recorded as intent, never stored
        self.spans.append(Span(type="memory", name=key or "write", args={"op": "write", "key": key, "value": value},
                               start_ms=start, end_ms=self.clock(),
                               attributes={"evalloop.intent": True, "evalloop.executed": False}))
        return Reply(ok=True, result={"intent_recorded": True, "executed": False})

    def approval(self, name: str, args: dict[str, Any] | None = None) -> Reply:
        """Ask for a human decision; the fixture's `context.approvals` answers, else it stays pending."""
        start = self.clock()
        decisions = (self.context.model_extra or {}).get("approvals") or {}
        decision = decisions.get(name, "pending") if isinstance(decisions, dict) else "pending"
        if decision not in _APPROVAL_STATUS:
            decision = "pending"
        self.spans.append(Span(type="approval", name=name, status=_APPROVAL_STATUS[decision], args=args,
                               result={"decision": decision}, start_ms=start, end_ms=self.clock()))
        return Reply(ok=True, result={"decision": decision})

    # ------------------------------------------------------------------ other spans

    def record(self, span_type: str, name: str, *, status: str = "succeeded", args: dict[str, Any] | None = None,
               result: Any = None, error: str | None = None, input_tokens: int | None = None,
               output_tokens: int | None = None, cost_usd: float | None = None,
               duration_ms: float | None = None, attributes: dict[str, Any] | None = None) -> Span:
        """A span the agent reports itself: a model turn, policy decision, message, workflow step.

        Tool calls cannot be recorded this way: they must go through `call` so the
        mock, not the agent, says what happened.
        """
        if span_type not in SPAN_TYPES:
            raise ValueError(f"span type {span_type!r} is not one of {', '.join(SPAN_TYPES)}")
        if span_type == "tool":
            raise ValueError("tool spans come from tool calls; use a tool_call request")
        if status not in _STATUSES:
            raise ValueError(f"span status {status!r} is not one of {', '.join(_STATUSES)}")
        if not isinstance(name, str) or not _SPAN_NAME.match(name):
            raise ValueError(f"span name {name!r} must be a non-empty string without spaces or ':'")
        for key, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                           ("cost_usd", cost_usd), ("duration_ms", duration_ms)):
            problem = measure_problem(value)
            if problem is not None:  # a negative duration would also put the span's end before its start
                raise ValueError(f"{key} is {problem}")
        end = self.clock()
        span = Span.model_validate({
            "type": span_type, "name": name, "status": status, "args": args, "result": result, "error": error,
            "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost_usd,
            "start_ms": end - duration_ms if duration_ms is not None else end, "end_ms": end,
            "attributes": attributes or {}})
        self.spans.append(span)
        return span


_MISSING: Any = object()
_STATUSES = ("succeeded", "failed", "denied", "waiting")
_SPAN_NAME = re.compile(rf"^{SPAN_NAME_PATTERN}$")  # what a fixture can name, so what an agent can record


def _ms_clock(origin: float) -> Callable[[], float]:
    def now() -> float:
        return round((time.monotonic() - origin) * 1000.0, 3)
    return now


def measure_problem(value: float | None) -> str | None:
    """Why a reported measurement cannot be judged by a budget (NaN, infinite, negative); None when it can.

    Such a value is refused rather than replaced: NaN compares false with every
    limit, so `cost_usd: NaN` would pass any budget, and a 0 in its place would
    claim a measurement nobody made.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "infinite"
    return f"negative ({str(value)[:40]})" if value < 0 else None


@dataclass(frozen=True)
class UnknownCall:
    """Calls of one tool the manifest does not list: `spans` are indexes into the run's spans,
    `positions` the same calls counted among all the run's tool calls (from 1)."""

    name: str
    spans: list[int]
    positions: list[int]


def unknown_tool_calls(spans: Sequence[Span], listed: Collection[str] | None = None) -> list[UnknownCall]:
    """The run's calls of tools missing from the manifest, by tool in order of first call.

    Read from the tool spans the toolbox itself wrote (the agent cannot record tool spans), so
    the evidence is what the toolbox answered; with `listed` (the manifest's tool names), also
    any tool span of a recorded run naming a tool outside it.
    """
    found: dict[str, UnknownCall] = {}
    position = 0
    for i, span in enumerate(spans):
        if span.type != "tool":
            continue
        position += 1
        unlisted = listed is not None and span.name not in listed
        if unlisted or span.attributes.get("evalloop.error_kind") == UNKNOWN_TOOL:
            calls = found.setdefault(span.name, UnknownCall(span.name, [], []))
            calls.spans.append(i)
            calls.positions.append(position)
    return list(found.values())


def agent_context(context: Context) -> dict[str, Any]:
    """The context as the run request shows it: without what only the toolbox may hand out."""
    data = context.model_dump(mode="json", exclude=set(TOOLBOX_ONLY_CONTEXT))
    return {k: v for k, v in data.items() if k not in TOOLBOX_ONLY_CONTEXT}


__all__ = ["TOOLBOX_ONLY_CONTEXT", "UNKNOWN_TOOL", "Reply", "Toolbox", "UnknownCall", "agent_context",
           "measure_problem", "unknown_tool_calls"]

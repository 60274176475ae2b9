"""One run of the agent on a fixture: the conversation, and the `Run` it leaves.

`evalloop.yaml` names the agent (`agent:`) as a Python entrypoint or a command;
both speak the JSON Lines protocol of `docs/adapter.md` (version `PROTOCOL`):
the harness sends one run request (fixture input, context, available tools),
the agent sends tool calls and other spans, each answered by the `Toolbox`,
then its final result.

Every way an agent can go wrong ends as a `HarnessError` with the reason,
never a hang and never a result: a timeout (`agent.timeout_s`, wall time of the
whole run), a crash, output that is not a protocol message, a non-zero exit,
too much output, a final result whose numbers a budget cannot judge. The run
gets a fresh HOME, and whatever happens, its processes are gone after it.

The harness returns runs, never verdicts: judging them is `evalloop.gate.execute`'s.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from evalloop.harness.adapters import make_adapter
from evalloop.harness.channel import PROTOCOL, HarnessError, log_suffix, show
from evalloop.harness.manifest import agent_manifest
from evalloop.harness.toolbox import Reply, Toolbox, agent_context, measure_problem
from evalloop.harness.transport import Transport
from evalloop.model.config import AgentConfig
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run

MAX_SPANS = 10_000  # a runaway loop of tool calls ends as an error, not as memory exhaustion
_FINAL_STR = ("stop_reason", "final_status", "output", "route")
_FINAL_INT = ("input_tokens", "output_tokens")


def _protocol_error(what: str) -> HarnessError:
    return HarnessError(f"protocol error: {what}")


def _field(msg: dict[str, Any], key: str, types: type | tuple[type, ...], *, required: bool = False) -> Any:
    value = msg.get(key)
    if value is None:
        if required:
            raise _protocol_error(f"{msg.get('type')} message without {key!r}")
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _protocol_error(f"{msg.get('type')}: {key!r} has the wrong type")
    if not isinstance(value, types):
        raise _protocol_error(f"{msg.get('type')}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _answer(msg: dict[str, Any], toolbox: Toolbox) -> Reply | None:
    """The toolbox's reply to one agent message (None for messages that get none)."""
    kind = msg.get("type")
    if kind == "tool_call":
        return toolbox.call(_field(msg, "name", str, required=True), msg.get("args"))
    if kind == "retrieve":
        return toolbox.retrieve(_field(msg, "name", str, required=True), _field(msg, "query", str))
    if kind == "memory":
        op = msg.get("op")
        if op not in ("read", "write"):
            raise _protocol_error("memory op must be read or write")
        return toolbox.memory(op, _field(msg, "key", str, required=op == "write"), msg.get("value"))
    if kind == "approval":
        return toolbox.approval(_field(msg, "name", str) or "required", _field(msg, "args", dict))
    if kind == "span":
        try:
            toolbox.record(
                _field(msg, "span_type", str, required=True), _field(msg, "name", str, required=True),
                status=_field(msg, "status", str) or "succeeded", args=_field(msg, "args", dict),
                result=msg.get("result"), error=_field(msg, "error", str),
                input_tokens=_field(msg, "input_tokens", int), output_tokens=_field(msg, "output_tokens", int),
                cost_usd=_field(msg, "cost_usd", (int, float)), duration_ms=_field(msg, "duration_ms", (int, float)),
                attributes=_field(msg, "attributes", dict))
        except (ValueError, ValidationError) as exc:
            raise _protocol_error(f"span: {str(exc).splitlines()[0]}") from None
        return None
    raise _protocol_error(f"unknown message type {str(kind)[:60]!r}")


def _final(msg: dict[str, Any]) -> dict[str, Any]:
    allowed = {"type", *_FINAL_STR, *_FINAL_INT, "cost_usd"}
    unknown = sorted(set(msg) - allowed)
    if unknown:
        raise _protocol_error(f"final: unknown keys {', '.join(k[:40] for k in unknown[:5])}")
    out: dict[str, Any] = {k: _field(msg, k, str) for k in _FINAL_STR}
    out.update({k: _field(msg, k, int) for k in _FINAL_INT})
    out["cost_usd"] = _field(msg, "cost_usd", (int, float))
    for key in (*_FINAL_INT, "cost_usd"):
        # refused, not coerced: the run's budgets are judged on these (see `measure_problem`)
        problem = measure_problem(out[key])
        if problem is not None:
            raise HarnessError(f"final result: {key} is {problem}")
    return out


class _Constant(str):
    """NaN, Infinity or -Infinity, as Python's json module writes them (JSON has no such numbers)."""


def _bad_number(line: bytes) -> str | None:
    """Why a line that is not strict JSON is still a refused message: a protocol message with
    NaN, Infinity or an out-of-range number in a field, named; None when it is not that."""
    try:
        msg = json.loads(line, parse_constant=_Constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(msg, dict):
        return None
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in reversed(msg.items())]
    while stack:  # depth first, in document order; linear in the message's size
        path, value = stack.pop()
        if isinstance(value, _Constant) or (isinstance(value, float) and not math.isfinite(value)):
            shown = "NaN" if value == "NaN" or (isinstance(value, float) and math.isnan(value)) else "infinite"
            what = "final result" if msg.get("type") == "final" else f"{str(msg.get('type'))[:40]} message"
            return f"{what}: {path[:80]} is {shown}"
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None


def _receive(transport: Transport, deadline: float) -> dict[str, Any] | None:
    line = transport.lines.readline(deadline)
    if line is None:
        return None
    try:
        msg = orjson.loads(line)
    except orjson.JSONDecodeError:
        bad = _bad_number(line)  # a clearer reason than "not a protocol message"; the run is an error either way
        if bad is not None:
            raise HarnessError(bad) from None
        raise HarnessError(f"the agent wrote something that is not a protocol message: {show(line)}") from None
    if not isinstance(msg, dict):
        raise HarnessError(f"the agent wrote something that is not a protocol message: {show(line)}")
    return msg


def _send(transport: Transport, msg: dict[str, Any], deadline: float) -> None:
    data = orjson.dumps(msg, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n"
    transport.lines.write(data, deadline)


def _converse(transport: Transport, toolbox: Toolbox, request: dict[str, Any],
              deadline: float) -> dict[str, Any]:
    """Serve the agent's requests until its final result."""
    # the request goes out before the run has said hello: one round trip less per run
    _send(transport, request, deadline)
    transport.started(deadline)
    while True:
        msg = _receive(transport, deadline)
        if msg is None:
            raise HarnessError(transport.ended(), quote_log=True)
        kind = msg.get("type")
        if kind == "final":
            final = _final(msg)
            problem = transport.finish(deadline)
            if problem is not None:
                raise HarnessError(problem, quote_log=True)
            return final
        if kind == "error":
            raise HarnessError(f"the agent failed: {str(msg.get('message'))[:500]}")
        if len(toolbox.spans) >= MAX_SPANS:
            raise HarnessError(f"the agent made more than {MAX_SPANS:,} requests in one run")
        reply = _answer(msg, toolbox)
        if reply is not None:
            _send(transport, reply.to_message(msg.get("id")), deadline)


def _sum(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class Session:
    """An agent ready to run fixtures from one root: its adapter and tool manifest.

    Thread-safe: `run` may be called from many threads at once. Close it (or use
    it as a context manager) to stop the fork server.
    """

    def __init__(self, root: Path, agent: AgentConfig, parallel: int = 1) -> None:
        self.root = root.resolve()
        self.agent = agent
        self.manifest = agent_manifest(self.root, agent)
        self.tool_schemas = self.manifest.schemas() if self.manifest is not None else None
        self.adapter = make_adapter(self.root, agent, parallel)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.adapter.close()

    def run(self, fixture: Fixture, run_number: int = 1) -> Run:
        """One run of the agent on `fixture`; HarnessError when it yields no judgeable result."""
        started = time.monotonic()
        deadline = started + self.agent.timeout_s
        toolbox = Toolbox(fixture.context, self.manifest)
        request = {"protocol": PROTOCOL, "type": "run", "fixture_id": fixture.id, "run": run_number,
                   "input": fixture.input, "context": agent_context(fixture.context),
                   "tools": self.manifest.describe() if self.manifest is not None else []}
        final = self._converse(fixture, toolbox, request, deadline)
        spans = toolbox.spans
        return Run(
            run_id=f"{fixture.id}#{run_number}", spans=spans,
            stop_reason=final["stop_reason"], final_status=final["final_status"], output=final["output"],
            route=final["route"],
            input_tokens=final["input_tokens"] if final["input_tokens"] is not None
            else _sum([s.input_tokens for s in spans]),
            output_tokens=final["output_tokens"] if final["output_tokens"] is not None
            else _sum([s.output_tokens for s in spans]),
            cost_usd=final["cost_usd"] if final["cost_usd"] is not None else _sum([s.cost_usd for s in spans]),
            latency_ms=round((time.monotonic() - started) * 1000.0, 3),
            source=f"harness:{self.adapter.name}",
        )

    def _converse(self, fixture: Fixture, toolbox: Toolbox, request: dict[str, Any],
                  deadline: float) -> dict[str, Any]:
        """The agent's final result, in a fresh HOME; whatever happens, the run's processes are gone after."""
        home = Path(tempfile.mkdtemp(prefix="evalloop-agent-home-"))
        transport: Transport | None = None
        failure: HarnessError | None = None
        final: dict[str, Any] | None = None
        try:
            transport = self.adapter.start(deadline, home)
            final = _converse(transport, toolbox, request, deadline)
        except TimeoutError:
            failure = HarnessError(f"timed out after {self.agent.timeout_s:g}s (agent.timeout_s)"
                                   + _last_span(toolbox), quote_log=True)
        except HarnessError as exc:
            failure = HarnessError(exc.reason + _last_span(toolbox), quote_log=exc.quote_log)
        finally:
            if transport is not None:
                transport.close()  # the whole process group, however the run ended; the log is complete after
            shutil.rmtree(home, ignore_errors=True)
        if transport is not None:
            overflow = transport.log.overflow()
            if overflow is not None:  # the cause of whatever else went wrong, or wrong by itself
                failure = HarnessError(overflow + _last_span(toolbox))
            elif failure is not None and failure.quote_log:
                failure = HarnessError(failure.reason + log_suffix(transport.log.tail()))
        if failure is not None:
            raise failure
        assert final is not None
        return final


def _last_span(toolbox: Toolbox) -> str:
    if not toolbox.spans:
        return " (before any span)"
    return f" (after {len(toolbox.spans)} spans, the last {toolbox.spans[-1].ref})"


def run_fixture(root: Path, agent: AgentConfig, fixture: Fixture, *, run_number: int = 1) -> Run:
    """Run one fixture once; see `Session` to run many with one adapter, `run_batch` to run them in parallel."""
    with Session(root, agent) as session:
        return session.run(fixture, run_number)


__all__ = ["MAX_SPANS", "Session", "run_fixture"]

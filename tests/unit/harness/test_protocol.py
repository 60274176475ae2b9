"""One run of the agent on a fixture: Python entrypoints (forked and fresh interpreters) and a
command speaking the JSON protocol, and every way they can fail."""

from __future__ import annotations

import ast
import os
import sys
import textwrap
from pathlib import Path

import pytest

import evalloop.harness
from evalloop.gate.execute import run_fixtures
from evalloop.harness.channel import HarnessError
from evalloop.harness.protocol import Session, run_fixture
from evalloop.model.config import AgentConfig, Config
from tests.support import write
from tests.unit.harness.agents import (
    ORDER,
    command_agent,
    contained,
    contained_agent,
    fixture,
    python_agent,
    raw_agent,
    repo,
)


@pytest.mark.parametrize("isolation", ["fork", "process"])
def test_python_entrypoint_run(tmp_path: Path, isolation: str) -> None:
    root = repo(tmp_path)
    ctx = {**ORDER, "tool_faults": [{"tool": "read_order", "kind": "timeout", "call": 1}]}
    run = run_fixture(root, python_agent(isolation), fixture(context=ctx).fixture)
    refs = [(s.ref, s.status) for s in run.spans]
    assert refs == [("tool:read_order", "failed"), ("tool:read_order", "succeeded"), ("tool:read_order", "failed"),
                    ("tool:launch_rocket", "failed"), ("tool:issue_refund", "succeeded"),
                    ("policy:refund_threshold", "succeeded"), ("model:m1", "succeeded")]
    # the injected timeout, the schema-violating call and the unknown tool were all answered with errors
    assert "notes=timeout,invalid_args,unknown_tool" in (run.output or "")
    refund = run.spans[4]
    assert refund.args == {"order_id": "o1", "amount": 640}
    assert refund.attributes["evalloop.intent"] is True and refund.attributes["evalloop.executed"] is False
    assert "refund={'intent_recorded': True, 'executed': False}" in (run.output or "")
    assert "cwd_is_root=True" in (run.output or "")
    assert (run.stop_reason, run.final_status, run.route) == ("done", "resolved", "refund_assist")
    assert run.cost_usd == pytest.approx(0.002) and run.input_tokens == 100
    assert run.latency_ms is not None and run.latency_ms > 0
    assert run.source == f"harness:python-{isolation}"


def test_command_agent_speaks_the_protocol(tmp_path: Path) -> None:
    root = repo(tmp_path)
    run = run_fixture(root, command_agent(), fixture(context={**ORDER, "approvals": {"required": "approved"}}).fixture)
    assert [s.ref for s in run.spans] == ["tool:read_order", "approval:required", "message:customer_update"]
    assert run.output == "amount=640 decision=approved"
    assert run.stop_reason == "needs_human_approval"
    assert run.cost_usd is None  # the agent reported no usage: not measured, not zero


@pytest.mark.parametrize(("agent", "how", "reason"), [
    ("command", "garbage", "not a protocol message: 'Sure! Here is the refund"),
    ("command", "crash", "exited (status 3) without a final result"),
    ("command", "nonzero", "exited with status 5 after its final result"),
    ("command", "half", "output ended inside a message"),
    ("command", "unknown_type", "protocol error: unknown message type 'launch'"),
    ("command", "runaway", "more than 10,000 requests in one run"),
    ("command", "linger", "did not exit after its final result"),
    ("fork", "crash", "exited without a final result"),
    ("fork", "raise", "RuntimeError: boom (at probe_agent.py:"),
    ("fork", "exit", "the agent called sys.exit(4)"),
    ("process", "crash", "exited (status 3) without a final result"),
    ("process", "raise", "RuntimeError: boom"),
])
def test_broken_agents_are_errors_with_the_reason(tmp_path: Path, agent: str, how: str, reason: str) -> None:
    root = repo(tmp_path)
    config = command_agent(2.0) if agent == "command" else python_agent(agent)
    with pytest.raises(HarnessError) as err:
        run_fixture(root, config, fixture(input={"how": how}, context=ORDER).fixture)
    assert reason in err.value.reason


def test_each_root_runs_its_own_code(tmp_path: Path) -> None:
    """The gate runs the base revision from a worktree: same module name, other code."""
    roots = [repo(tmp_path / "base", "BASE"), repo(tmp_path / "head", "HEAD")]
    for isolation in ("fork", "process"):
        outputs = []
        for root in (*roots, roots[0]):
            with Session(root, python_agent(isolation)) as session:
                outputs.append((session.run(fixture(context=ORDER).fixture).output or "").split()[0])
        assert outputs == ["v=BASE", "v=HEAD", "v=BASE"]
    assert "probe_agent" not in sys.modules  # nothing of the agent was imported here


def test_agent_config_needs_exactly_one_way_to_run() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        AgentConfig()
    with pytest.raises(ValueError, match="exactly one"):
        AgentConfig(entrypoint="a:b", command=["x"])
    with pytest.raises(ValueError):
        AgentConfig(entrypoint="not an entrypoint")


def test_agent_side_library_is_light() -> None:
    """Every agent process imports evalloop.agent: it must not drag in the CLI's dependencies."""
    code = "import sys, evalloop.agent; print(sorted(m for m in ('pydantic', 'yaml', 'click') if m in sys.modules))"
    out = os.popen(f'"{sys.executable}" -P -c "{code}"').read().strip()
    assert out == "[]"


def test_python_command_agents_can_use_serve(tmp_path: Path) -> None:
    write(tmp_path / "served.py", textwrap.dedent("""\
        from evalloop.agent import serve

        def agent(request, tools):
            tools.record("workflow", "start")
            return {"stop_reason": "done", "output": str(tools.retrieve("kb"))}

        serve(agent)
        """))
    run = run_fixture(tmp_path, AgentConfig(command=[sys.executable, "served.py"]),
                      fixture(context={"retrieved_documents": [{"index": "kb", "text": "t"}]}).fixture)
    assert [s.ref for s in run.spans] == ["workflow:start", "retrieval:kb"]
    assert run.output == "[{'index': 'kb', 'text': 't'}]"


def test_arguments_that_are_not_an_object_are_answered_with_an_error(tmp_path: Path) -> None:
    run = run_fixture(repo(tmp_path), command_agent(), fixture(input={"how": "list_args"}, context=ORDER).fixture)
    span = run.spans[0]
    assert (span.ref, span.status, span.args) == ("tool:read_order", "failed", None)
    assert span.attributes["evalloop.raw_args"] == [1, 2]
    assert '"kind":"invalid_args"' in (run.output or "")


@pytest.mark.parametrize(("agent", "how", "reason"), [
    ("fork", "nan_cost", "final result: cost_usd is NaN"),
    ("process", "nan_cost", "final result: cost_usd is NaN"),
    ("command", "infinite_cost", "final result: cost_usd is infinite"),
    ("fork", "negative_tokens", "final result: input_tokens is negative (-5)"),
    ("fork", "negative_duration", "protocol error: span: duration_ms is negative (-30.0)"),
    ("raw", "nan_cost", "final result: cost_usd is NaN"),
    ("raw", "infinity_cost", "final result: cost_usd is infinite"),
    ("raw", "huge_cost", "final result: cost_usd is infinite"),
    ("raw", "string_cost", "protocol error: final: 'cost_usd' has the wrong type (str)"),
    ("raw", "float_tokens", "protocol error: final: 'output_tokens' has the wrong type (float)"),
    ("raw", "nan_span", "span message: cost_usd is NaN"),
])
def test_numbers_a_budget_cannot_judge_make_the_run_an_error(tmp_path: Path, agent: str, how: str,
                                                              reason: str) -> None:
    root = contained(tmp_path)
    config = raw_agent() if agent == "raw" else contained_agent(agent)
    budget = {"budget": {"max_cost_usd": 1.0, "max_tokens": 1000}}
    results = run_fixtures(root, Config(agent=config), [fixture(input={"how": how}, expected=budget)])
    assert results[0].status == "error"
    assert (results[0].error or "").startswith(reason), results[0].error


def test_the_harness_returns_runs_and_never_judges_them() -> None:
    """Judging is the gate's (evalloop.gate.execute): no module of the harness imports the evaluator,
    not even inside a function."""
    harness = Path(evalloop.harness.__file__).parent
    imported = {}
    for module in sorted(harness.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported[module.name] = [*imported.get(module.name, []), *(a.name for a in node.names)]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported[module.name] = [*imported.get(module.name, []), node.module]
    assert "protocol.py" in imported
    judging = {name: [m for m in mods if m.startswith(("evalloop.evaluate", "evalloop.gate"))]
               for name, mods in imported.items()}
    assert not any(judging.values()), judging

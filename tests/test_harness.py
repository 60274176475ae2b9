"""The agent harness with real agent processes: Python entrypoints (forked and fresh
interpreters) and a command speaking the JSON protocol, and every way they can fail."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from evalloop.config import AgentConfig, Config
from evalloop.fixtures import Fixture
from evalloop.harness import HarnessError, LoadedFixture, Session, run_fixture, run_fixtures
from tests.conftest import write

MANIFEST = """\
tools:
  - name: read_order
    parameters:
      type: object
      properties: {order_id: {type: string}}
      required: [order_id]
  - name: issue_refund
    side_effect: true
    parameters:
      type: object
      properties: {order_id: {type: string}, amount: {type: number}}
      required: [order_id, amount]
"""

# A Python agent whose behaviour the fixture input picks.
PROBE = """\
import os, sys, time
from evalloop.agent import ToolError

VERSION = "{version}"
RUNS_SEEN = []  # module state: every run must start without the previous runs' state


def run(request, tools):
    RUNS_SEEN.append(request["run"])
    how = request["input"].get("how", "ok")
    if how == "hang":
        open("hang.pid", "w").write(str(os.getpid()))
        time.sleep(60)
    if how == "crash":
        os._exit(3)
    if how == "raise":
        raise RuntimeError("boom")
    if how == "exit":
        sys.exit(4)
    if how == "flaky" and request["run"] % 2 == 0:
        return {{"stop_reason": "gave_up", "output": "x"}}
    print("chatter on stdout must not break the protocol")
    notes = []
    for attempt in range(3):
        try:
            order = tools.call("read_order", order_id=request["input"].get("order_id", "o1"))
            break
        except ToolError as exc:
            notes.append(exc.kind)
    else:
        order = {{}}
    if not request["input"].get("clean"):
        try:
            tools.call("read_order", order_id=123)
        except ToolError as exc:
            notes.append(exc.kind)
        try:
            tools.call("launch_rocket")
        except ToolError as exc:
            notes.append(exc.kind)
    refund = tools.call("issue_refund", order_id="o1", amount=order.get("amount", 1))
    tools.record("policy", "refund_threshold", args={{"amount": order.get("amount")}})
    tools.model("m1", input_tokens=100, output_tokens=20, cost_usd=0.002)
    at_root = os.getcwd() == os.environ["EVALLOOP_ROOT"]
    return {{"stop_reason": "done", "final_status": "resolved", "route": "refund_assist",
            "output": f"v={{VERSION}} runs_seen={{len(RUNS_SEEN)}} cwd_is_root={{at_root}} "
                      f"notes={{','.join(notes)}} refund={{refund}}"}}
"""

# An agent in "any language": raw JSON Lines on stdin/stdout, no evalloop import.
COMMAND = """\
import json, os, sys, time

request = json.loads(sys.stdin.readline())
how = request["input"].get("how", "ok")

def send(msg):
    sys.stdout.write(json.dumps(msg) + "\\n")
    sys.stdout.flush()

if how == "garbage":
    print("Sure! Here is the refund you asked for.")
    sys.stdin.readline()
if how == "hang":
    open("hang.pid", "w").write(str(os.getpid()))
    time.sleep(60)
if how == "crash":
    sys.exit(3)
if how == "half":
    sys.stdout.write('{"type": "tool_call", "id": 1, "name": "read_o')
    sys.stdout.flush()
    sys.exit(0)
if how == "unknown_type":
    send({"type": "launch", "id": 1})
    sys.stdin.readline()
if how == "runaway":
    for _ in range(10_001):
        sys.stdout.write('{"type": "span", "span_type": "workflow", "name": "again"}\\n')
    sys.stdout.flush()
    sys.stdin.readline()
if how == "list_args":
    send({"type": "tool_call", "id": 1, "name": "read_order", "args": [1, 2]})
    send({"type": "final", "output": sys.stdin.readline()})
    sys.exit(0)
send({"type": "tool_call", "id": 1, "name": "read_order", "args": {"order_id": "o1"}})
reply = json.loads(sys.stdin.readline())
send({"type": "approval", "id": 2, "name": "required", "args": {"order_id": "o1"}})
decision = json.loads(sys.stdin.readline())["result"]["decision"]
send({"type": "span", "span_type": "message", "name": "customer_update", "result": "later"})
send({"type": "final", "stop_reason": "needs_human_approval", "final_status": "needs_human",
      "output": f"amount={reply['result']['amount']} decision={decision}"})
if how == "nonzero":
    sys.exit(5)
if how == "linger":
    time.sleep(60)
"""


def fixture(fid: str = "f1", **data: Any) -> LoadedFixture:
    return LoadedFixture(f"fixtures/{fid}.yaml", Fixture.model_validate({"id": fid, **data}))


def repo(tmp_path: Path, version: str = "A") -> Path:
    write(tmp_path / "agent" / "probe_agent.py", PROBE.format(version=version))
    write(tmp_path / "agent" / "cmd_agent.py", COMMAND)
    write(tmp_path / "tools.yaml", MANIFEST)
    return tmp_path


def python_agent(isolation: str = "fork", timeout_s: float = 20.0) -> AgentConfig:
    return AgentConfig(entrypoint="probe_agent:run", python_path=["agent"], tools="tools.yaml",
                       isolation=isolation, timeout_s=timeout_s)  # type: ignore[arg-type]


def command_agent(timeout_s: float = 20.0) -> AgentConfig:
    return AgentConfig(command=[sys.executable, "agent/cmd_agent.py"], tools="tools.yaml", timeout_s=timeout_s)


ORDER = {"tool_outputs": {"read_order": {"order_id": "o1", "amount": 640}}}


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


@pytest.mark.parametrize("agent", ["command", "fork"])
def test_a_hung_agent_times_out_and_is_killed(tmp_path: Path, agent: str) -> None:
    root = repo(tmp_path)
    config = command_agent(0.8) if agent == "command" else python_agent("fork", 0.8)
    started = time.monotonic()
    results = run_fixtures(root, Config(agent=config), [fixture(input={"how": "hang"}, context=ORDER)])
    assert time.monotonic() - started < 8
    assert results[0].status == "error"
    assert "timed out after 0.8s" in (results[0].error or "")
    pid = int((root / "hang.pid").read_text())
    for _ in range(50):  # SIGKILL is asynchronous
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the hung agent is still running")


def test_results_k_of_n_and_fresh_state_per_run(tmp_path: Path) -> None:
    root = repo(tmp_path)
    want = {"output_must_contain": ["runs_seen=1"]}  # no run sees an earlier one
    fixtures = [
        fixture("steady", runs=3, input={"clean": True}, context=ORDER, expected=want),
        fixture("flaky", runs=3, input={"how": "flaky", "clean": True}, context=ORDER, expected=want),
        fixture("tolerant", runs=3, min_passes=2, input={"how": "flaky", "clean": True}, context=ORDER,
                expected=want),
        fixture("failing", input={"clean": True}, context=ORDER, expected={"stop_reason": "something_else"}),
        fixture("broken", runs=2, input={"how": "raise"}, context=ORDER),
    ]
    results = run_fixtures(root, Config(agent=python_agent(), defaults={"owner": "team-x"}), fixtures, jobs=3)
    got = {r.id: (r.status, r.passes, r.runs) for r in results}
    assert got == {"steady": ("pass", 3, 3), "flaky": ("flaky", 2, 3), "tolerant": ("pass", 2, 3),
                   "failing": ("fail", 0, 1), "broken": ("error", 0, 2)}
    assert [r.id for r in results] == ["steady", "flaky", "tolerant", "failing", "broken"]
    failing = results[3]
    assert failing.owner == "team-x" and failing.severity == "blocking" and failing.path == "fixtures/failing.yaml"
    assert failing.failures[0]["kind"] == "stop_reason"
    assert set(failing.failures[0]) == {"kind", "message", "evidence"}
    assert results[4].error is not None and results[4].error.startswith("run 1 of 2: the agent failed: RuntimeError")


def test_schema_violating_calls_fail_the_trajectory(tmp_path: Path) -> None:
    root = repo(tmp_path)
    results = run_fixtures(root, Config(agent=python_agent()), [fixture(context=ORDER)])
    kinds = [f["kind"] for f in results[0].failures]
    assert results[0].status == "fail" and kinds == ["tool_args_schema"]


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


def test_gate_call_form_with_paths_and_unreadable_fixtures(tmp_path: Path) -> None:
    root = repo(tmp_path)
    write(root / "fixtures/good.yaml", "id: good\ncontext:\n  tool_outputs: {read_order: {amount: 1}}\n"
          "expected: {stop_reason: done}\n")
    write(root / "fixtures/bad.yaml", "id: bad\nseverity: blocker\n")
    config = Config(agent=AgentConfig(command=[sys.executable, "agent/cmd_agent.py"]))
    results = run_fixtures(root, config, ["fixtures/good.yaml", root / "fixtures/bad.yaml"])
    assert [(r.id, r.status, r.path) for r in results] == [("good", "fail", "fixtures/good.yaml"),
                                                           ("bad", "error", "fixtures/bad.yaml")]
    assert "fixture unreadable" in (results[1].error or "")


def test_no_agent_or_a_broken_setup_fails_closed(tmp_path: Path) -> None:
    root = repo(tmp_path)
    results = run_fixtures(root, Config(), [fixture()])
    assert results[0].status == "error" and "no agent configured" in (results[0].error or "")
    missing = AgentConfig(command=["agent"], tools="nope.yaml")
    results = run_fixtures(root, Config(agent=missing), [fixture()])
    assert results[0].status == "error" and "tool manifest not found" in (results[0].error or "")
    gone = AgentConfig(command=["./no-such-agent"])
    results = run_fixtures(root, Config(agent=gone), [fixture()])
    assert results[0].status == "error" and "cannot start the agent" in (results[0].error or "")
    broken_import = AgentConfig(entrypoint="no_such_module:run", python_path=["agent"])
    results = run_fixtures(root, Config(agent=broken_import), [fixture(), fixture("f2")], jobs=2)
    assert [r.status for r in results] == ["error", "error"]
    assert "cannot load the agent no_such_module:run: ModuleNotFoundError" in (results[0].error or "")


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

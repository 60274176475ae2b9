"""The agent harness with real agent processes: Python entrypoints (forked and fresh
interpreters) and a command speaking the JSON protocol, and every way they can fail."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import evalloop
from evalloop.harness.runner import (
    ALLOWED_ENV,
    MAX_LOG_BYTES,
    MAX_OUTPUT_BYTES,
    HarnessError,
    LoadedFixture,
    Session,
    agent_environment,
    run_fixture,
    run_fixtures,
)
from evalloop.model.config import AgentConfig, Config
from evalloop.model.fixture import Fixture
from tests.support import DATA as TEST_DATA
from tests.support import write

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
    print("Sure! Here is the refund you asked for.", flush=True)
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
    # the probe also calls launch_rocket, which the manifest does not list
    assert results[0].status == "fail" and kinds == ["tool_args_schema", "unknown_tool"]


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


# --------------------------------------------------------------------------- containment (issue 9)
# The agent is the pull request's code: it gets an allow-listed environment and a HOME of
# its own, nothing it starts outlives the run, its output is capped, an unknown tool fails
# the run and numbers a budget cannot judge make the run an error.

DATA = TEST_DATA / "harness"
SECRETS = {"GITHUB_TOKEN": "ghs_secret", "GITHUB_ENV": "/runner/set_env", "GITHUB_PATH": "/runner/add_path",
           "GITHUB_OUTPUT": "/runner/set_output", "GITHUB_STEP_SUMMARY": "/runner/summary",
           "GITHUB_STATE": "/runner/state", "ACTIONS_RUNTIME_TOKEN": "rt", "ACTIONS_ID_TOKEN_REQUEST_URL": "u",
           "RUNNER_TEMP": "/runner/tmp", "NPM_TOKEN": "npm", "AWS_SECRET_ACCESS_KEY": "aws", "PYTHONSTARTUP": "x.py"}
MODES = ["command", "fork", "process"]


def contained(tmp_path: Path) -> Path:
    (tmp_path / "agent").mkdir(parents=True, exist_ok=True)
    for name in ("contained_agent.py", "raw_agent.py"):
        shutil.copyfile(DATA / name, tmp_path / "agent" / name)
    write(tmp_path / "tools.yaml", MANIFEST)
    return tmp_path


def contained_agent(mode: str, timeout_s: float = 20.0, **kw: Any) -> AgentConfig:
    if mode == "command":
        return AgentConfig(command=[sys.executable, "agent/contained_agent.py"], tools="tools.yaml",
                           timeout_s=timeout_s, **kw)
    return AgentConfig(entrypoint="contained_agent:run", python_path=["agent"], tools="tools.yaml",
                       isolation=mode, timeout_s=timeout_s, **kw)  # type: ignore[arg-type]


def raw_agent(timeout_s: float = 20.0) -> AgentConfig:
    return AgentConfig(command=[sys.executable, "agent/raw_agent.py"], tools="tools.yaml", timeout_s=timeout_s)


def gone(pid: int) -> bool:
    """Whether the process is dead; SIGKILL is asynchronous, so give it a moment (bounded)."""
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(OSError):  # killed, awaiting its reaper: dead already
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("mode", MODES)
def test_the_agent_gets_an_allow_listed_environment_and_its_own_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TZ", "Europe/Paris")  # allow-listed: passed as it is
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # passed only because the operator names it
    monkeypatch.setenv("EVALLOOP_AGENT_PASS_ENV", "OPENAI_API_KEY, MISSING_ONE")
    root = contained(tmp_path)
    reports = []
    with Session(root, contained_agent(mode, env={"MODEL": "m1", "GITHUB_REPOSITORY": "o/r"})) as session:
        for n in (1, 2):
            run = session.run(fixture(input={"how": "env"}).fixture, n)
            reports.append(json.loads(run.output or ""))
    for report in reports:
        for seen in ("env", "import_env", "child_env"):
            env = report[seen]
            assert not set(SECRETS) & set(env), seen
            assert (env["MODEL"], env["TZ"], env["OPENAI_API_KEY"]) == ("m1", "Europe/Paris", "sk-test")
            assert env["GITHUB_REPOSITORY"] == "o/r"  # agent.env adds what it names, even GITHUB_*
            assert "MISSING_ONE" not in env and "EVALLOOP_AGENT_PASS_ENV" not in env
            assert env["HOME"] != os.environ["HOME"]
            assert env["XDG_CACHE_HOME"] == str(Path(env["HOME"]) / ".cache") != os.environ["XDG_CACHE_HOME"]
            # nothing beyond the allow-list, agent.env, the pass-through and the harness's own
            extra = {k for k in env if not k.startswith("LC_")} - {
                *ALLOWED_ENV, "MODEL", "GITHUB_REPOSITORY", "OPENAI_API_KEY", "HOME", "XDG_CACHE_HOME",
                "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "EVALLOOP_PROTOCOL", "EVALLOOP_ROOT",
                "EVALLOOP_PYTHON_PATH", "PYTHONPATH"}
            assert not extra, (seen, extra)
        assert report["env"] == report["child_env"]  # the C-level environment too, not only os.environ
        assert report["home_entries"] == []  # fresh: the earlier run's file is not there
        assert not Path(report["env"]["HOME"]).exists()  # and gone after the run
    assert reports[0]["env"]["HOME"] != reports[1]["env"]["HOME"]


@pytest.mark.parametrize(("env", "pass_env", "message"), [
    ({"HOME": "/home/someone"}, None, "agent.env sets HOME, which the harness sets itself"),
    ({"XDG_CACHE_HOME": "/c"}, None, "agent.env sets XDG_CACHE_HOME"),
    ({}, "OPENAI_API_KEY,GITHUB_TOKEN", "EVALLOOP_AGENT_PASS_ENV names GITHUB_TOKEN, which the agent never gets"),
    ({}, "ACTIONS_RUNTIME_TOKEN", "names ACTIONS_RUNTIME_TOKEN"),
    ({}, "HF_TOKEN", "names HF_TOKEN"),
])
def test_environment_the_agent_cannot_be_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               env: dict[str, str], pass_env: str | None, message: str) -> None:
    if pass_env is not None:
        monkeypatch.setenv("EVALLOOP_AGENT_PASS_ENV", pass_env)
    root = contained(tmp_path)
    results = run_fixtures(root, Config(agent=contained_agent("command", env=env)), [fixture(input={"how": "env"})])
    assert results[0].status == "error" and message in (results[0].error or "")


def test_a_python_agent_can_import_this_evalloop_and_nothing_inside_it_as_top_level(tmp_path: Path) -> None:
    env = agent_environment(tmp_path, AgentConfig(entrypoint="agent:run"), {})
    if "PYTHONPATH" in env:  # a source checkout: the folder holding the package, never the package itself
        assert Path(env["PYTHONPATH"]) == Path(evalloop.__file__).resolve().parent.parent
        assert not (Path(env["PYTHONPATH"]) / "agent.py").exists()


def test_an_entrypoint_gets_python_path_not_pythonpath(tmp_path: Path) -> None:
    results = run_fixtures(contained(tmp_path), Config(agent=contained_agent("fork", env={"PYTHONPATH": "x"})),
                           [fixture(input={"how": "env"})])
    assert "agent.env sets PYTHONPATH, which the harness sets itself (use agent.python_path)" in (
        results[0].error or "")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("how", "status"), [("sleeper", "pass"), ("daemon", "pass"), ("sleeper_crash", "error"),
                                             ("sleeper_raise", "error")])
def test_nothing_the_agent_started_outlives_the_run(tmp_path: Path, mode: str, how: str, status: str) -> None:
    root = contained(tmp_path)
    pid_file = tmp_path / "child.pid"
    results = run_fixtures(root, Config(agent=contained_agent(mode)),
                           [fixture(input={"how": how, "pid_file": str(pid_file)})])
    assert results[0].status == status, results[0].error
    assert gone(int(pid_file.read_text())), "the agent's child survived the run"


@pytest.mark.parametrize("mode", ["command", "fork"])
def test_a_timed_out_agents_children_are_killed_too(tmp_path: Path, mode: str) -> None:
    pid_file = tmp_path / "child.pid"
    results = run_fixtures(contained(tmp_path), Config(agent=contained_agent(mode, timeout_s=3.0)),
                           [fixture(input={"how": "sleeper_hang", "pid_file": str(pid_file)})])
    assert results[0].status == "error" and "timed out after 3s" in (results[0].error or "")
    assert gone(int(pid_file.read_text()))


def test_a_child_holding_the_protocol_output_neither_hangs_the_run_nor_survives(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # timeout_s above the harness's grace after a final result: an error here would be that wait ending
    results = run_fixtures(contained(tmp_path), Config(agent=raw_agent(timeout_s=30.0)),
                           [fixture(input={"how": "holder", "pid_file": str(pid_file)})])
    assert results[0].status == "pass", results[0].error
    assert gone(int(pid_file.read_text()))


@pytest.mark.parametrize(("agent", "how", "reason"), [
    ("raw", "flood", f"the agent wrote more than {MAX_OUTPUT_BYTES:,} bytes of protocol output"),
    ("raw", "flood_messages", f"the agent wrote more than {MAX_OUTPUT_BYTES:,} bytes of protocol output"),
    ("command", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("command", "endless_log", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("process", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stderr"),
    ("fork", "log_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
    ("fork", "stdout_flood", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
    ("fork", "endless_log", f"the agent wrote more than {MAX_LOG_BYTES:,} bytes to stdout and stderr"),
])
def test_output_beyond_the_caps_is_an_error(tmp_path: Path, agent: str, how: str, reason: str) -> None:
    root = contained(tmp_path)
    # an endless log is stopped as soon as it overflows: were it not, this run would take its whole timeout
    config = raw_agent() if agent == "raw" else contained_agent(agent, timeout_s=60.0)
    results = run_fixtures(root, Config(agent=config), [fixture(input={"how": how})])
    assert results[0].status == "error"
    assert (results[0].error or "").startswith(reason), results[0].error
    assert "\n" not in (results[0].error or "")


def test_a_long_log_is_fine_and_its_end_is_quoted(tmp_path: Path) -> None:
    write(tmp_path / "agent.py", textwrap.dedent("""\
        import sys
        for i in range(20_000):
            print(f"log line {i}", file=sys.stderr)  # ~300 KiB: kept only in part, not an error
        sys.exit(3)
        """))
    with pytest.raises(HarnessError) as err:
        run_fixture(tmp_path, AgentConfig(command=[sys.executable, "agent.py"]), fixture().fixture)
    assert "exited (status 3) without a final result (before any span); its stderr ends: " in err.value.reason
    assert err.value.reason.endswith("log line 19997 | log line 19998 | log line 19999")


@pytest.mark.parametrize("mode", MODES)
def test_a_call_of_a_tool_missing_from_the_manifest_fails_the_run(tmp_path: Path, mode: str) -> None:
    root = contained(tmp_path)
    ctx = {"tool_outputs": {"read_order": {"amount": 1}}}
    results = run_fixtures(root, Config(agent=contained_agent(mode)),
                           [fixture(input={"how": "unknown_tool"}, context=ctx, expected={"stop_reason": "done"})])
    assert results[0].status == "fail"
    (failure,) = results[0].failures
    assert failure["kind"] == "unknown_tool"
    assert failure["message"] == ("tool wipe_disk is not in the tool manifest (tools.yaml): called at span 1 "
                                  "(tool call #2)")
    evidence = failure["evidence"]
    assert (evidence["span_index"], evidence["ref"], evidence["actual"]) == (1, "tool:wipe_disk", "wipe_disk")
    assert evidence["expected"] == ["read_order", "issue_refund"]
    assert evidence["details"] == {"manifest": "tools.yaml", "spans": [1], "tool_calls": [2]}


def test_without_a_manifest_any_tool_name_is_allowed(tmp_path: Path) -> None:
    root = contained(tmp_path)
    agent = AgentConfig(command=[sys.executable, "agent/contained_agent.py"])
    results = run_fixtures(root, Config(agent=agent), [fixture(input={"how": "unknown_tool"},
                                                              context={"tool_outputs": {"read_order": {}}})])
    assert results[0].status == "pass"


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

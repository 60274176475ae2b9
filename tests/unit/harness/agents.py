"""Agents for the harness's tests, and the fixtures and configs that run them: a Python
entrypoint whose behaviour the fixture input picks (`PROBE`), an agent in "any language"
speaking raw JSON Lines (`COMMAND`), and the contained agents of tests/data/harness."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from evalloop.model.config import AgentConfig, Config
from evalloop.repo.fixtures import LoadedFixture, loaded
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


def fixture(fid: str = "f1", config: Config | None = None, **data: Any) -> LoadedFixture:
    """A fixture as the loader gives it: the config's defaults applied."""
    return loaded(f"fixtures/{fid}.yaml", {"id": fid, **data}, config or Config())


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


# The agent is the pull request's code: it gets an allow-listed environment and a HOME of
# its own, nothing it starts outlives the run, its output is capped, an unknown tool fails
# the run and numbers a budget cannot judge make the run an error.

DATA = TEST_DATA / "harness"
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

"""The agent's processes: a hung agent is killed, and nothing it started outlives the run or holds it up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from evalloop.gate.execute import run_fixtures
from evalloop.model.config import Config
from tests.unit.harness.agents import (
    MODES,
    ORDER,
    command_agent,
    contained,
    contained_agent,
    fixture,
    gone,
    python_agent,
    raw_agent,
    repo,
)


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

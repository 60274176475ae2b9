"""Fixtures run through real agents and judged: k-of-n results, schema and manifest violations,
unreadable fixtures and broken setups as error results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evalloop.gate.execute import FixtureOutcome, Recorder, execute, run_fixtures
from evalloop.model.config import AgentConfig, Config
from evalloop.model.results import FixtureResult
from tests.support import write
from tests.unit.harness.agents import (
    MODES,
    ORDER,
    contained,
    contained_agent,
    fixture,
    python_agent,
    repo,
)


def test_results_k_of_n_and_fresh_state_per_run(tmp_path: Path) -> None:
    root = repo(tmp_path)
    want = {"output_must_contain": ["runs_seen=1"]}  # no run sees an earlier one
    config = Config(agent=python_agent(), defaults={"owner": "team-x"})
    fixtures = [
        fixture("steady", config, runs=3, input={"clean": True}, context=ORDER, expected=want),
        fixture("flaky", config, runs=3, input={"how": "flaky", "clean": True}, context=ORDER, expected=want),
        fixture("tolerant", config, runs=3, min_passes=2, input={"how": "flaky", "clean": True}, context=ORDER,
                expected=want),
        fixture("failing", config, input={"clean": True}, context=ORDER, expected={"stop_reason": "something_else"}),
        fixture("broken", config, runs=2, input={"how": "raise"}, context=ORDER),
    ]
    results = run_fixtures(root, config, fixtures, jobs=3)
    got = {r.id: (r.status, r.passes, r.runs) for r in results}
    assert got == {"steady": ("pass", 3, 3), "flaky": ("flaky", 2, 3), "tolerant": ("pass", 2, 3),
                   "failing": ("fail", 0, 1), "broken": ("error", 0, 2)}
    assert [r.id for r in results] == ["steady", "flaky", "tolerant", "failing", "broken"]
    failing = results[3]
    assert failing.owner == "team-x" and failing.severity == "blocking" and failing.path == "fixtures/failing.yaml"
    assert failing.failures[0].kind == "stop_reason"
    assert set(failing.failures[0].model_dump()) == {"kind", "message", "evidence"}
    assert results[4].error is not None and results[4].error.startswith("run 1 of 2: the agent failed: RuntimeError")


def test_schema_violating_calls_fail_the_trajectory(tmp_path: Path) -> None:
    root = repo(tmp_path)
    results = run_fixtures(root, Config(agent=python_agent()), [fixture(context=ORDER)])
    kinds = [f.kind for f in results[0].failures]
    # the probe also calls launch_rocket, which the manifest does not list
    assert results[0].status == "fail" and kinds == ["tool_args_schema", "unknown_tool"]


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


@pytest.mark.parametrize("mode", MODES)
def test_a_call_of_a_tool_missing_from_the_manifest_fails_the_run(tmp_path: Path, mode: str) -> None:
    root = contained(tmp_path)
    ctx = {"tool_outputs": {"read_order": {"amount": 1}}}
    results = run_fixtures(root, Config(agent=contained_agent(mode)),
                           [fixture(input={"how": "unknown_tool"}, context=ctx, expected={"stop_reason": "done"})])
    assert results[0].status == "fail"
    (failure,) = results[0].failures
    assert failure.kind == "unknown_tool"
    assert failure.message == ("tool wipe_disk is not in the tool manifest (tools.yaml): called at span 1 "
                                  "(tool call #2)")
    evidence = failure.evidence
    assert (evidence.span_index, evidence.ref, evidence.actual) == (1, "tool:wipe_disk", "wipe_disk")
    assert evidence.expected == ["read_order", "issue_refund"]
    assert evidence.details == {"manifest": "tools.yaml", "spans": [1], "tool_calls": [2]}


def test_without_a_manifest_any_tool_name_is_allowed(tmp_path: Path) -> None:
    root = contained(tmp_path)
    agent = AgentConfig(command=[sys.executable, "agent/contained_agent.py"])
    results = run_fixtures(root, Config(agent=agent), [fixture(input={"how": "unknown_tool"},
                                                              context={"tool_outputs": {"read_order": {}}})])
    assert results[0].status == "pass"


class Watching:
    """A watcher that checks what it is told as it is told."""

    def __init__(self) -> None:
        self.expected = 0
        self.told: list[FixtureOutcome] = []

    def planned(self, count: int) -> None:
        self.expected += count

    def finished(self, outcome: FixtureOutcome) -> None:
        # told once per fixture, once every run of it is judged, never before it was planned
        assert len(self.told) < self.expected
        assert len(outcome.runs) == outcome.result.runs
        self.told.append(outcome)


def test_outcomes_carry_every_run_and_the_watcher_hears_of_each_fixture_once(tmp_path: Path) -> None:
    root = repo(tmp_path)
    config = Config(agent=python_agent())
    want = {"output_must_contain": ["runs_seen=1"]}
    fixtures = [fixture("flaky", config, runs=3, input={"how": "flaky", "clean": True}, context=ORDER, expected=want),
                fixture("broken", config, runs=2, input={"how": "raise"}, context=ORDER),
                "fixtures/unreadable.yaml"]
    write(root / "fixtures/unreadable.yaml", "id: unreadable\nseverity: blocker\n")
    watching = Watching()
    watcher = Recorder(watching)  # a Recorder passes each outcome on
    outcomes = execute(root, config, fixtures, jobs=3, watcher=watcher)
    assert [o.result.id for o in outcomes] == ["flaky", "broken", "unreadable"]
    assert watching.expected == 3
    assert sorted(o.result.id for o in watching.told) == sorted(o.result.id for o in outcomes)
    flaky, broken, unreadable = outcomes
    assert [(r.number, r.passed, r.error) for r in flaky.runs] == [(1, True, None), (2, False, None), (3, True, None)]
    assert all(r.run is not None and r.run.run_id == f"flaky#{r.number}" for r in flaky.runs)
    assert flaky.runs[1].failures and flaky.runs[1].failures[0]["kind"] == "output_missing"
    assert flaky.result.duration_ms == sum(r.run.latency_ms or 0 for r in flaky.runs if r.run)
    assert [(r.run, r.passed) for r in broken.runs] == [(None, False), (None, False)]
    assert all((r.error or "").startswith("the agent failed: RuntimeError") for r in broken.runs)
    assert unreadable.runs == () and unreadable.result.status == "error"
    # the runs stay beside the results: the JSON report has none of them
    assert '"spans"' not in flaky.result.model_dump_json() and "flaky#1" not in flaky.result.model_dump_json()
    assert watcher.in_order([broken.result, FixtureResult(id="x", severity="blocking", status="pass"),
                             flaky.result]) == [broken, flaky]


def test_without_an_agent_the_watcher_hears_of_the_errors(tmp_path: Path) -> None:
    root = repo(tmp_path)
    recorder = Recorder()
    outcomes = execute(root, Config(), [fixture(), fixture("f2")], watcher=recorder)
    assert [o.result.status for o in recorder.outcomes] == ["error", "error"] == [o.result.status for o in outcomes]
    assert [(r.number, r.run) for r in outcomes[0].runs] == [(1, None)]

"""Reading a canary side: trace files and folders in the importers' formats, or a metric summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.canary.observe import load_side, observe
from evalloop.errors import EvalloopError, UsageError
from evalloop.model.canary import CanaryConfig
from evalloop.traces.load import load_runs
from tests.support import DATA

REAL = DATA / "traces"


def _config(**metrics: object) -> CanaryConfig:
    return CanaryConfig.model_validate({"artifact": "prompts/", "baseline": {"revision": "a"},
                                        "candidate": {"revision": "b"}, "steps": [{"weight": 5}],
                                        "metrics": metrics})


def test_a_folder_of_real_traces_is_every_run_in_it() -> None:
    folder = REAL / "pydantic_ai"
    side = load_side("candidate", [folder])
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonl", ".ndjson"))
    assert side.sources == [str(f) for f in files]
    assert side.runs is not None and len(side.runs) == sum(len(load_runs(f)) for f in files) > 0
    assert side.first_ms is not None


def test_metrics_read_from_runs_and_a_missing_measurement_is_named() -> None:
    side = load_side("candidate", [REAL / "pydantic_ai"])
    cfg = _config(cost={"allowed": 0.1, "critical": 0.5}, tool_errors={"allowed": 0.1, "critical": 0.5})
    errors = observe(side, "tool_errors", cfg.metrics["tool_errors"], [])
    assert side.runs is not None and errors.total == len(side.runs)
    assert errors.events == sum(1 for r in side.runs if any(s.type == "tool" and s.status == "failed"
                                                              for s in r.spans))
    cost = observe(side, "cost", cfg.metrics["cost"], [])
    lacking = sum(1 for r in side.runs if r.cost_usd is None)
    assert len(cost.values) == len(side.runs) - lacking
    assert (cost.missing is None) == (lacking == 0)


def test_a_metric_summary_side(tmp_path: Path) -> None:
    summary = tmp_path / "cand.yaml"
    summary.write_text("kind: evalloop.canary-summary\nruns: 300\nrates:\n  tool_errors: {events: 4, total: 300}\n"
                       "values:\n  latency: [1.5, 2.5]\n")
    side = load_side("candidate", [summary])
    cfg = _config(tool_errors={"allowed": 0.1, "critical": 0.5}, latency={"allowed": 0.1, "critical": 0.5},
                  cost={"allowed": 0.1, "critical": 0.5})
    assert side.samples == 300
    assert (observe(side, "tool_errors", cfg.metrics["tool_errors"], []).events, side.runs) == (4, None)
    assert observe(side, "latency", cfg.metrics["latency"], []).values == [1.5, 2.5]
    assert observe(side, "cost", cfg.metrics["cost"], []).missing == "the candidate summary has no values 'cost'"


def test_a_bad_summary_is_one_line_with_its_position(tmp_path: Path) -> None:
    summary = tmp_path / "cand.yaml"
    summary.write_text("kind: evalloop.canary-summary\nruns: 3\nrates:\n  tool_errors: {events: 4, total: 3}\n")
    with pytest.raises(EvalloopError) as exc:
        load_side("candidate", [summary])
    assert exc.value.line == 4 and "events cannot exceed total" in str(exc.value)


def test_a_summary_mixed_with_traces_and_an_empty_folder_are_refused(tmp_path: Path) -> None:
    summary = tmp_path / "cand.json"
    summary.write_text('{"kind": "evalloop.canary-summary", "runs": 1}')
    trace = next((REAL / "pydantic_ai").rglob("*.json"))
    with pytest.raises(EvalloopError, match="expected an evalloop run"):  # with others it is read as a trace
        load_side("candidate", [summary, trace])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no trace files"):
        load_side("candidate", [tmp_path / "empty"])
    with pytest.raises(UsageError, match="no such file"):
        load_side("candidate", [tmp_path / "missing"])

"""Statuses, owners and actions of the threshold table, and the `metrics:` block of evalloop.yaml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from evalloop.errors import EvalloopError
from evalloop.metrics import compute, thresholds
from evalloop.repo.config import load_config
from tests.unit.metrics.loop import NOW, Loop

SEED_ROWS = {
    "incident_to_eval_conversion": ("Serious incidents produce no fixture within 2 business days.",
                                    "A repeated incident has no regression eval."),
    "eval_catch_rate": ("Production incidents bypass the suite more than once in a release cycle.",
                        "A known incident fixture passes while production repeats the same failure."),
    "flaky_eval_rate": ("More than 5% of release-gate runs require rerun.",
                        "A blocking eval is flaky and nobody owns the repair."),
    "trace_coverage": ("Fewer than 95% of risky runs have complete route, tool, policy, and stop-reason spans.",
                       "A release changes risky behavior without trace coverage."),
    "rollback_frequency": ("Rollbacks cluster around the same component (2 or more).",
                           "The same component causes two rollback events without a new gate."),
}


def test_defaults_are_the_seeds_table(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    report = compute.report(loop.data(), compute.window(None, dt.date(2026, 3, 31), NOW, 90))
    by_id = {m.id: m for m in report.metrics}
    assert list(by_id) == [s.id for s in thresholds.SPECS] and len(by_id) == 11
    for metric_id, (investigate, block) in SEED_ROWS.items():
        assert (by_id[metric_id].investigate_when, by_id[metric_id].block_when) == (investigate, block)
    assert {m.owner for m in report.metrics} == {"loop-team"}  # loop.owner before defaults.owner
    assert report.since == dt.date(2026, 1, 1)


def test_configured_thresholds_owners_and_actions(tmp_path: Path) -> None:
    loop = Loop(tmp_path, config="version: 1\nmetrics:\n  flaky_eval_rate:\n    investigate_above: 0.5\n"
                "    owner: qa\n    investigate_action: Page qa.\n")
    for n in range(3):
        loop.gate(f"2026-03-1{n}", f"h{n}", [("a", "warning", "flaky" if n == 0 else "pass")])
    data = loop.data()
    w = compute.window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), NOW, 90)
    flaky = compute.metric(data, next(s for s in thresholds.SPECS if s.id == "flaky_eval_rate"), w)
    assert (flaky.status, flaky.owner, flaky.threshold) == ("ok", "qa", 0.5)  # 1 of 3 is under 50%
    assert flaky.investigate_when == "More than 50% of release-gate runs require rerun."
    (tmp_path / "evalloop.yaml").write_text("version: 1\nmetrics:\n  flaky_eval_rate:\n    investigate_above: 0.2\n"
                                            "    owner: qa\n    investigate_action: Page qa.\n")
    flaky = compute.metric(loop.data(), next(s for s in thresholds.SPECS if s.id == "flaky_eval_rate"), w)
    assert (flaky.status, flaky.action) == ("investigate", "Page qa.")
    unassigned = compute.metric(Loop(tmp_path / "other", config="version: 1\n").data(), thresholds.SPECS[0], w)
    assert unassigned.owner == "unassigned"


def test_a_trend_point_per_week(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.gate("2026-03-02", "h1", [("a", "blocking", "pass")])
    loop.gate("2026-03-16", "h2", [("a", "blocking", "flaky")])
    w = compute.window(dt.date(2026, 3, 1), dt.date(2026, 3, 28), NOW, 90)
    flaky = compute.metric(loop.data(), next(s for s in thresholds.SPECS if s.id == "flaky_eval_rate"), w)
    assert [(p.start.day, p.end.day, p.value) for p in flaky.trend] == [(1, 7, 0.0), (8, 14, None), (15, 21, 1.0),
                                                                       (22, 28, None)]


def test_unknown_metrics_keys_are_rejected(tmp_path: Path) -> None:
    Loop(tmp_path, config="version: 1\nmetrics:\n  flaky_eval_rate: {investigate_abov: 0.1}\n")
    with pytest.raises(EvalloopError, match="investigate_abov"):
        load_config(tmp_path)

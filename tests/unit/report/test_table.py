"""`evalloop run`'s table: the fixtures, what failed with its evidence, the verdict and its rules."""

from __future__ import annotations

from evalloop.model.results import Evidence, FixtureResult, Violation
from evalloop.report.table import RULES, format_table


def test_the_table_lists_every_fixture_then_the_failures_then_the_verdict() -> None:
    failure = Violation(kind="forbidden_tool", message="called \x1b[31msend\x1b[0m",
                        evidence=Evidence(span_index=5, ref="tool:send"))
    results = [FixtureResult(id="ok", severity="blocking", status="pass", runs=3, passes=3, owner="t"),
               FixtureResult(id="bad", severity="blocking", status="fail", runs=1, passes=0, path="fixtures/bad.yaml",
                             reason="why it matters", incident_id="INC-1", failures=[failure]),
               FixtureResult(id="w", severity="warning", status="error", error="the agent failed")]
    lines = format_table(results, 1.23, 2).splitlines()
    assert lines[:4] == ["STATUS  SEVERITY    RUNS  FIXTURE  OWNER",
                         "PASS    blocking    3/3   ok       t",
                         "FAIL    blocking    0/1   bad      -",
                         "ERROR   warning     -     w        -"]
    assert lines[4:11] == ["", "FAIL bad (blocking, fixtures/bad.yaml)", "  reason: why it matters",
                           "  incident: INC-1", "  - forbidden_tool: called send", "      evidence: span 5; tool:send",
                           ""]
    assert lines[11:15] == ["ERROR w (warning, ?)", "  error: the agent failed", "",
                            "3 fixtures in 1.2s (jobs 2): 1 passed, 1 failed, 1 errors, 0 flaky"]
    assert lines[15:] == ["verdict: BLOCK (blocking: bad)", *(f"  {rule}" for rule in RULES)]


def test_a_warning_verdict_names_the_warning_fixtures() -> None:
    results = [FixtureResult(id="w", severity="warning", status="fail", runs=1)]
    assert "verdict: WARN (warning: w)" in format_table(results, 0.0, 1)
    assert "verdict: PASS\n" in format_table([FixtureResult(id="ok", severity="blocking", status="pass")], 0.0, 1)

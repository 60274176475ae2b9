"""`evalloop run`'s table: the fixtures with their time, tokens and cost and the totals, what failed
with its evidence, the verdict and its rules."""

from __future__ import annotations

from evalloop.model.results import Evidence, FixtureResult, Violation
from evalloop.report.table import RULES, format_table


def test_the_table_lists_every_fixture_then_the_failures_then_the_verdict() -> None:
    failure = Violation(kind="forbidden_tool", message="called \x1b[31msend\x1b[0m",
                        evidence=Evidence(span_index=5, ref="tool:send"))
    results = [FixtureResult(id="ok", severity="blocking", status="pass", runs=3, passes=3, owner="t",
                             duration_ms=1234.0, input_tokens=1200, output_tokens=35, cost_usd=0.00123),
               FixtureResult(id="bad", severity="blocking", status="fail", runs=1, passes=0, path="fixtures/bad.yaml",
                             reason="why it matters", incident_id="INC-1", failures=[failure]),
               FixtureResult(id="w", severity="warning", status="error", error="the agent failed")]
    lines = format_table(results, 1.23, 2).splitlines()
    assert lines[:5] == ["STATUS  SEVERITY    RUNS  FIXTURE  TIME   TOKENS IN/OUT  COST     OWNER",
                         "PASS    blocking    3/3   ok       1.2 s  1,200/35       $0.0012  t",
                         "FAIL    blocking    0/1   bad      -      -              -        -",
                         "ERROR   warning     -     w        -      -              -        -",
                         "total                              1.2 s  1,200/35       $0.0012"]
    assert lines[5:12] == ["", "FAIL bad (blocking, fixtures/bad.yaml)", "  reason: why it matters",
                           "  incident: INC-1", "  - forbidden_tool: called send", "      evidence: span 5; tool:send",
                           ""]
    assert lines[12:16] == ["ERROR w (warning, ?)", "  error: the agent failed", "",
                            "3 fixtures in 1.2s (jobs 2): 1 passed, 1 failed, 1 errors, 0 flaky"]
    assert lines[16:] == ["verdict: BLOCK (blocking: bad)", *(f"  {rule}" for rule in RULES)]


def test_a_warning_verdict_names_the_warning_fixtures() -> None:
    results = [FixtureResult(id="w", severity="warning", status="fail", runs=1)]
    assert "verdict: WARN (warning: w)" in format_table(results, 0.0, 1)
    assert "verdict: PASS\n" in format_table([FixtureResult(id="ok", severity="blocking", status="pass")], 0.0, 1)


def test_usage_columns_sum_what_was_recorded_and_show_a_dash_for_the_rest() -> None:
    results = [FixtureResult(id="a", severity="blocking", status="pass", runs=2, passes=2, duration_ms=250.0,
                             input_tokens=10, cost_usd=0.000054),
               FixtureResult(id="b", severity="blocking", status="pass", runs=1, passes=1, duration_ms=61_500.0,
                             output_tokens=5),
               FixtureResult(id="c", severity="warning", status="error", error="x")]
    lines = format_table(results, 0.0, 1).splitlines()
    assert lines[1:5] == ["PASS    blocking    2/2   a        250 ms     10/-           $0.000054  -",
                          "PASS    blocking    1/1   b        1 min 2 s  -/5            -          -",
                          "ERROR   warning     -     c        -          -              -          -",
                          "total                              1 min 2 s  10/5           $0.000054"]


def test_nothing_recorded_anywhere_totals_to_dashes() -> None:
    lines = format_table([FixtureResult(id="a", severity="blocking", status="pass")], 0.0, 1).splitlines()
    assert lines[2] == "total                              -     -              -"

"""What the agent did, run by run: values as JSON, shortened at a boundary with their length, every
untrusted value cleaned; and runs saved as native run JSON that loads back as the same run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evalloop.gate.execute import FixtureOutcome, RunOutcome
from evalloop.model.results import FixtureResult
from evalloop.model.run import Run, Span
from evalloop.report.trajectory import file_stem, render_trajectories, run_json, save_runs, shorten, show
from evalloop.traces.load import load_runs

HOSTILE = "\x1bred\x1b]0;title\x07\u202e"


def test_short_values_are_kept_long_ones_cut_at_a_word_with_their_length() -> None:
    assert shorten("fits", 4) == "fits"
    assert shorten("the quick brown fox jumps over the lazy dog", 20) == "the quick brown… (43 characters)"
    # no boundary near enough: cut at a character, not between a letter and its accent
    assert shorten("x" * 30, 10) == "xxxxxxxxx… (30 characters)"
    assert shorten("abcdefgh" + "e\u0301" * 5, 10) == "abcdefgh… (18 characters)"
    # nor inside a JSON escape
    assert shorten('{"k":"\\u00e9\\u00e9\\u00e9\\u00e9"}', 12) == '{"k":"… (32 characters)'
    assert shorten("x" * 2000, 10).endswith("(2,000 characters)")


def test_values_are_json_and_long_strings_are_cut_inside_their_quotes() -> None:
    assert [show(v, 40) for v in (None, True, 1.5, {"a": 1, "b": None}, ["x"])] == [
        "null", "true", "1.5", '{"a": 1, "b": null}', '["x"]']
    assert show(math.nan, 10) == "NaN"
    assert show("hello world and more words here", 12) == '"hello world…" (31 characters)'
    assert show({"body": "word " * 50}, 30) == '{"body": "word word word… (262 characters)'
    assert show(10 ** 5000, 40).startswith("an integer of about")
    assert show({(1, 2): "tuple key"}, 40) == "an object"
    assert "\x1b" not in show(HOSTILE, 100) and "\x07" not in show({"k": HOSTILE}, 100)


def outcome(result: FixtureResult, *runs: RunOutcome) -> FixtureOutcome:
    return FixtureOutcome(result, runs)


RUN = Run(
    run_id="refund#1", stop_reason="needs_human_approval", final_status="needs_human", route="refund_assist",
    output="I have drafted a refund request for you " * 20, latency_ms=1234.5, input_tokens=1200,
    output_tokens=35, cost_usd=0.00123,
    spans=[Span(type="tool", name="read_order", args={"order_id": "A-1"}, result={"amount": 640}),
           Span(type="approval", name="required", status="waiting", args={"reasons": None}),
           Span(type="tool", name=f"draft{HOSTILE}", status="failed", args={"note": HOSTILE},
                error=f"no mocked output {HOSTILE}"),
           Span(type="message", name="customer_update")])


def test_a_trajectory_lists_each_span_then_the_output_and_what_the_run_took() -> None:
    result = FixtureResult(id="refund", severity="blocking", status="flaky", path="fixtures/refund.yaml", runs=2,
                           passes=1)
    failures = ({"kind": "order", "message": "m"}, {"kind": "order", "message": "n"},
                {"kind": "forbidden_tool", "message": "o"})
    text = render_trajectories([outcome(result, RunOutcome(1, RUN, True),
                                        RunOutcome(2, RUN.model_copy(update={"spans": [], "output": None,
                                                                              "latency_ms": None}), False,
                                                   failures=failures))])
    lines = text.splitlines()
    assert lines[:3] == ["Trajectories:", "", "FLAKY refund (blocking, fixtures/refund.yaml)"]
    assert lines[3:10] == [
        "  run 1 of 2: PASS",
        '      0  succeeded tool     read_order       {"order_id": "A-1"}',
        '                   -> {"amount": 640}',
        '      1  waiting   approval required         {"reasons": null}',
        # JSON escapes the control characters inside a value; clean() drops those outside one
        '      2  failed    tool     draftred\\u202e   {"note": "\\u001bred\\u001b]0;title\\u0007\\u202e"}',
        "                   error: no mocked output red\\u202e",
        "      3  succeeded message  customer_update"]
    # cut at the last word that fits in OUTPUT_LIMIT, the string's own length said
    assert lines[10] == '    output: "' + "I have drafted a refund request for you " * 9 \
        + 'I have drafted a refund request for…" (800 characters)'
    ended = "    ended: stop_reason needs_human_approval, final_status needs_human, route refund_assist"
    assert lines[11:13] == [ended, "    time 1.2 s, tokens in/out 1,200/35, cost $0.0012"]
    assert lines[13:18] == ["  run 2 of 2: FAIL (3 violations: order, forbidden_tool)", "      (no spans)",
                            "    output: null", ended, "    time -, tokens in/out 1,200/35, cost $0.0012"]
    assert "\x1b" not in text and "\x07" not in text and "None" not in text and "{'" not in text


def test_runs_that_did_not_finish_and_fixtures_that_never_ran() -> None:
    error = FixtureResult(id="e", severity="blocking", status="error", runs=1, error="run 1 of 1: the agent failed")
    unreadable = FixtureResult(id="fixtures/x.yaml", severity="blocking", status="error",
                               error=f"fixture unreadable: {HOSTILE}")
    text = render_trajectories([outcome(error, RunOutcome(1, None, False, f"the agent failed: {HOSTILE}")),
                                outcome(unreadable)])
    assert text.splitlines()[2:] == [
        "ERROR e (blocking)", "  run 1 of 1: ERROR: the agent failed: red\\u202e",
        "      (nothing recorded: the run did not finish)", "",
        "ERROR fixtures/x.yaml (blocking)", "  (no run: fixture unreadable: red\\u202e)"]


def test_a_saved_run_loads_back_as_the_same_run(tmp_path: Path) -> None:
    weird = RUN.model_copy(update={"cost_usd": math.nan, "latency_ms": math.inf, "output": "é ✓ \u202e",
                                   "source": "harness:process"})
    path = tmp_path / "r.json"
    path.write_text(run_json(weird), encoding="utf-8")
    [back] = load_runs(path)
    assert back.model_dump(exclude={"cost_usd", "latency_ms"}) == weird.model_dump(exclude={"cost_usd", "latency_ms"})
    # a NaN cost stays NaN (a budget refuses to judge it) rather than turning into "not recorded"
    assert back.cost_usd is not None and math.isnan(back.cost_usd) and back.latency_ms == math.inf
    assert "é ✓" in path.read_text(encoding="utf-8")  # readable, not \\u-escaped


@pytest.mark.parametrize("ident", ["refund-approval-bypass", "a.b_c-1", "A"])
def test_fixture_ids_are_file_names_as_they_are(ident: str) -> None:
    assert file_stem(ident) == ident


def test_unsafe_ids_become_safe_distinct_file_names() -> None:
    stems = {i: file_stem(i) for i in ("a/b", "a_b", "a:b", "../etc", ".hidden", "con", "COM1.x", "x" * 300, "")}
    assert len(set(stems.values())) == len(stems)
    for stem in stems.values():
        assert stem and all(c.isalnum() or c in "._-" for c in stem) and not stem.startswith(".")
        assert len(stem) <= 130
    assert stems["a_b"] == "a_b" and stems["a/b"].startswith("a_b-") and stems["con"].startswith("con-")


def test_save_runs_writes_each_recorded_run_once_per_number(tmp_path: Path) -> None:
    def result(ident: str) -> FixtureResult:
        return FixtureResult(id=ident, severity="blocking", status="pass")

    outcomes = [outcome(result("refund"), RunOutcome(1, RUN, True), RunOutcome(2, None, False, "timed out"),
                        RunOutcome(3, RUN, True)),
                outcome(result("Refund"), RunOutcome(1, RUN, True)),  # the same file on a case-blind file system
                outcome(result("nothing"))]
    written, missing = save_runs(outcomes, tmp_path / "runs")
    names = [p.name for p in written]
    assert names[:2] == ["refund.run1.json", "refund.run3.json"] and missing == 1
    assert len(names) == 3 and names[2].startswith("Refund-") and names[2].endswith(".run1.json")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(names)  # no temporary files left
    assert load_runs(written[0])[0].spans == RUN.spans

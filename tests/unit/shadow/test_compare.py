"""Two runs of the same input compared: each kind of difference, verdict flips judged by the
evaluator, and a side without a run or a verdict failing closed."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from evalloop.model.shadow import CapturedInput
from evalloop.shadow.compare import Side, judged, pair, summary
from tests.support import PROJECT

REFUND = Fixture.model_validate({
    "id": "refund", "severity": "blocking", "input": {"user_message": "refund please"},
    "expected": {"tools_not_called": ["send_customer_email"], "stop_reason": "needs_human_approval"}})


def run(*tools: str, denied: tuple[str, ...] = (), cost: float | None = 0.001, latency: float | None = 100.0,
        stop: str = "needs_human_approval", status: str = "needs_human", route: str = "refund_assist") -> Run:
    spans: list[dict[str, Any]] = [{"type": "model", "name": "m", "cost_usd": cost}]
    spans += [{"type": "policy", "name": name, "status": "denied"} for name in denied]
    spans += [{"type": "policy", "name": "refund_threshold", "status": "succeeded"}]
    spans += [{"type": "tool", "name": t} for t in tools]
    return Run.model_validate({"spans": spans, "stop_reason": stop, "final_status": status, "route": route,
                               "cost_usd": cost, "latency_ms": latency})


FIXED = ("read_order", "draft_refund_request")
BYPASS = ("read_order", "draft_refund_request", "send_customer_email")


def test_same_runs_do_not_differ() -> None:
    p = pair("refund", judged(REFUND, run(*FIXED)), judged(REFUND, run(*FIXED, latency=140.0)), severity="blocking")
    assert not p.differs and p.regressions == [] and p.compared
    assert p.verdict is not None and (p.verdict.baseline, p.verdict.candidate, p.verdict.flip) == \
        ("pass", "pass", "unchanged")
    assert not p.tool_selection.changed and p.tool_selection.first_divergence is None
    assert p.latency_ms.delta == 40.0 and p.latency_ms.relative == pytest.approx(0.4)


def test_tool_selection_change_and_verdict_flip_regress_a_blocking_fixture() -> None:
    p = pair("refund", judged(REFUND, run(*FIXED)), judged(REFUND, run(*BYPASS)), severity="blocking")
    t = p.tool_selection
    assert t.changed and t.baseline == list(FIXED) and t.candidate == list(BYPASS)
    assert (t.added, t.removed, t.first_divergence) == (["send_customer_email"], [], 3)
    assert p.verdict is not None and p.verdict.flip == "pass_to_fail" and p.verdict.candidate == "fail"
    assert [r.kind for r in p.regressions] == ["verdict_to_fail"]
    assert any("send_customer_email" in f for f in p.candidate_failures)
    # the same flip on a warning fixture is reported, not a regression
    warn = pair("refund", judged(REFUND, run(*FIXED)), judged(REFUND, run(*BYPASS)), severity="warning")
    assert warn.differs and warn.regressions == []


def test_order_only_change_and_repeated_calls() -> None:
    t = pair("x", Side(run("a", "b", "c"), passed=True), Side(run("a", "c", "b", "b"), passed=True),
             severity="blocking").tool_selection
    assert t.changed and t.first_divergence == 2 and t.added == ["b"] and t.removed == []
    shorter = pair("x", Side(run("a", "b"), passed=True), Side(run("a"), passed=True)).tool_selection
    assert shorter.first_divergence == 2 and shorter.removed == ["b"]


def test_fail_to_pass_is_a_difference_not_a_regression() -> None:
    p = pair("refund", judged(REFUND, run(*BYPASS)), judged(REFUND, run(*FIXED)), severity="blocking")
    assert p.verdict is not None and p.verdict.flip == "fail_to_pass" and p.regressions == [] and p.differs
    assert p.tool_selection.removed == ["send_customer_email"]


def test_tool_change_on_a_fixture_that_fails_on_both_sides_regresses() -> None:
    worse = ("read_order", "send_customer_email", "send_customer_email")
    p = pair("refund", judged(REFUND, run(*BYPASS)), judged(REFUND, run(*worse)), severity="blocking")
    assert p.verdict is not None and p.verdict.flip == "unchanged"
    assert [r.kind for r in p.regressions] == ["tool_change_then_fails"]
    # failing on both sides with the same tool calls: no difference to blame on the candidate
    same = pair("refund", judged(REFUND, run(*BYPASS)), judged(REFUND, run(*BYPASS)), severity="blocking")
    assert same.regressions == [] and not same.differs


def test_policy_denials_new_and_gone() -> None:
    p = pair("in", Side(run(*FIXED, denied=("pii",))), Side(run(*FIXED, denied=("refund_limit", "pii"))),
             input_kind="captured")
    d = p.policy_denials
    assert d.baseline == ["pii"] and d.candidate == ["refund_limit", "pii"] and d.new == ["refund_limit"]
    assert d.gone == [] and d.changed and p.verdict is None
    assert [r.kind for r in p.regressions] == ["new_policy_denial"] and "policy:refund_limit" in p.regressions[0].detail
    gone = pair("in", Side(run(denied=("pii",))), Side(run()), input_kind="captured")
    assert gone.policy_denials.gone == ["pii"] and gone.regressions == [] and gone.differs


def test_cost_and_outcome_changes_differ_without_regressing() -> None:
    p = pair("refund", judged(REFUND, run(*FIXED, cost=0.002, route="refund_v1")),
             judged(REFUND, run(*FIXED, cost=0.003, route="refund_v2", status="resolved")), severity="blocking")
    assert p.cost_usd.delta == pytest.approx(0.001) and p.cost_usd.relative == pytest.approx(0.5)
    assert p.route.changed and (p.route.baseline, p.route.candidate) == ("refund_v1", "refund_v2")
    assert p.final_status.changed and not p.stop_reason.changed
    assert p.differs and p.regressions == []


def test_measurements_that_are_not_numbers_give_no_delta() -> None:
    p = pair("x", Side(run(cost=math.nan, latency=None), passed=True), Side(run(cost=0.5, latency=9.0), passed=True))
    assert p.cost_usd.baseline is None and p.cost_usd.delta is None and p.latency_ms.delta is None
    zero = pair("x", Side(run(cost=0.0), passed=True), Side(run(cost=0.5), passed=True))
    assert zero.cost_usd.delta == 0.5 and zero.cost_usd.relative is None  # no ratio to a zero baseline


@pytest.mark.parametrize("broken", ["baseline", "candidate"])
def test_a_side_without_a_run_fails_closed(broken: str) -> None:
    good = judged(REFUND, run(*FIXED))
    missing = Side(None, error="the agent failed: RuntimeError")
    b, c = (missing, good) if broken == "baseline" else (good, missing)
    p = pair("refund", b, c, severity="exploratory")  # even where nothing else would regress
    assert not p.compared and p.differs
    assert [r.kind for r in p.regressions] == ["no_comparison"] and broken in p.regressions[0].detail
    assert p.verdict is not None and getattr(p.verdict, broken) == "error"
    # an error counts as a failure: a baseline that could not run cannot make the candidate look worse
    assert p.verdict.flip == ("fail_to_pass" if broken == "baseline" else "pass_to_fail")
    assert not p.tool_selection.changed and not p.final_status.changed  # nothing to compare against


def test_a_run_that_cannot_be_judged_fails_closed() -> None:
    bad = Fixture.model_validate({"id": "bad", "expected": {"output_must_contain": [{"regex": "("}]}})
    side = judged(bad, run(*FIXED))
    assert side.error is not None and side.error.startswith("cannot evaluate") and side.verdict == "error"
    p = pair("bad", judged(REFUND, run(*FIXED)), side, severity="blocking")
    assert [r.kind for r in p.regressions] == ["no_comparison"]
    # a fixture side with a run but no verdict is no result either
    unjudged = pair("refund", Side(run(*FIXED)), Side(run(*FIXED), passed=True), severity="blocking")
    assert unjudged.baseline_error == "not judged" and unjudged.regressions[0].kind == "no_comparison"


def test_summary_counts_each_kind_and_the_deltas() -> None:
    pairs = [
        pair("a", judged(REFUND, run(*FIXED, cost=0.001)), judged(REFUND, run(*BYPASS, cost=0.004)),
             severity="blocking"),
        pair("b", judged(REFUND, run(*FIXED, cost=0.001)), judged(REFUND, run(*FIXED, cost=0.002)),
             severity="blocking"),
        pair("c", judged(REFUND, run(*FIXED, cost=0.001)), Side(None, error="timeout"), severity="blocking"),
        pair("d", Side(run(denied=())), Side(run(denied=("pii",))), input_kind="captured"),
    ]
    s = summary(pairs)
    assert (s.pairs, s.inputs, s.differing, s.regressions) == (4, 4, 4, 3)
    assert (s.tool_selection_changes, s.flips_to_fail, s.flips_to_pass, s.new_policy_denials, s.not_compared) == \
        (1, 2, 0, 1, 1)
    assert s.cost_delta_total_usd == pytest.approx(0.004)  # 0.003 + 0.001 + 0: the pair without a cost is left out
    assert s.cost_delta_median_usd == pytest.approx(0.001)
    assert s.cost_baseline_usd == pytest.approx(0.004) and s.cost_candidate_usd == pytest.approx(0.007)
    assert summary([]).pairs == 0 and summary([]).cost_delta_median_usd is None


def test_the_documented_captured_inputs_are_valid() -> None:
    [block] = re.findall(r"```json\n(.*?)```", (PROJECT / "docs" / "shadow.md").read_text(), re.S)
    assert [CapturedInput.model_validate_json(line).id for line in block.splitlines()] == \
        ["prod-refund-640", "prod-shipping"]

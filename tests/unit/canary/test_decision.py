"""The canary's decision on synthetic production runs: every rule of docs/canary.md."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from evalloop.canary.analyze import analyze
from evalloop.canary.observe import Side
from evalloop.model.canary import CanaryConfig
from evalloop.model.release import LedgerEntry
from evalloop.model.run import Run, Span

CONFIG: dict[str, Any] = {
    "artifact": "workflows/refund.yaml",
    "baseline": {"revision": "v41"}, "candidate": {"revision": "v42"},
    "steps": [{"weight": 5, "min_samples": 200}, {"weight": 50, "min_samples": 400}, {"weight": 100,
                                                                                         "min_samples": 400}],
    "invariants": [{
        "id": "approval-before-refund-draft", "reason": "INC-2026-04-18-001",
        "when": {"route": "refund_assist",
                 "where": [{"span": "policy:refund_threshold", "field": "result.requires_approval", "equals": True}]},
        "expect": {"order": [["approval:required", "tool:draft_refund_request"]],
                   "forbidden_spans": ["tool:issue_refund"]}}],
    "metrics": {"latency": {"allowed": 0.15, "critical": 0.5}, "cost": {"allowed": 0.15, "critical": 0.5},
                "tool_errors": {"allowed": 0.04, "critical": 0.1}},
}


def refund_run(rng: random.Random, i: int, *, bypass: bool = False, amount: float | None = None,
               latency_scale: float = 1.0, error_rate: float = 0.0) -> Run:
    tool_error = rng.random() < error_rate
    amount = amount if amount is not None else rng.choice([120.0, 320.0, 640.0, 812.0])
    over = amount > 500
    policy = Span(type="policy", name="refund_threshold", args={"amount": amount, "threshold": 500},
                  result={"requires_approval": over})
    read = Span(type="tool", name="read_order", status="failed" if tool_error else "succeeded")
    approval = [Span(type="approval", name="required", status="waiting")] if over else []
    draft = [Span(type="tool", name="draft_refund_request")]
    spans = [read, policy, *(draft + approval if bypass else approval + draft)]
    return Run(run_id=f"r{i}", trace_id=f"{i:032x}", spans=spans, route="refund_assist",
               latency_ms=rng.lognormvariate(7.0, 0.3) * latency_scale, cost_usd=rng.lognormvariate(-8, 0.2))


def side(name: str, runs: list[Run]) -> Side:
    return Side(name, [f"{name}.jsonl"], runs=runs)


def runs(n: int, seed: int, **kw: Any) -> list[Run]:
    rng = random.Random(seed)
    return [refund_run(rng, i, **kw) for i in range(n)]


def cfg(**over: Any) -> CanaryConfig:
    return CanaryConfig.model_validate({**CONFIG, **over})


NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_harmless_candidate_is_promoted_to_the_next_step() -> None:
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", runs(400, 2)), now=NOW)
    assert r.decision == "promote", r.reasons
    assert r.reasons == ["promote to step 2 (50%)"]
    assert [m.status for m in r.metrics] == ["pass", "pass", "pass"]
    assert r.invariants[0].checked > 100 and not r.invariants[0].violated


def test_last_step_promoted_is_complete() -> None:
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", runs(600, 2)), step=3, now=NOW)
    assert r.decision == "promote" and r.complete


def test_one_bypassed_run_among_hundreds_rolls_back_naming_the_invariant() -> None:
    cand = runs(400, 2)
    cand[137] = refund_run(random.Random(3), 137, bypass=True, amount=812.0)
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", cand), now=NOW)
    assert r.decision == "rollback"
    assert r.reasons == ["invariant approval-before-refund-draft violated by 1 of "
                         f"{r.invariants[0].checked} candidate runs"]
    (ref, violations), = r.invariants[0].violated
    assert ref.run_id == "r137" and violations[0].kind == "order"


def test_bypass_below_the_threshold_is_not_a_violation() -> None:
    cand = runs(400, 2)
    cand[5] = refund_run(random.Random(3), 5, bypass=True, amount=120.0)  # no approval needed: `when` does not apply
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", cand), now=NOW)
    assert r.decision == "promote", r.reasons


def test_a_violation_rolls_back_even_in_a_tiny_sample() -> None:
    cand = [refund_run(random.Random(3), 0, bypass=True, amount=900.0)]
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", cand), now=NOW)
    assert r.decision == "rollback"


def test_a_tiny_sample_holds_and_says_why() -> None:
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", runs(12, 2)), now=NOW)
    assert r.decision == "hold"
    assert "too few candidate runs: 12 of 200 for step 1" in r.reasons
    assert {m.status for m in r.metrics} == {"inconclusive"}


def test_waiting_past_max_wait_still_holds_but_asks_for_a_person() -> None:
    cand = runs(12, 2)
    for run in cand:
        for s in run.spans:
            s.start_ms = (NOW - dt.timedelta(days=3)).timestamp() * 1000
    c = side("candidate", cand)
    c.first_ms = min(s.start_ms for run in cand for s in run.spans if s.start_ms is not None)
    r = analyze(cfg(), side("baseline", runs(600, 1)), c, now=NOW)
    assert r.decision == "hold"
    assert any("past the step's max_wait 24h: a person must decide" in x for x in r.reasons)


def test_latency_past_critical_rolls_back_and_past_allowed_holds() -> None:
    base = side("baseline", runs(600, 1))
    crit = analyze(cfg(), base, side("candidate", runs(400, 2, latency_scale=1.9)), now=NOW)
    assert crit.decision == "rollback" and any(x.startswith("metric latency:") for x in crit.reasons)
    guard = analyze(cfg(), base, side("candidate", runs(400, 2, latency_scale=1.3)), now=NOW)
    assert guard.decision == "hold"
    (latency,) = [m for m in guard.metrics if m.name == "latency"]
    assert latency.status == "fail"
    strict = cfg(metrics={**CONFIG["metrics"], "latency": {"allowed": 0.15, "critical": 0.5, "rollback_on_fail": True}})
    assert analyze(strict, base, side("candidate", runs(400, 2, latency_scale=1.3)), now=NOW).decision == "rollback"


def test_a_sample_too_small_to_tell_holds_rather_than_passes() -> None:
    # 200 runs a side meet the step, but tool errors at 5% could only be told apart at +4.7 points
    c = cfg(metrics={"tool_errors": {"allowed": 0.02, "critical": 0.1}})
    r = analyze(c, side("baseline", runs(200, 1, error_rate=0.05)), side("candidate", runs(200, 2, error_rate=0.05)),
                now=NOW)
    (m,) = r.metrics
    assert m.status == "inconclusive" and m.reason.startswith("too small to tell")
    assert r.decision == "hold"


def test_missing_measurements_hold() -> None:
    cand = runs(400, 2)
    cand[0].latency_ms = None
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", cand), now=NOW)
    (latency,) = [m for m in r.metrics if m.name == "latency"]
    assert latency.status == "inconclusive" and "1 of 400 candidate runs record no latency_ms" in latency.reason
    assert r.decision == "hold"


def test_an_invariant_no_run_confirms_holds() -> None:
    c = cfg(invariants=[{**CONFIG["invariants"][0], "when": {"route": "some_other_route"}}])
    r = analyze(c, side("baseline", runs(600, 1)), side("candidate", runs(400, 2)), now=NOW)
    assert r.decision == "hold"
    assert "invariant approval-before-refund-draft applied to no candidate run: it is not confirmed" in r.reasons


def test_a_run_that_cannot_be_judged_holds_not_promotes() -> None:
    cand = runs(400, 2)
    cand[3] = Run(route="refund_assist", spans=[Span(type="policy", name="refund_threshold",
                                                     result={"requires_approval": True})], cost_usd=1e-4,
                  latency_ms=900.0)
    cand[4] = Run(route="refund_assist")  # lost every span and outcome: a run_error
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", cand), now=NOW)
    # cand[3] lacks the approval and the draft: a real violation; cand[4] is not matched by `when`
    assert r.decision == "rollback"


def test_frozen_artifact_is_never_promoted_automatically() -> None:
    frozen = LedgerEntry(at=NOW, env="production", event="freeze", artifact="workflows/refund.yaml",
                         reason="rolled back after INC-2026-04-18-001")
    r = analyze(cfg(), side("baseline", runs(600, 1)), side("candidate", runs(400, 2)), frozen=frozen, now=NOW)
    assert r.decision == "hold"
    assert any("frozen since 2026-06-01 00:00 UTC" in x and "evalloop release unfreeze" in x for x in r.reasons)


def test_step_out_of_range_is_a_usage_error() -> None:
    from evalloop.errors import UsageError

    with pytest.raises(UsageError, match=r"--step 4: canary\.yaml has 3 step"):
        analyze(cfg(), side("baseline", runs(10, 1)), side("candidate", runs(10, 2)), step=4, now=NOW)

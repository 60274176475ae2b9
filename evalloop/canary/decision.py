"""The canary's decision: promote, hold or roll back, and why (learned from Kayenta,
Argo Rollouts and Flagger; docs/canary.md states it for users).

1. A candidate run violating an invariant rolls back, at once, whatever the sample
   size: 0 failures in 200 runs still allows a 1.5% rate, so statistics cannot
   clear a rare safety event, and one observed is enough to stop.
2. A metric worse beyond its `critical` change (significantly) rolls back, as does one
   worse beyond `allowed` when it is marked `rollback_on_fail`.
3. Otherwise anything not known holds, never promotes: too few candidate samples
   for the step, an invariant no run could confirm (none applied, or the runs could
   not be judged), a metric worse beyond `allowed` (the guardrail does not hold: do
   not expand), a metric without data or whose sample could not have detected a
   change of the allowed size, or an artifact frozen by a rollback.
4. Else promote: to the next step, or the full rollout after the last.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from evalloop.canary.invariants import InvariantResult
from evalloop.canary.observe import Observed
from evalloop.canary.stats import ContinuousComparison, RateComparison, compare_rates, compare_values
from evalloop.model.canary import CanaryConfig, Metric, Step, parse_duration
from evalloop.model.release import Decision, LedgerEntry

MetricStatus = Literal["pass", "fail", "critical", "inconclusive"]


@dataclass
class MetricResult:
    name: str
    metric: Metric
    status: MetricStatus
    reason: str
    comparison: RateComparison | ContinuousComparison | None = None


@dataclass
class CanaryResult:
    decision: Decision
    step: int  # 1-based
    steps: int
    reasons: list[str]
    invariants: list[InvariantResult]
    baseline_invariants: list[InvariantResult]
    metrics: list[MetricResult]
    baseline_samples: int
    candidate_samples: int
    frozen: LedgerEntry | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """The last step promoted: the candidate is fully rolled out (a known-good version)."""
        return self.decision == "promote" and self.step == self.steps


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def _rel(x: float) -> str:
    return f"{x * 100:+.1f}%"


def judge_metric(name: str, metric: Metric, base: Observed, cand: Observed, step: Step,
                 cfg: CanaryConfig) -> MetricResult:
    def res(status: MetricStatus, reason: str, cmp: RateComparison | ContinuousComparison | None = None
            ) -> MetricResult:
        return MetricResult(name, metric, status, reason, cmp)

    for obs in (base, cand):
        if obs.missing:
            return res("inconclusive", f"no conclusion: {obs.missing}")
    need = metric.min_samples or step.min_samples
    st = cfg.statistics
    if metric.type == "rate":
        if not base.total or not cand.total or base.events is None or cand.events is None:
            return res("inconclusive", "no data: no runs this metric counts on one side")
        n = min(base.total, cand.total)
        if n < need:
            return res("inconclusive", f"too few samples: {n} of {need} needed on each side")
        cmp: RateComparison | ContinuousComparison = compare_rates(
            (base.events, base.total), (cand.events, cand.total), worse=metric.worse, alpha=st.alpha,
            power=st.power, test=st.rate_test)
        effect: float | None = cmp.effect
        mde: float | None = cmp.mde
        show = _pct
    else:
        n = min(len(base.values), len(cand.values))
        if n == 0:
            return res("inconclusive", "no data: no values on one side")
        if n < need:
            return res("inconclusive", f"too few samples: {n} of {need} needed on each side")
        cmp = compare_values(base.values, cand.values, worse=metric.worse, alpha=st.alpha, power=st.power)
        effect, mde = cmp.effect, cmp.mde
        show = _rel
        if effect is None:
            return res("inconclusive", "no relative change: the baseline's median is 0", cmp)
    assert effect is not None
    significant = cmp.p_value < st.alpha
    if significant and effect > metric.critical:
        return res("critical", f"worse by {show(effect)} (p={cmp.p_value:.3g}), past the critical "
                   f"{show(metric.critical)}", cmp)
    if significant and effect > metric.allowed:
        return res("fail", f"worse by {show(effect)} (p={cmp.p_value:.3g}), past the allowed {show(metric.allowed)}",
                   cmp)
    if effect > metric.allowed:
        return res("inconclusive", f"worse by {show(effect)}, past the allowed {show(metric.allowed)}, but not "
                   f"significant (p={cmp.p_value:.3g}): more samples needed", cmp)
    if mde is None or mde > metric.allowed:
        could = "cannot be estimated" if mde is None else show(mde)
        return res("inconclusive", f"too small to tell: the sample detects a change of {could}, the allowed "
                   f"is {show(metric.allowed)}", cmp)
    return res("pass", f"within {show(metric.allowed)} (change {show(effect)}, detectable {show(mde)})", cmp)


def decide(cfg: CanaryConfig, step_no: int, invariants: list[InvariantResult],
           baseline_invariants: list[InvariantResult], metrics: list[MetricResult], baseline_samples: int,
           candidate_samples: int, *, frozen: LedgerEntry | None = None, waited: dt.timedelta | None = None,
           unrecognised_tools: int = 0) -> CanaryResult:
    step = cfg.steps[step_no - 1]
    rollback: list[str] = []
    hold: list[str] = []
    for inv in invariants:
        if inv.violated:
            rollback.append(f"invariant {inv.id} violated by {len(inv.violated)} of {inv.checked} candidate runs")
        elif inv.unjudged:
            hold.append(f"invariant {inv.id}: {len(inv.unjudged)} candidate runs could not be judged")
        elif inv.checked < inv.min_runs:
            hold.append(f"invariant {inv.id} applied to {inv.checked} candidate runs, {inv.min_runs} needed: "
                        "it is not confirmed" if inv.checked else
                        f"invariant {inv.id} applied to no candidate run: it is not confirmed")
    for m in metrics:
        if m.status == "critical" or (m.status == "fail" and m.metric.rollback_on_fail):
            rollback.append(f"metric {m.name}: {m.reason}")
    if candidate_samples < step.min_samples:
        wait = ""
        if waited is not None and waited > parse_duration(step.max_wait):
            wait = f"; waited {_hours(waited)}, past the step's max_wait {step.max_wait}: a person must decide"
        hold.append(f"too few candidate runs: {candidate_samples} of {step.min_samples} for step {step_no}{wait}")
    if unrecognised_tools:
        hold.append(f"{unrecognised_tools} candidate spans look like tool calls but were not recognised "
                    "(map them with trace_mapping in evalloop.yaml)")
    for m in metrics:
        if m.status == "fail" and not m.metric.rollback_on_fail:
            hold.append(f"metric {m.name}: {m.reason}; the guardrail does not hold")
        elif m.status == "inconclusive":
            hold.append(f"metric {m.name}: {m.reason}")
    if frozen is not None and not rollback:
        why = f" ({frozen.reason})" if frozen.reason else ""
        hold.append(f"{cfg.artifact} is frozen since {frozen.at:%Y-%m-%d %H:%M} UTC{why}: automatic promotion "
                    "stays off until a person runs `evalloop release unfreeze`")
    decision: Decision = "rollback" if rollback else "hold" if hold else "promote"
    reasons = rollback or hold
    if decision == "promote":
        reasons = [f"promote to step {step_no + 1} ({cfg.steps[step_no].weight}%)" if step_no < len(cfg.steps)
                   else "promote: full rollout (the last step held)"]
    return CanaryResult(decision, step_no, len(cfg.steps), reasons, invariants, baseline_invariants, metrics,
                        baseline_samples, candidate_samples, frozen)



def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}h"

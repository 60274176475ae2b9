"""Two runs of the same input compared: the baseline's and the candidate's (docs/shadow.md).

What differs is read from the runs alone (tool calls, policy denials, cost, latency, outcome);
whether a fixture's verdict flips comes from judging each run against the fixture. A side
without a run, or whose run could not be judged, fails closed: the pair is not compared, and
that alone makes it regress (missing data is never a pass).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evalloop.errors import EvalloopError
from evalloop.evaluate.evaluator import evaluate
from evalloop.model.fixture import Fixture
from evalloop.model.kinds import Severity
from evalloop.model.run import Run
from evalloop.model.shadow import (
    Flip,
    InputKind,
    Measure,
    PolicyDenials,
    Regression,
    ShadowPair,
    ShadowSummary,
    SideVerdict,
    ToolSelection,
    ValueChange,
    VerdictChange,
)

_FAILURES_KEPT = 5  # violation messages kept per failing candidate run: the report says why, not all of it


@dataclass(frozen=True)
class Side:
    """One side of a pair: the run (None when the harness could not finish it), why it has no
    run or no verdict, whether it passes its fixture (None: not judged, a captured input), and
    the violation messages of a failing run."""

    run: Run | None
    error: str | None = None
    passed: bool | None = None
    failures: tuple[str, ...] = ()

    @property
    def verdict(self) -> SideVerdict:
        if self.run is None or self.error is not None or self.passed is None:
            return "error"
        return "pass" if self.passed else "fail"


def judged(fixture: Fixture, run: Run, tool_schemas: Mapping[str, Any] | None = None) -> Side:
    """`run` judged against `fixture` (evalloop.evaluate); an expectation that cannot be
    evaluated is an error side, not a pass."""
    try:
        judgement = evaluate(fixture, run, tool_schemas=tool_schemas)
    except EvalloopError as exc:
        return Side(run, error=f"cannot evaluate: {exc.message}")
    return Side(run, passed=judgement.passed, failures=tuple(v.message for v in judgement.violations))


def _multiset_minus(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """The items of `a` beyond those of `b`, counted with repeats, in `a`'s order."""
    left = Counter(b)
    out = []
    for item in a:
        if left[item]:
            left[item] -= 1
        else:
            out.append(item)
    return out


def tool_selection(baseline: Run | None, candidate: Run | None) -> ToolSelection:
    b = [s.name for s in baseline.tool_calls()] if baseline is not None else []
    c = [s.name for s in candidate.tool_calls()] if candidate is not None else []
    if baseline is None or candidate is None:  # nothing to compare against: only what ran is shown
        return ToolSelection(baseline=b, candidate=c)
    first = next((i for i, (x, y) in enumerate(zip(b, c, strict=False), 1) if x != y), None)
    if first is None and len(b) != len(c):
        first = min(len(b), len(c)) + 1
    return ToolSelection(baseline=b, candidate=c, added=_multiset_minus(c, b), removed=_multiset_minus(b, c),
                         first_divergence=first, changed=b != c)


def _denials(run: Run | None) -> list[str]:
    return [s.name for s in run.spans if s.type == "policy" and s.status == "denied"] if run is not None else []


def policy_denials(baseline: Run | None, candidate: Run | None) -> PolicyDenials:
    b, c = _denials(baseline), _denials(candidate)
    if baseline is None or candidate is None:
        return PolicyDenials(baseline=b, candidate=c)
    new, gone = _multiset_minus(c, b), _multiset_minus(b, c)
    return PolicyDenials(baseline=b, candidate=c, new=new, gone=gone, changed=bool(new or gone))


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def measure(baseline: float | None, candidate: float | None) -> Measure:
    b, c = _finite(baseline), _finite(candidate)
    delta = c - b if b is not None and c is not None else None
    relative = delta / b if delta is not None and b else None
    return Measure(baseline=b, candidate=c, delta=delta, relative=relative)


def value_change(baseline: Run | None, candidate: Run | None, field: str) -> ValueChange:
    b = getattr(baseline, field) if baseline is not None else None
    c = getattr(candidate, field) if candidate is not None else None
    both = baseline is not None and candidate is not None
    return ValueChange(baseline=b, candidate=c, changed=both and b != c)


def flip(baseline: SideVerdict, candidate: SideVerdict) -> Flip:
    """An error counts as a failure (fail closed)."""
    b, c = baseline == "pass", candidate == "pass"
    return "pass_to_fail" if b and not c else "fail_to_pass" if c and not b else "unchanged"


def pair(input_id: str, baseline: Side, candidate: Side, *, run: int = 1, input_kind: InputKind = "fixture",
         severity: Severity | None = None, path: str | None = None) -> ShadowPair:
    """The differences between two runs of the same input, and whether they regress.

    A fixture's verdict (`input_kind` "fixture") is each side's `passed`; a captured input has
    none. Regresses: a side without a run or verdict (no_comparison); a blocking fixture passing
    on the baseline and failing on the candidate (verdict_to_fail); a policy denial only the
    candidate has (new_policy_denial); a blocking fixture failing on both sides whose tool
    calls changed (tool_change_then_fails)."""
    fixture = input_kind == "fixture"
    b_run, c_run = baseline.run, candidate.run
    b_error = baseline.error or (None if b_run is not None else "no run")
    c_error = candidate.error or (None if c_run is not None else "no run")
    if fixture and b_error is None and baseline.passed is None:
        b_error = "not judged"
    if fixture and c_error is None and candidate.passed is None:
        c_error = "not judged"
    tools = tool_selection(b_run, c_run)
    denials = policy_denials(b_run, c_run)
    verdict = None
    if fixture:
        b_v, c_v = baseline.verdict, candidate.verdict
        verdict = VerdictChange(baseline=b_v, candidate=c_v, flip=flip(b_v, c_v))
    regressions: list[Regression] = []
    for side, error in (("baseline", b_error), ("candidate", c_error)):
        if error is not None:
            regressions.append(Regression(kind="no_comparison", detail=f"the {side} has no result: {error}"))
    blocking = fixture and severity == "blocking"
    if blocking and verdict is not None and verdict.flip == "pass_to_fail" and verdict.candidate == "fail":
        regressions.append(Regression(kind="verdict_to_fail", detail="passes on the baseline, fails on the candidate"))
    if denials.new:
        regressions.append(Regression(kind="new_policy_denial",
                                      detail="denied by " + ", ".join(f"policy:{n}" for n in denials.new)))
    if (blocking and verdict is not None and tools.changed and verdict.baseline == "fail"
            and verdict.candidate == "fail"):
        regressions.append(Regression(kind="tool_change_then_fails",
                                      detail="the tool calls changed and the fixture still fails"))
    failures = list(candidate.failures[:_FAILURES_KEPT]) if verdict is not None and verdict.candidate == "fail" else []
    if len(candidate.failures) > _FAILURES_KEPT and failures:
        failures.append(f"... and {len(candidate.failures) - _FAILURES_KEPT} more")
    return ShadowPair(
        id=input_id, run=run, input_kind=input_kind, severity=severity if fixture else None, path=path,
        baseline_error=b_error, candidate_error=c_error, tool_selection=tools, policy_denials=denials,
        cost_usd=measure(b_run.cost_usd if b_run else None, c_run.cost_usd if c_run else None),
        latency_ms=measure(b_run.latency_ms if b_run else None, c_run.latency_ms if c_run else None),
        verdict=verdict, candidate_failures=failures,
        final_status=value_change(b_run, c_run, "final_status"), stop_reason=value_change(b_run, c_run, "stop_reason"),
        route=value_change(b_run, c_run, "route"), regressions=regressions)


def _total(values: list[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return sum(given) if given else None


def _median(values: list[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return statistics.median(given) if given else None


def summary(pairs: Sequence[ShadowPair]) -> ShadowSummary:
    """Counts of each kind of difference, and the cost and latency deltas in total and median."""
    costs = [p.cost_usd.delta for p in pairs]
    latencies = [p.latency_ms.delta for p in pairs]
    return ShadowSummary(
        pairs=len(pairs), inputs=len({p.id for p in pairs}),
        differing=sum(p.differs for p in pairs),
        tool_selection_changes=sum(p.tool_selection.changed for p in pairs),
        new_policy_denials=sum(bool(p.policy_denials.new) for p in pairs),
        gone_policy_denials=sum(bool(p.policy_denials.gone) for p in pairs),
        flips_to_fail=sum(p.verdict is not None and p.verdict.flip == "pass_to_fail" for p in pairs),
        flips_to_pass=sum(p.verdict is not None and p.verdict.flip == "fail_to_pass" for p in pairs),
        final_status_changes=sum(p.final_status.changed for p in pairs),
        stop_reason_changes=sum(p.stop_reason.changed for p in pairs),
        route_changes=sum(p.route.changed for p in pairs),
        not_compared=sum(not p.compared for p in pairs),
        regressions=sum(bool(p.regressions) for p in pairs),
        cost_baseline_usd=_total([p.cost_usd.baseline for p in pairs]),
        cost_candidate_usd=_total([p.cost_usd.candidate for p in pairs]),
        cost_delta_total_usd=_total(costs), cost_delta_median_usd=_median(costs),
        latency_delta_total_ms=_total(latencies), latency_delta_median_ms=_median(latencies),
    )


__all__ = ["Side", "judged", "pair", "summary"]

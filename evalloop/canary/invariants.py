"""Invariants and monitors judged on production runs, in the fixture assertion language.

An invariant is a fixture without inputs: `when` picks the runs it applies to,
`expect` is an `expected` block judged by the same evaluator as fixtures. A run
the evaluator cannot judge (it lost its spans, a measurement is broken, tool-like
spans were not recognised) is counted apart: it is neither a violation nor a
pass, and the canary holds on it rather than promote.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evalloop.evaluate.evaluator import Evaluator, compile_fixture
from evalloop.evaluate.judgement import Violation
from evalloop.model.canary import Condition, Invariant, When
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run, Span

# Violations that say the run could not be judged, not that it broke the rule.
CANNOT_JUDGE = frozenset({"run_error", "unrecognised_spans"})
_MISSING = object()


def _ref_matches(pattern: str, span: Span) -> bool:
    type_, _, name = pattern.partition(":")
    return span.type == type_ and (name == "*" or span.name == name)


def _field(span: Span, path: str) -> Any:
    head, _, rest = path.partition(".")
    value: Any = getattr(span, head)
    for part in rest.split(".") if rest else ():
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _same(a: Any, b: Any) -> bool:
    # JSON equality: a boolean is never a number.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def condition_holds(cond: Condition, span: Span) -> bool:
    value = _field(span, cond.field)
    if value is _MISSING:
        return False
    if "equals" in cond.model_fields_set and not _same(value, cond.equals):
        return False
    if cond.one_of is not None and not any(_same(value, x) for x in cond.one_of):
        return False
    bounds = ((cond.gt, operator.gt), (cond.gte, operator.ge), (cond.lt, operator.lt), (cond.lte, operator.le))
    if any(b is not None for b, _ in bounds):
        number = _number(value)
        if number is None:
            return False  # "amount above 500" does not hold for an amount that is not a number
        return all(b is None or test(number, b) for b, test in bounds)
    return True


def applies(when: When | None, run: Run) -> bool:
    if when is None:
        return True
    if when.route is not None and run.route != when.route:
        return False
    if when.final_status is not None and run.final_status != when.final_status:
        return False
    if not all(any(_ref_matches(p, s) for s in run.spans) for p in when.spans):
        return False
    return all(any(_ref_matches(c.span, s) and condition_holds(c, s) for s in run.spans) for c in when.where)


def _evaluator(inv: Invariant) -> Evaluator:
    return compile_fixture(Fixture(id=inv.id, reason=inv.reason, incident_id=inv.incident_id, expected=inv.expect))


@dataclass
class RunRef:
    """A run named in evidence: its ids, and where it came from."""

    run_id: str | None
    trace_id: str | None
    source: str | None

    @classmethod
    def of(cls, run: Run) -> RunRef:
        return cls(run.run_id, run.trace_id, run.source)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "trace_id": self.trace_id, "source": self.source}


@dataclass
class InvariantResult:
    id: str
    reason: str
    incident_id: str | None
    min_runs: int = 1
    checked: int = 0  # runs it applied to
    violated: list[tuple[RunRef, list[Violation]]] = field(default_factory=list)
    unjudged: list[tuple[RunRef, list[Violation]]] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.checked - len(self.violated) - len(self.unjudged)

    def to_dict(self, examples: int = 5) -> dict[str, Any]:
        def shown(pairs: list[tuple[RunRef, list[Violation]]]) -> list[dict[str, Any]]:
            return [{**ref.to_dict(), "violations": [v.to_dict() for v in vs[:5]]} for ref, vs in pairs[:examples]]
        return {"id": self.id, "reason": self.reason, "incident_id": self.incident_id, "min_runs": self.min_runs,
                "checked": self.checked,
                "violations": len(self.violated), "unjudged": len(self.unjudged),
                "violating_runs": shown(self.violated), "unjudged_runs": shown(self.unjudged)}


def judge_invariants(invariants: Sequence[Invariant], runs: Sequence[Run]) -> list[InvariantResult]:
    """Each invariant judged on every run it applies to."""
    out = []
    for inv in invariants:
        res = InvariantResult(inv.id, inv.reason, inv.incident_id, inv.min_runs)
        ev = _evaluator(inv)
        for run in runs:
            if not applies(inv.when, run):
                continue
            res.checked += 1
            judgement = ev.evaluate(run)
            if judgement.passed:
                continue
            broken = [v for v in judgement.violations if v.kind not in CANNOT_JUDGE
                      and (v.details or {}).get("judged") is not False]
            if broken:
                res.violated.append((RunRef.of(run), broken))
            else:
                res.unjudged.append((RunRef.of(run), list(judgement.violations)))
        out.append(res)
    return out


def monitor_passes(monitors: Sequence[Invariant], runs: Sequence[Run]) -> tuple[int, int, int]:
    """(runs passing every monitor that applies, runs some monitor applies to, runs that could not
    be judged): the quality metric's events and total."""
    evaluators = [(m, _evaluator(m)) for m in monitors]
    passed = total = unjudged = 0
    for run in runs:
        relevant = [ev for m, ev in evaluators if applies(m.when, run)]
        if not relevant:
            continue
        judgements = [ev.evaluate(run) for ev in relevant]
        if any(v.kind in CANNOT_JUDGE for j in judgements for v in j.violations):
            unjudged += 1
            continue
        total += 1
        passed += all(j.passed for j in judgements)
    return passed, total, unjudged

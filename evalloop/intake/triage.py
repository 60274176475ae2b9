"""Deciding what each production signal becomes.

The repository's rules (`triage.rules` in evalloop.yaml) are tried first, in order; the first
that matches decides. Otherwise the built-in flow does, one question at a time:

1. Does it touch safety, privacy, money movement, authorization or a side effect (a near miss
   caught by approval always does)? A blocking eval.
2. Is it user confusion seen once? UX or documentation first, no eval yet.
3. Is it recurring, costly (a cost or latency outlier) or user-visible? A warning eval or
   product-quality fixture.
4. Was a tool error recovered correctly, with a trace that can be read? Keep the trace as
   evidence and monitor for recurrence.
5. Otherwise an exploratory eval.

Every decision names the rule that fired, the table rows it falls under with their review and
eval action, the owner, the release gates, and for blocking and warning evals the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from evalloop.intake import table
from evalloop.intake.deadline import due, is_overdue
from evalloop.intake.evidence import TraceChecker, TraceEvidence
from evalloop.intake.signals import LocatedSignal
from evalloop.model.config import Config
from evalloop.model.kinds import ChangeKind, Severity
from evalloop.model.signal import Signal
from evalloop.model.triage import Decision, RuleWhen, TriageRule

OwnerSource = Literal["signal", "rule", "defaults", "unassigned"]
DEADLINED: frozenset[str] = frozenset({"blocking", "warning"})  # conversions with a due date
_COSTLY = ("cost_outlier", "latency_outlier")


@dataclass(frozen=True)
class TriageDecision:
    signal: LocatedSignal
    decision: Decision
    rule: str  # a built-in rule's id, or `triage.rules[N]`
    rule_name: str | None
    why: str
    rows: tuple[table.Row, ...]
    actions: tuple[str, ...]
    owner: str | None
    owner_source: OwnerSource
    gates: tuple[ChangeKind, ...]
    deadline: dt.date | None
    overdue: bool
    trace: TraceEvidence | None

    @property
    def severity(self) -> Severity | None:
        """The severity of the eval the decision creates; None when it creates none."""
        d = self.decision
        return d if d in ("blocking", "warning", "exploratory") else None

    @property
    def unassigned(self) -> bool:
        return self.owner is None

    @property
    def next_step(self) -> str:
        return table.NEXT_STEPS[self.decision]


def triage(signals: Iterable[LocatedSignal], config: Config, today: dt.date,
           checker: TraceChecker) -> list[TriageDecision]:
    """One decision per signal, in the signals' order."""
    return [decide(s, config, today, checker.check(s.signal.trace) if s.signal.trace else None)
            for s in signals]


def decide(located: LocatedSignal, config: Config, today: dt.date,
           trace: TraceEvidence | None) -> TriageDecision:
    signal = located.signal
    rule: TriageRule | None = None
    for i, candidate in enumerate(config.triage.rules):
        if matches(candidate.when, signal):
            rule = candidate
            decision, rule_id, why = candidate.decision, f"triage.rules[{i}]", f"matched {describe(candidate.when)}"
            break
    else:
        decision, rule_id, why = builtin(signal, trace)
    rows = [r for r in table.rows_for(signal) if r is not table.BOUNDARY or decision == "blocking"]
    first = (rule.action if rule and rule.action else None) or table.BRANCH_ACTIONS[decision]
    actions = tuple(dict.fromkeys([first, *(r.action for r in rows)]))
    owner, source = _owner(signal, rule, config.defaults.owner)
    gates = tuple(rule.gates) if rule and rule.gates is not None else table.gates_for(decision, signal)
    deadline = due(signal.time) if decision in DEADLINED else None
    return TriageDecision(
        signal=located, decision=decision, rule=rule_id, rule_name=rule.name if rule else None, why=why,
        rows=tuple(rows), actions=actions, owner=owner, owner_source=source, gates=gates, deadline=deadline,
        overdue=deadline is not None and is_overdue(deadline, today), trace=trace,
    )


def builtin(signal: Signal, trace: TraceEvidence | None) -> tuple[Decision, str, str]:
    """The built-in flow: (decision, rule id, why)."""
    touches = table.touched(signal)
    if touches:
        if not signal.touches:  # only the kind implies one
            return "blocking", "boundary", "a near miss caught by approval: a side effect was about to happen"
        return "blocking", "boundary", f"touches {', '.join(touches)}"
    if signal.kind == "user_confusion" and signal.recurrence == 1:
        return "ux_first", "one-off-confusion", "user confusion seen once"
    reasons = []
    if signal.recurrence > 1:
        reasons.append(f"recurring (seen {signal.recurrence} times)")
    if signal.kind in _COSTLY:
        reasons.append(f"costly ({signal.kind.replace('_', ' ')})")
    if signal.user_visible:
        reasons.append("user-visible")
    if reasons:
        return "warning", "recurring-costly-visible", ", ".join(reasons)
    if signal.kind == "tool_error_recovered":
        if trace is not None and trace.useful:
            return "trace_evidence", "recovered-with-trace", f"recovered correctly, with a trace ({trace.note})"
        missing = "no trace" if trace is None else f"the trace is {trace.note}"
        return "exploratory", "exploratory", f"recovered, but {missing}: nothing to keep as evidence"
    return ("exploratory", "exploratory",
            "touches no boundary; not recurring, costly or user-visible; not a recovery with a useful trace")


def matches(when: RuleWhen, signal: Signal) -> bool:
    """Whether the signal meets every condition of `when` (a list: any of its values)."""
    wanted: list[tuple[object, Iterable[object]]] = [
        (when.kind, [signal.kind]),
        (when.severity, [signal.severity]),
        (when.touches, table.touched(signal)),
        (when.route, [signal.route]),
        (when.workflow, [signal.workflow]),
        (when.owner, [signal.owner]),
    ]
    for condition, have in wanted:
        if condition is not None and not set(_values(condition)) & set(have):
            return False
    if when.user_visible is not None and when.user_visible != signal.user_visible:
        return False
    return when.recurring is None or when.recurring == (signal.recurrence > 1)


def describe(when: RuleWhen) -> str:
    """The conditions as `kind cost_outlier, route refund_assist`."""
    parts = []
    for name in type(when).model_fields:
        value = getattr(when, name)
        if value is not None:
            shown = str(value).lower() if isinstance(value, bool) else " or ".join(_values(value))
            parts.append(f"{name} {shown}")
    return ", ".join(parts)


def _values(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _owner(signal: Signal, rule: TriageRule | None, default: str | None) -> tuple[str | None, OwnerSource]:
    if signal.owner:
        return signal.owner, "signal"
    if rule is not None and rule.owner:
        return rule.owner, "rule"
    if default:
        return default, "defaults"
    return None, "unassigned"

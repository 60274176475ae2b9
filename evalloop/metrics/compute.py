"""Every metric of the seed over a window, with its status, owner, action and trend: the one entry
point `evalloop metrics` (and anything building on it, such as a readiness review) calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from evalloop.metrics import gates, incidents, production, releases, thresholds
from evalloop.metrics.base import Outcome, Window
from evalloop.metrics.sources import LoopData
from evalloop.model.metrics import Metric, MetricsReport, TrendPoint

Compute = Callable[[LoopData, Window, Any], Outcome]

COMPUTE: dict[str, Compute] = {
    "incident_to_eval_conversion": incidents.conversion,
    "eval_catch_rate": incidents.catch_rate,
    "recurrence_rate": incidents.recurrence,
    "time_to_regression_test": incidents.time_to_test,
    "blocking_evals": gates.blocking_evals,
    "flaky_eval_rate": gates.flaky,
    "trace_coverage": production.trace_coverage,
    "policy_denial_accuracy": production.policy_denial_accuracy,
    "human_override_rate": production.human_override_rate,
    "rollback_frequency": releases.rollback_frequency,
    "mean_time_to_detect": releases.mean_time_to_detect,
}


def window(since: dt.date | None, until: dt.date | None, now: dt.datetime, days: int) -> Window:
    """`--since`/`--until` (default: the `days` days up to today)."""
    last = until or now.date()
    first = since or last - dt.timedelta(days=days - 1)
    return Window(first, last, now)


def outcome(data: LoopData, metric_id: str, w: Window) -> Outcome:
    """One metric's value and status over `w`."""
    return COMPUTE[metric_id](data, w, thresholds.settings(data.config.metrics, metric_id))


def metric(data: LoopData, spec: thresholds.Spec, w: Window) -> Metric:
    out = outcome(data, spec.id, w)
    investigate_when, block_when = thresholds.conditions(data.config.metrics, spec.id)
    trend = [TrendPoint(start=p.since, end=p.until, value=outcome(data, spec.id, p).value) for p in w.periods()]
    return Metric(
        id=spec.id, name=spec.name, value=out.value, unit=spec.unit, numerator=out.numerator,
        denominator=out.denominator, status=out.status, reasons=out.reasons, missing=out.missing, notes=out.notes,
        owner=thresholds.owner(data.config, spec.id), action=thresholds.action(data.config, spec, out.status),
        investigate_when=investigate_when, block_when=block_when, sources=list(spec.sources),
        threshold=thresholds.line(data.config.metrics, spec.id), trend=trend)


def report(data: LoopData, w: Window) -> MetricsReport:
    return MetricsReport(generated_at=w.now, since=w.since, until=w.until,
                         metrics=[metric(data, spec, w) for spec in thresholds.SPECS], sources=data.sources)

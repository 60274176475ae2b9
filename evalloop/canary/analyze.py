"""One canary analysis: both sides observed, invariants and metrics judged, the decision made."""

from __future__ import annotations

import datetime as dt

from evalloop import clock
from evalloop.canary.decision import CanaryResult, decide, judge_metric
from evalloop.canary.invariants import InvariantResult, RunRef, judge_invariants
from evalloop.canary.observe import Observed, Side, observe
from evalloop.errors import UsageError
from evalloop.model.canary import CanaryConfig, Metric
from evalloop.model.release import LedgerEntry


def _summary_invariants(cfg: CanaryConfig, side: Side) -> list[InvariantResult]:
    """Invariants as a summary reports them; one it does not report is unconfirmed (none checked)."""
    assert side.summary is not None
    out = []
    for inv in cfg.invariants:
        res = InvariantResult(inv.id, inv.reason, inv.incident_id, inv.min_runs)
        count = side.summary.invariants.get(inv.id)
        if count is not None:
            res.checked = count.checked
            unnamed = RunRef(None, None, side.sources[0] if side.sources else None)
            res.violated = [(unnamed, [])] * count.violations
        out.append(res)
    return out


def _invariants(cfg: CanaryConfig, side: Side) -> list[InvariantResult]:
    if side.runs is not None:
        return judge_invariants(cfg.invariants, side.runs)
    return _summary_invariants(cfg, side)


def _observe(side: Side, name: str, metric: Metric, cfg: CanaryConfig, now: dt.datetime) -> Observed:
    if metric.prometheus is None:
        return observe(side, name, metric, cfg.monitors)
    from evalloop.canary import prometheus

    version = cfg.baseline if side.name == "baseline" else cfg.candidate
    assert version.label is not None  # the config requires labels with a Prometheus metric
    try:
        if metric.type == "rate":
            events, total = prometheus.fetch_counts(metric.prometheus, version.label, now)
            return Observed(events, total)
        samples = prometheus.fetch_samples(metric.prometheus, version.label, now)
    except prometheus.PromNoData as exc:
        return Observed(missing=f"Prometheus has no data for the {side.name}: {exc}")
    return Observed(values=samples.values)


def analyze(cfg: CanaryConfig, baseline: Side, candidate: Side, *, step: int = 1,
            frozen: LedgerEntry | None = None, now: dt.datetime | None = None) -> CanaryResult:
    if not 1 <= step <= len(cfg.steps):
        raise UsageError(f"--step {step}: canary.yaml has {len(cfg.steps)} step(s)")
    now = now or clock.now()
    metrics = [judge_metric(name, m, _observe(baseline, name, m, cfg, now), _observe(candidate, name, m, cfg, now),
                            cfg.steps[step - 1], cfg)
               for name, m in cfg.metrics.items()]
    waited = None
    if candidate.first_ms is not None:
        waited = now - dt.datetime.fromtimestamp(candidate.first_ms / 1000, dt.UTC)
    result = decide(cfg, step, _invariants(cfg, candidate), _invariants(cfg, baseline), metrics,
                    baseline.samples, candidate.samples, frozen=frozen, waited=waited,
                    unrecognised_tools=candidate.unrecognised_tools)
    for base_inv, cand_inv in zip(result.baseline_invariants, result.invariants, strict=True):
        if base_inv.violated and cand_inv.violated:
            result.notes.append(f"the baseline violates {base_inv.id} too ({len(base_inv.violated)} runs): the "
                                "fault predates the candidate, and rolling back will not remove it")
    return result

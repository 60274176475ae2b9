"""The dashboard thresholds (seed, "Dashboard Thresholds"): for each metric, when to investigate and
when to block or roll back, who acts and what they do. The conditions are the seed's words with the
configured numbers; evalloop's defaults fill the metrics the seed's table has no row for."""

from __future__ import annotations

from dataclasses import dataclass

from evalloop.model.config import Config
from evalloop.model.metrics import MetricsConfig, MetricSettings, MetricStatus, Unit

UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Spec:
    id: str
    name: str
    unit: Unit
    sources: tuple[str, ...]
    investigate_action: str
    block_action: str | None


SPECS: tuple[Spec, ...] = (
    Spec("incident_to_eval_conversion", "Incident-to-eval conversion rate", "ratio",
         ("incident records", "git history"),
         "Capture a minimal fixture for each serious incident (evalloop capture) within the deadline.",
         "Hold the release until the repeated incident has a regression eval."),
    Spec("eval_catch_rate", "Eval catch rate before release", "ratio",
         ("gate ledger", "incident records", "release ledgers"),
         "Review why the suite missed these incidents and add fixtures for their failure modes.",
         "Hold the release: make the known incident's fixture fail on the repeated failure, then gate again."),
    Spec("recurrence_rate", "Recurrence rate for known incidents", "ratio", ("incident records", "git history"),
         "Replay the recurring incident against its fixture: the fixture no longer reproduces the failure.", None),
    Spec("time_to_regression_test", "Time from incident to regression test", "hours",
         ("incident records", "git history"),
         "Capture the fixture while the trace and the context are fresh: triage close to the incident.", None),
    Spec("blocking_evals", "Number of blocking evals", "count", ("fixtures", "git history"),
         "Keep blocking evals few, serious and maintained: give each an owner and a reason, renew or delete "
         "expired ones, downgrade quality checks to warning.", None),
    Spec("flaky_eval_rate", "Flaky eval rate", "ratio", ("gate ledger", "fixtures"),
         "Fix the flaky fixtures, or quarantine them with an owner and an expiry (quarantine.yaml).",
         "Name an owner for the flaky blocking eval's repair (its owner, or a quarantine entry) before the next "
         "release."),
    Spec("trace_coverage", "Production trace coverage", "ratio", ("trace sample", "release ledgers"),
         "Instrument the missing route, tool, policy and stop-reason spans on risky routes.",
         "Roll back the release: it changed risky behaviour without trace coverage."),
    Spec("policy_denial_accuracy", "Policy-denial accuracy", "ratio", ("trace sample", "production signals"),
         "Check whether the policy, the routing or the UI expectation was wrong; add paired allow/deny fixtures.",
         "Roll back: the agent executed a side effect after a policy denial. Add a fixture forbidding it."),
    Spec("human_override_rate", "Human-override rate", "per_week",
         ("production signals", "git history", "release ledgers"),
         "Compare the change before the spike with the overrides; add warning evals for the corrections.",
         "Roll back the change and add blocking fixtures for the skipped approval or the wrong tool choice."),
    Spec("rollback_frequency", "Rollback frequency", "per_30_days", ("release ledgers", "git history"),
         "Review the component rolled back again and again: its gate misses what breaks it.",
         "Freeze the component's automatic promotion until a fixture gating its kind is added."),
    Spec("mean_time_to_detect", "Mean time to detect a regression", "hours", ("release ledgers",),
         "Tighten the canary's checks so a regression is caught in fewer steps.", None),
)


def settings(m: MetricsConfig, metric_id: str) -> MetricSettings:
    found: MetricSettings = getattr(m, metric_id)
    return found


def conditions(m: MetricsConfig, metric_id: str) -> tuple[str, str | None]:
    """(investigate when, block or roll back when) in the seed's words, with the configured numbers."""
    c = m.incident_to_eval_conversion
    table: dict[str, tuple[str, str | None]] = {
        "incident_to_eval_conversion": (
            f"Serious incidents produce no fixture within {c.deadline_business_days} business days.",
            "A repeated incident has no regression eval."),
        "eval_catch_rate": (
            f"Production incidents bypass the suite more than {_times(m.eval_catch_rate.max_escapes_per_cycle)} "
            "in a release cycle.",
            "A known incident fixture passes while production repeats the same failure."),
        "recurrence_rate": (
            f"More than {m.recurrence_rate.investigate_above:.0%} of known incidents recur after their fixture.",
            None),
        "time_to_regression_test": (
            f"An incident waits more than {m.time_to_regression_test.investigate_above_business_days} business days "
            "for its regression test.", None),
        "blocking_evals": (
            f"More than {m.blocking_evals.max_share:.0%} of fixtures block, or a blocking fixture has no owner, no "
            "reason, or expired.", None),
        "flaky_eval_rate": (
            f"More than {m.flaky_eval_rate.investigate_above:.0%} of release-gate runs require rerun.",
            "A blocking eval is flaky and nobody owns the repair."),
        "trace_coverage": (
            f"Fewer than {m.trace_coverage.investigate_below:.0%} of risky runs have complete route, tool, policy, "
            "and stop-reason spans.",
            "A release changes risky behavior without trace coverage."),
        "policy_denial_accuracy": (
            f"Operators frequently override denials (fewer than {m.policy_denial_accuracy.investigate_below:.0%} "
            "stand) or users report false refusals.",
            "The agent executes a side effect after a policy denial."),
        "human_override_rate": (
            "Overrides spike after a prompt, model, retrieval, or policy change "
            f"({m.human_override_rate.spike_factor:g}x the {m.human_override_rate.spike_window_days} days before, "
            f"at least {m.human_override_rate.spike_min}).",
            "Overrides expose skipped approval, stale evidence, or wrong tool choice."),
        "rollback_frequency": (
            f"Rollbacks cluster around the same component ({m.rollback_frequency.cluster_count} or more).",
            "The same component causes two rollback events without a new gate."),
        "mean_time_to_detect": (
            f"Above {m.mean_time_to_detect.investigate_above_hours:g} hours."
            if m.mean_time_to_detect.investigate_above_hours is not None
            else "No threshold set (metrics.mean_time_to_detect.investigate_above_hours).", None),
    }
    return table[metric_id]


def _times(n: int) -> str:
    return {0: "at all", 1: "once", 2: "twice"}.get(n, f"{n} times")


def owner(config: Config, metric_id: str) -> str:
    """The metric's owner, else the loop's (`loop.owner`), else `defaults.owner`, else unassigned."""
    return settings(config.metrics, metric_id).owner or config.loop.owner or config.defaults.owner or UNASSIGNED


def action(config: Config, spec: Spec, status: MetricStatus) -> str | None:
    s = settings(config.metrics, spec.id)
    if status == "investigate":
        return s.investigate_action or spec.investigate_action
    if status == "block":
        return s.block_action or spec.block_action
    return None


def line(m: MetricsConfig, metric_id: str) -> float | None:
    """The investigate threshold as a number on the metric's scale, for the chart's dashed line."""
    return {
        "recurrence_rate": m.recurrence_rate.investigate_above,
        "flaky_eval_rate": m.flaky_eval_rate.investigate_above,
        "trace_coverage": m.trace_coverage.investigate_below,
        "policy_denial_accuracy": m.policy_denial_accuracy.investigate_below,
        "mean_time_to_detect": m.mean_time_to_detect.investigate_above_hours,
    }.get(metric_id)

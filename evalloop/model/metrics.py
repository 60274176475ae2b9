"""The loop measuring itself (docs/metrics.md): the gate ledger's line, the `metrics:` block of
evalloop.yaml, and what `evalloop metrics` reports.

The gate ledger (`ledgers/gates.jsonl` by default, `evalloop gate --record`) is append-only: one
JSON object a line, one line per gate run, never rewritten. In CI, where the checkout is thrown
away, the JSON reports the Action uploads are the same record (`evalloop metrics --gate-reports
DIR` reads a folder of them).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.kinds import Severity
from evalloop.model.results import ResultStatus, Verdict

GATE_LEDGER = "ledgers/gates.jsonl"
GATE_LEDGER_SCHEMA_VERSION = 1
REPORT_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the gate ledger ---------------------------------------------------------------------------

class RecordedResult(_Strict):
    id: str = Field(description="The fixture's id.")
    severity: Severity = Field(description="The fixture's severity in the gated revision.")
    status: ResultStatus = Field(description="pass, fail, error, flaky (its runs disagreed) or no_run.")
    runs: int = Field(default=0, ge=0, description="How many times the fixture ran (attempts).")
    passes: int = Field(default=0, ge=0, description="How many of those runs passed.")
    quarantined: bool = Field(default=False, description="An owned, unexpired quarantine entry excused it.")
    owner: str | None = Field(default=None, description="The fixture's owner.")
    incident_id: str | None = Field(default=None, description="The incident the fixture reproduces.")


class RecordedCounts(_Strict):
    """The gate report's `counts`, as the ledger keeps them."""

    selected: int = Field(default=0, description="Fixtures the change selected (this shard's, for a shard).")
    passed: int = Field(default=0, description="Results that passed.")
    failed: int = Field(default=0, description="Results that failed.")
    errored: int = Field(default=0, description="Results that errored.")
    flaky: int = Field(default=0, description="Results whose runs disagreed.")
    no_run: int = Field(default=0, description="Selected fixtures with no result.")
    blocking_failures: int = Field(default=0, description="Blocking fixtures failing the gate.")
    warnings: int = Field(default=0, description="Warning fixtures failing.")


class GateRecord(_Strict):
    """One gate run: a line of the gate ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop gate ledger line"})

    schema_version: Literal[1] = Field(default=1, description="The ledger line format's version.")
    timestamp: dt.datetime = Field(description="When the gate finished (UTC, ISO 8601).")
    started_at: str | None = Field(default=None, description="When the gate started (ISO 8601, UTC).")
    base: str | None = Field(default=None, description="The base commit.")
    head: str | None = Field(default=None, description="The head commit (the change).")
    merge_base: str | None = Field(default=None, description="Their merge-base, where the diff starts.")
    verdict: Verdict = Field(description="pass, warn or block.")
    shard: str | None = Field(default=None, description="I/N when the gate ran one shard.")
    run_id: str | None = Field(default=None, description="The CI run (GITHUB_RUN_ID), when in GitHub Actions.")
    run_attempt: int | None = Field(
        default=None, ge=1, description="The CI run's attempt (GITHUB_RUN_ATTEMPT): above 1, someone re-ran it.")
    changed_kinds: list[str] = Field(default_factory=list, description="The kinds of the changed paths.")
    results: list[RecordedResult] = Field(default_factory=list, description="Each fixture's result.")
    counts: RecordedCounts = Field(default_factory=RecordedCounts, description="The report's counts.")


# --- the `metrics:` block of evalloop.yaml ----------------------------------------------------

class MetricSettings(_Strict):
    owner: str | None = Field(
        default=None, description="Who acts on this metric (default: `loop.owner`, then `defaults.owner`).")
    investigate_action: str | None = Field(default=None, description="What to do when it says investigate.")
    block_action: str | None = Field(default=None, description="What to do when it says block or roll back.")


class ConversionSettings(MetricSettings):
    deadline_business_days: int = Field(
        default=2, ge=0, description="Business days a serious incident may go without a fixture.")


class CatchRateSettings(MetricSettings):
    max_escapes_per_cycle: int = Field(
        default=1, ge=0, description="Investigate when more incidents than this reach production in one release cycle.")
    release_cycle_days: int = Field(
        default=14, ge=1, description="Length of a release cycle when the release ledgers record no promotion.")


class RecurrenceSettings(MetricSettings):
    investigate_above: float = Field(
        default=0.0, ge=0, le=1, description="Investigate when the recurrence rate is above this share.")


class TimeToTestSettings(MetricSettings):
    investigate_above_business_days: int = Field(
        default=2, ge=0, description="Investigate when an incident waited longer than this for its fixture.")


class BlockingEvalsSettings(MetricSettings):
    max_share: float = Field(
        default=0.5, ge=0, le=1, description="Investigate when more than this share of the fixtures block.")


class FlakySettings(MetricSettings):
    investigate_above: float = Field(
        default=0.05, ge=0, le=1, description="Investigate when more than this share of gate runs needed a rerun.")


class TraceCoverageSettings(MetricSettings):
    investigate_below: float = Field(
        default=0.95, ge=0, le=1, description="Investigate when fewer than this share of risky runs are complete.")
    risky_routes: list[str] = Field(
        default_factory=list,
        description="Routes whose runs are risky; empty: every run is (a run without a route always is).")


class DenialAccuracySettings(MetricSettings):
    investigate_below: float = Field(
        default=0.9, ge=0, le=1, description="Investigate when fewer than this share of denials stood.")
    side_effect_tools: list[str] = Field(
        default_factory=list,
        description="Tools that change state, besides those the tool manifest marks `side_effect`.")


class OverrideSettings(MetricSettings):
    spike_window_days: int = Field(default=7, ge=1, description="Days before and after a change that are compared.")
    spike_factor: float = Field(default=2.0, gt=0, description="After/before ratio that is a spike.")
    spike_min: int = Field(default=3, ge=1, description="Fewest overrides after a change that can be a spike.")


class RollbackSettings(MetricSettings):
    cluster_count: int = Field(
        default=2, ge=2, description="Rollbacks of one component in the window that are a cluster.")


class DetectSettings(MetricSettings):
    investigate_above_hours: float | None = Field(
        default=None, gt=0, description="Investigate when the mean time to detect is above this (none: no threshold).")


class MetricsConfig(_Strict):
    """`evalloop metrics` (docs/metrics.md): where the loop's records are and its thresholds."""

    gate_ledger: str = Field(
        default=GATE_LEDGER, description="The gate ledger (`evalloop gate --record`), from the root.")
    signals: list[str] = Field(
        default_factory=lambda: ["signals/**/*.jsonl", "signals/**/*.ndjson", "signals/**/*.yaml",
                                 "signals/**/*.yml", "signals/**/*.json"],
        description="Globs of production signals files (docs/intake.md).")
    traces: list[str] = Field(
        default_factory=list, description="Globs of the production trace sample (besides `--traces`).")
    branch: str = Field(default="HEAD", description="The main line whose first-parent history is read.")
    window_days: int = Field(default=90, ge=1, description="Days before `--until` that `--since` defaults to.")
    serious_severities: list[str] = Field(
        default_factory=lambda: ["sev1", "sev2", "blocking"], description="Incident severities that are serious.")
    incident_to_eval_conversion: ConversionSettings = Field(
        default_factory=ConversionSettings, description="Incident-to-eval conversion rate.")
    eval_catch_rate: CatchRateSettings = Field(default_factory=CatchRateSettings, description="Eval catch rate.")
    recurrence_rate: RecurrenceSettings = Field(
        default_factory=RecurrenceSettings, description="Recurrence rate for known incidents.")
    time_to_regression_test: TimeToTestSettings = Field(
        default_factory=TimeToTestSettings, description="Time from incident to regression test.")
    blocking_evals: BlockingEvalsSettings = Field(
        default_factory=BlockingEvalsSettings, description="Number of blocking evals.")
    flaky_eval_rate: FlakySettings = Field(default_factory=FlakySettings, description="Flaky eval rate.")
    trace_coverage: TraceCoverageSettings = Field(
        default_factory=TraceCoverageSettings, description="Production trace coverage.")
    policy_denial_accuracy: DenialAccuracySettings = Field(
        default_factory=DenialAccuracySettings, description="Policy-denial accuracy.")
    human_override_rate: OverrideSettings = Field(default_factory=OverrideSettings, description="Human-override rate.")
    rollback_frequency: RollbackSettings = Field(default_factory=RollbackSettings, description="Rollback frequency.")
    mean_time_to_detect: DetectSettings = Field(
        default_factory=DetectSettings, description="Mean time to detect a regression.")


# --- what `evalloop metrics` reports ---------------------------------------------------------

MetricStatus = Literal["ok", "investigate", "block", "no_data", "info"]
Unit = Literal["ratio", "hours", "count", "per_week", "per_30_days"]


class TrendPoint(_Strict):
    start: dt.date = Field(description="First day of the period.")
    end: dt.date = Field(description="Last day of the period.")
    value: float | None = Field(description="The metric over the period; null when it cannot be computed.")


class Metric(_Strict):
    id: str = Field(description="The metric's key (as in evalloop.yaml `metrics:`).")
    name: str = Field(description="The metric's name, as the seed says it.")
    value: float | None = Field(description="Null when it cannot be computed (`missing` says why), never a zero.")
    unit: Unit = Field(description="ratio (0..1), hours, count, per_week or per_30_days.")
    numerator: int | None = Field(default=None, description="What is counted (a rate's numerator).")
    denominator: int | None = Field(default=None, description="Out of what (a rate's denominator).")
    status: MetricStatus = Field(description="ok, investigate, block (or roll back), no_data, info (no threshold).")
    reasons: list[str] = Field(default_factory=list, description="Why the status: the records that tripped it.")
    missing: list[str] = Field(default_factory=list, description="The data that is missing (status no_data).")
    notes: list[str] = Field(default_factory=list, description="What was assumed, or could not be checked.")
    owner: str = Field(description="Who acts on it ('unassigned' when nobody is configured).")
    action: str | None = Field(default=None, description="What to do now, for investigate and block.")
    investigate_when: str = Field(description="The threshold table's 'Investigate When'.")
    block_when: str | None = Field(default=None, description="The threshold table's 'Block Or Roll Back When'.")
    sources: list[str] = Field(default_factory=list, description="The records it is computed from.")
    threshold: float | None = Field(
        default=None, description="The investigate threshold on the value's scale, where it is a number.")
    trend: list[TrendPoint] = Field(default_factory=list, description="The value period by period.")


class Source(_Strict):
    name: str = Field(description="incidents, fixtures, git history, gate ledger, release ledgers, signals, traces.")
    where: str = Field(description="The files or revision read.")
    found: bool = Field(description="Whether the data exists at all.")
    records: int = Field(default=0, description="How many records were read.")


class MetricsReport(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop metrics report"})

    schema_version: Literal[1] = Field(default=1, description="The report format's version.")
    generated_at: dt.datetime = Field(description="When the report was made (UTC).")
    since: dt.date = Field(description="First day of the window.")
    until: dt.date = Field(description="Last day of the window.")
    metrics: list[Metric] = Field(description="Every metric, in the seed's order.")
    sources: list[Source] = Field(description="What was read.")

"""`canary.yaml`: how a candidate artifact is released gradually and when it comes back.

A canary compares production runs of the candidate with runs of the baseline:
**invariants** (the fixture assertion language, judged on every candidate run
they apply to; one violation rolls back, because rare safety events cannot be
caught by statistics at canary sample sizes) and **metrics** (quality, cost,
latency, tool errors, policy denials, human overrides), each compared with an
exact or rank test and judged against an allowed and a critical change.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evalloop.model.fixture import ID_PATTERN, Expected
from evalloop.model.kinds import ChangeKind
from evalloop.model.prometheus import PromSource
from evalloop.model.release import ENV_PATTERN

CANARY_FILE = "canary.yaml"
# `type:name` with `*` as the name: any span of the type.
SPAN_PATTERN = r"^(model|tool|retrieval|policy|approval|workflow|message|memory):[^:\s].*$"
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `1d` as a timedelta."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r} (expected a number and s, m, h or d, like 30m)")
    return dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Version(Strict):
    revision: str = Field(min_length=1, description="The git revision (commit, tag) of the artifact this side runs.")
    label: str | None = Field(
        default=None, description="The value production traces carry for this side (`service.version`), "
        "and the one substituted for `$variant` in Prometheus queries.")


class Step(Strict):
    weight: int = Field(ge=1, le=100, description="The candidate's share of traffic in this step, in percent.")
    min_samples: int = Field(default=100, ge=1, description="Candidate runs needed before the step can be decided.")
    max_wait: str = Field(default="24h", description="How long the step may wait for its samples (`30m`, `2h`, `1d`); "
                          "after it the canary still holds, and says a person must decide.")

    @field_validator("max_wait")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Condition(Strict):
    """A test on one span of the run; the run matches when some span of that ref passes it."""

    span: str = Field(pattern=SPAN_PATTERN, description="The span (`type:name`, or `type:*` for any span of the type).")
    field: str = Field(
        default="status", pattern=r"^(status|name|error|args(\.[^.]+)*|result(\.[^.]+)*)$",
        description="What is tested: `status`, `name`, `error`, or a dotted path into `args` or `result` "
        "(`args.amount`, `result.requires_approval`).")
    equals: Any = Field(default=None, description="Equal to this value (JSON equality: `true` is not `1`).")
    one_of: list[Any] | None = Field(default=None, description="Equal to one of these values.")
    gt: float | None = Field(default=None, description="A number greater than this.")
    gte: float | None = Field(default=None, description="A number at least this.")
    lt: float | None = Field(default=None, description="A number less than this.")
    lte: float | None = Field(default=None, description="A number at most this.")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if "equals" not in self.model_fields_set and not any(
                x is not None for x in (self.one_of, self.gt, self.gte, self.lt, self.lte)):
            raise ValueError("a condition needs a test: equals, one_of, gt, gte, lt or lte")
        return self


class When(Strict):
    """Which runs an invariant applies to (or a rate metric counts); every part must hold."""

    route: str | None = Field(default=None, description="The run took this route.")
    spans: list[str] = Field(default_factory=list,
                             description="The run has every one of these spans (`type:*` allowed).")
    where: list[Condition] = Field(default_factory=list, description="Every condition holds on some span.")
    final_status: str | None = Field(default=None, description="The run ended with this final status.")


class Invariant(Strict):
    id: str = Field(pattern=ID_PATTERN, description="The invariant's name, shown when it is violated.")
    reason: str = Field(min_length=1, description="Why it must hold: the incident or rule it protects.")
    incident_id: str | None = Field(default=None, pattern=ID_PATTERN, description="The incident it comes from.")
    when: When | None = Field(default=None, description="The runs it applies to; every run when absent.")
    expect: Expected = Field(description="What every run it applies to must satisfy: the fixture `expected` language.")
    min_runs: int = Field(default=1, ge=0, description=(
        "Candidate runs it must apply to before the step can promote (an invariant no run exercised is not "
        "confirmed); 0 for a rule about rare events, such as a policy denial, that a step may not see."))


class Metric(Strict):
    type: Literal["rate", "continuous"] = Field(
        description="rate: the share of runs that match `when` (exact test); continuous: a number per run "
        "(Mann-Whitney U).")
    measure: Literal["cost_usd", "latency_ms", "tokens", "tool_calls"] | None = Field(
        default=None, description="Continuous metrics: the run's number compared.")
    when: When | None = Field(default=None, description="Rate metrics: the runs that count as events.")
    worse: Literal["higher", "lower"] = Field(default="higher", description="Which direction is a regression.")
    allowed: float = Field(ge=0, description=(
        "The largest regression that still holds the guardrail: a rate metric's share in absolute points "
        "(0.02 = two percentage points), a continuous metric's median relative change (0.10 = 10%)."))
    critical: float = Field(ge=0, description="A regression this large (significant) rolls back at once.")
    rollback_on_fail: bool = Field(
        default=False, description="Roll back (not hold) when the regression passes `allowed` but not `critical`.")
    min_samples: int | None = Field(default=None, ge=1, description="Runs needed on each side (default: the step's).")
    prometheus: PromSource | None = Field(
        default=None, description="Read this metric from Prometheus instead of the traces (docs/canary.md).")

    @model_validator(mode="after")
    def _consistent(self) -> Metric:
        if self.critical < self.allowed:
            raise ValueError("critical must be at least allowed")
        if self.type == "continuous" and self.measure is None and self.prometheus is None:
            raise ValueError("a continuous metric needs `measure` (or a prometheus query)")
        if self.prometheus is not None and self.prometheus.kind != self.type:
            raise ValueError(f"a {self.type} metric's prometheus block needs "
                             + ("`events` and `total`" if self.type == "rate" else "`query`"))
        return self


class Statistics(Strict):
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="One-sided significance level of each test.")
    power: float = Field(default=0.8, gt=0.5, lt=1, description="Power the smallest detectable change is computed for.")
    rate_test: Literal["auto", "boschloo", "fisher"] = Field(
        default="auto", description="Exact test for rates; auto: Boschloo (more powerful) up to 300 runs a side, "
        "Fisher above, where Boschloo's cost grows with the square of the sample.")


class CanaryConfig(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop canary"})

    version: Literal[1] = Field(default=1, description="The canary.yaml format's version.")
    artifact: str = Field(min_length=1, description="The artifact released: a file or folder of the repository.")
    kind: ChangeKind | None = Field(default=None,
                                    description="Its kind (default: from its path, as the gate classifies).")
    env: str = Field(default="production", pattern=ENV_PATTERN,
                     description="The environment: the release ledger's name.")
    baseline: Version = Field(description="The version in production now (the last known-good).")
    candidate: Version = Field(description="The version being released.")
    steps: list[Step] = Field(min_length=1, description="Traffic steps, in order; the last one is the full rollout.")
    invariants: list[Invariant] = Field(default_factory=list, description="Rules every candidate run must keep.")
    monitors: list[Invariant] = Field(
        default_factory=list, description="Checks whose pass rate is the `quality` metric (a failure is not a "
        "rollback by itself, unlike an invariant's).")
    metrics: dict[str, Metric] = Field(default_factory=dict, description=(
        "Metrics by name, over the built-in quality, cost, latency, tool_errors, policy_denials and "
        "human_overrides (set a built-in's thresholds by naming it; `type` and its measure default)."))
    statistics: Statistics = Field(default_factory=Statistics, description="Test settings.")

    @field_validator("metrics", mode="before")
    @classmethod
    def _builtins(cls, v: Any) -> Any:
        # A built-in named with only its thresholds gets its definition filled in.
        if not isinstance(v, dict):
            return v
        out = {}
        for name, spec in v.items():
            base = BUILTIN_METRICS.get(name)
            out[name] = {**base, **spec} if base is not None and isinstance(spec, dict) else spec
        return out

    @model_validator(mode="after")
    def _unique(self) -> CanaryConfig:
        ids = [i.id for i in [*self.invariants, *self.monitors]]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"invariant and monitor ids must be unique: {', '.join(dupes)}")
        if any(m.prometheus for m in self.metrics.values()):
            labels = (self.baseline.label, self.candidate.label)
            if None in labels or labels[0] == labels[1]:
                raise ValueError("a Prometheus metric needs distinct `label`s on baseline and candidate: the values "
                                 "{{ variant }} stands for")
        if "quality" in self.metrics and not self.monitors:
            raise ValueError("the quality metric is the pass rate of `monitors`: list at least one")
        return self


# What the built-in metrics measure; canary.yaml adds thresholds (and may redefine any part).
BUILTIN_METRICS: dict[str, dict[str, Any]] = {
    "quality": {"type": "rate", "worse": "lower"},
    "cost": {"type": "continuous", "measure": "cost_usd"},
    "latency": {"type": "continuous", "measure": "latency_ms"},
    "tool_errors": {"type": "rate", "when": {"where": [{"span": "tool:*", "field": "status", "equals": "failed"}]}},
    "policy_denials": {"type": "rate",
                       "when": {"where": [{"span": "policy:*", "field": "status", "equals": "denied"}]}},
    # A person rejecting what the agent put up for approval overrode it.
    "human_overrides": {"type": "rate",
                        "when": {"where": [{"span": "approval:*", "field": "status", "equals": "denied"}]}},
}


class RateCount(Strict):
    events: int = Field(ge=0, description="Runs that counted as events.")
    total: int = Field(ge=1, description="Runs counted.")

    @model_validator(mode="after")
    def _bounded(self) -> RateCount:
        if self.events > self.total:
            raise ValueError("events cannot exceed total")
        return self


class InvariantCount(Strict):
    checked: int = Field(ge=0, description="Runs the invariant applied to.")
    violations: int = Field(ge=0, description="Runs that violated it.")


class MetricSummary(Strict):
    """One side of a canary given as numbers instead of traces (from a metrics store, or another tool)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"title": "evalloop canary metric summary"})

    kind: Literal["evalloop.canary-summary"] = Field(description="Marks the file as a summary, not a trace.")
    version: Literal[1] = Field(default=1, description="The summary format's version.")
    runs: int = Field(ge=0, description="Production runs the summary covers.")
    rates: dict[str, RateCount] = Field(default_factory=dict, description="Rate metrics by name.")
    values: dict[str, list[float]] = Field(default_factory=dict, description="Continuous metrics: one value per run.")
    invariants: dict[str, InvariantCount] = Field(
        default_factory=dict, description="Invariants judged where the runs are; one missing here cannot be confirmed.")

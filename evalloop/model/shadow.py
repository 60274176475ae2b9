"""Shadow comparison: a baseline and a candidate revision run on the same inputs, each pair of
runs compared (docs/shadow.md). `evalloop shadow` and the gate's model route section share it.

A pair is one input's run number n on each side. What it compares: the tool calls (names in
order), the policy denials, cost and latency, the outcome (final status, stop reason, route)
and, for a fixture, the verdict of each run. A side that has no run, or whose run could not be
judged, counts as failing (fail closed) and the pair as not compared.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.fixture import ID_PATTERN, Context
from evalloop.model.kinds import Severity

SideVerdict = Literal["pass", "fail", "error"]
Flip = Literal["pass_to_fail", "fail_to_pass", "unchanged"]
InputKind = Literal["fixture", "captured"]
RegressionKind = Literal["no_comparison", "verdict_to_fail", "new_policy_denial", "tool_change_then_fails"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapturedInput(_Model):
    """One line of `evalloop shadow --inputs FILE`: a production request as the agent got it, with
    what replays it (mocked tool outputs, state). No expectations: a captured input has no verdict."""

    id: str = Field(pattern=ID_PATTERN, description="Unique in the file.")
    input: dict[str, Any] = Field(description="What the agent receives (the user message and request fields).")
    context: Context = Field(default_factory=Context, description="As a fixture's `context`: tool outputs, state.")


class ToolSelection(_Model):
    baseline: list[str] = Field(default_factory=list, description="The baseline run's tool calls by name, in order.")
    candidate: list[str] = Field(default_factory=list, description="The candidate run's tool calls, in order.")
    added: list[str] = Field(default_factory=list,
                             description="Calls the candidate makes beyond the baseline's (counted with repeats).")
    removed: list[str] = Field(default_factory=list, description="Calls of the baseline the candidate no longer makes.")
    first_divergence: int | None = Field(
        default=None, description="The first tool call (from 1) where the two differ; null when they agree.")
    changed: bool = Field(default=False, description="Both sides ran and their tool calls differ (names or order).")


class PolicyDenials(_Model):
    baseline: list[str] = Field(default_factory=list, description="Policy spans denied in the baseline run, in order.")
    candidate: list[str] = Field(default_factory=list, description="Policy spans denied in the candidate run.")
    new: list[str] = Field(default_factory=list, description="Denials only the candidate has (counted with repeats).")
    gone: list[str] = Field(default_factory=list, description="Denials only the baseline has.")
    changed: bool = Field(default=False, description="Both sides ran and one has a denial the other has not.")


class Measure(_Model):
    """A measurement on each side; delta = candidate - baseline, relative = delta / baseline.
    Null where a side recorded nothing usable (absent, NaN, infinite) or the baseline is 0."""

    baseline: float | None = None
    candidate: float | None = None
    delta: float | None = None
    relative: float | None = None


class ValueChange(_Model):
    baseline: str | None = None
    candidate: str | None = None
    changed: bool = Field(default=False, description="Both sides ran and the values differ.")


class VerdictChange(_Model):
    """The fixture's verdict on each run; an error counts as a failure for the flip."""

    baseline: SideVerdict
    candidate: SideVerdict
    flip: Flip


class Regression(_Model):
    kind: RegressionKind = Field(
        description="no_comparison: a side has no run or no verdict; verdict_to_fail: a blocking fixture passes "
        "on the baseline and fails on the candidate; new_policy_denial: the candidate is denied by a policy the "
        "baseline was not; tool_change_then_fails: the tool calls changed and the candidate fails a blocking "
        "fixture.")
    detail: str


class ShadowPair(_Model):
    id: str = Field(description="The fixture's or the captured input's id.")
    run: int = Field(default=1, description="The run number (from 1) paired on both sides.")
    input_kind: InputKind = "fixture"
    severity: Severity | None = Field(default=None, description="The fixture's; null for a captured input.")
    path: str | None = Field(default=None, description="The fixture file, or FILE:LINE of the captured input.")
    baseline_error: str | None = Field(default=None, description="Why the baseline side has no run or no verdict.")
    candidate_error: str | None = Field(default=None, description="Why the candidate side has no run or no verdict.")
    tool_selection: ToolSelection = Field(default_factory=ToolSelection)
    policy_denials: PolicyDenials = Field(default_factory=PolicyDenials)
    cost_usd: Measure = Field(default_factory=Measure)
    latency_ms: Measure = Field(default_factory=Measure)
    verdict: VerdictChange | None = Field(default=None, description="Null for a captured input (no expectations).")
    candidate_failures: list[str] = Field(
        default_factory=list, description="Why the candidate's run fails its fixture (violation messages).")
    final_status: ValueChange = Field(default_factory=ValueChange)
    stop_reason: ValueChange = Field(default_factory=ValueChange)
    route: ValueChange = Field(default_factory=ValueChange)
    regressions: list[Regression] = Field(default_factory=list,
                                          description="Why this pair regresses; empty: it does not.")

    @property
    def compared(self) -> bool:
        return self.baseline_error is None and self.candidate_error is None

    @property
    def cost_changed(self) -> bool:
        d = self.cost_usd.delta
        return d is not None and abs(d) > 1e-12

    @property
    def differs(self) -> bool:
        """Whether anything but latency (which varies from run to run) differs, or a side failed to run."""
        flipped = self.verdict is not None and self.verdict.flip != "unchanged"
        return (not self.compared or flipped or self.tool_selection.changed or self.policy_denials.changed
                or self.cost_changed or self.final_status.changed or self.stop_reason.changed
                or self.route.changed)


class ShadowSummary(_Model):
    pairs: int = 0
    inputs: int = 0
    differing: int = Field(default=0, description="Pairs where anything but latency differs.")
    tool_selection_changes: int = 0
    new_policy_denials: int = Field(default=0,
                                    description="Pairs where the candidate has a denial the baseline has not.")
    gone_policy_denials: int = 0
    flips_to_fail: int = 0
    flips_to_pass: int = 0
    final_status_changes: int = 0
    stop_reason_changes: int = 0
    route_changes: int = 0
    not_compared: int = Field(default=0, description="Pairs with a side that has no run or no verdict.")
    regressions: int = Field(default=0, description="Pairs that regress.")
    cost_baseline_usd: float | None = Field(default=None, description="Total cost of the baseline runs.")
    cost_candidate_usd: float | None = None
    cost_delta_total_usd: float | None = Field(default=None, description="Over the pairs with a cost on both sides.")
    cost_delta_median_usd: float | None = None
    latency_delta_total_ms: float | None = None
    latency_delta_median_ms: float | None = None


class ShadowReport(_Model):
    baseline: str = Field(description="The baseline revision (commit).")
    candidate: str = Field(description="The candidate revision (commit), or `work tree` for uncommitted files.")
    baseline_ref: str | None = Field(default=None, description="The baseline as given (a branch, a tag).")
    candidate_ref: str | None = None
    inputs: InputKind = "fixture"
    inputs_file: str | None = Field(default=None, description="The captured inputs file (--inputs).")
    runs: int | None = Field(default=None, description="Runs of each input on each side; null: each fixture's `runs`.")
    pairs: list[ShadowPair] = Field(default_factory=list)
    summary: ShadowSummary = Field(default_factory=ShadowSummary)
    notes: list[str] = Field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(p.regressions for p in self.pairs)

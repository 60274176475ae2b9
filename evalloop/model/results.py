"""The gate's results and the report it is published in (README, "evalloop gate").

`block` if any blocking fixture fails, errors, is flaky without an owned quarantine,
or has no run; `warn` if any warning fixture fails; `pass` otherwise. Exploratory
fixtures are reported and never gate. Nothing is averaged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from evalloop.model.kinds import Severity
from evalloop.model.shadow import ShadowReport

Verdict = Literal["pass", "warn", "block"]
ResultStatus = Literal["pass", "fail", "error", "flaky", "no_run"]
ChangeStatus = Literal["added", "modified", "deleted", "renamed", "mode_changed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangedPath(_Model):
    path: str
    kind: str = Field(description="An artifact kind, or config / harness / other.")
    status: ChangeStatus
    old_path: str | None = None
    keys: list[str] = Field(default_factory=list, description="Changed keys of a YAML/JSON artifact.")


class Selected(_Model):
    id: str
    severity: Severity
    path: str
    reasons: list[str]


class Reproduction(_Model):
    """A newly added incident fixture must fail on base (it reproduces) and pass on head."""

    base_status: ResultStatus
    head_status: ResultStatus
    reproduces: bool
    note: str


class Evidence(_Model):
    """Where a violation shows in the run: the span (position, `type:name` ref, id), the
    expected and the actual value, and what else the check that failed recorded."""

    span_index: int | None = None
    ref: str | None = None
    span_id: str | None = None
    expected: Any = None
    actual: Any = None
    details: dict[str, Any] | None = None

    @model_serializer(mode="wrap")
    def _without_absent_details(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Most checks record no details; their evidence has no `details` key rather than a null one.
        data: dict[str, Any] = handler(self)
        if self.details is None:
            data.pop("details", None)
        return data


class Violation(_Model):
    """One broken expectation of a failing run, with its evidence."""

    kind: str
    message: str
    evidence: Evidence = Field(default_factory=Evidence)


class FixtureResult(_Model):
    id: str
    severity: Severity
    status: ResultStatus
    path: str | None = None
    owner: str | None = None
    reason: str | None = None
    incident_id: str | None = None
    failures: list[Violation] = Field(default_factory=list, description="Violations of the failing run.")
    error: str | None = None
    runs: int = 0
    passes: int = 0
    quarantined: bool = False
    reproduction: Reproduction | None = None
    duration_ms: float | None = Field(default=None, description="Time the agent took over all runs, milliseconds.")
    input_tokens: int | None = Field(default=None, description="Input tokens over all runs.")
    output_tokens: int | None = Field(default=None, description="Output tokens over all runs.")
    cost_usd: float | None = Field(default=None, description="Cost over all runs, US dollars.")
    owner_contact: str | None = Field(
        default=None, description="How to reach the owner: its `contact` in the head revision's owners file.")
    incident_path: str | None = Field(
        default=None, description="The incident record naming the fixture (its `incident_id`, or listing it in "
        "`fixture_ids`) in the head revision, relative to the evalloop root.")
    base_status: ResultStatus | None = Field(
        default=None, description="The same fixture against the merge-base's agent, for blocking failures and "
        "added incident fixtures; null when it was not checked there.")


ProtectionKind = Literal["removed", "excluded", "downgraded", "narrowed", "quarantined", "unprotected"]


class ProtectionChange(_Model):
    """A pull request weakening what protected the base revision: listed first in every report,
    and `block` unless an approval the base config accepts names it (docs/protection.md)."""

    id: str = Field(description="The fixture's id on the base revision.")
    kind: ProtectionKind = Field(
        description="removed: deleted or moved away; excluded: no longer matched by `fixtures:`; "
        "downgraded: severity below blocking; narrowed: `gates`/`scope` cover less; quarantined: newly "
        "quarantined; unprotected: a safety/privacy/money/authorization mark removed.")
    detail: str = Field(description="What changed, in one sentence.")
    owner: str | None = Field(default=None, description="Who must approve it: the fixture's owner on base.")
    base_path: str
    head_path: str | None = None
    approved: bool = False
    approval: str | None = Field(default=None, description="Which approval accepted it, when one did.")


class Counts(_Model):
    selected: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    flaky: int = 0
    no_run: int = 0
    blocking_failures: int = 0
    warnings: int = 0


class GateReport(_Model):
    schema_version: Literal[1] = Field(default=1, description="The report format's version.")
    timestamp: str | None = Field(
        default=None, description="When the report was made (ISO 8601, UTC); the gate ledger's time of the run.")
    verdict: Verdict
    base: str | None = None
    head: str | None = None
    merge_base: str | None = None
    changed: list[ChangedPath] = Field(default_factory=list)
    behaviours: dict[str, list[str]] = Field(
        default_factory=dict, description="Changed kind -> eval categories it can affect."
    )
    selected: list[Selected] = Field(default_factory=list)
    results: list[FixtureResult] = Field(default_factory=list)
    counts: Counts = Field(default_factory=Counts)
    notes: list[str] = Field(default_factory=list, description="Fallbacks and warnings, said out loud.")
    protection_changes: list[ProtectionChange] = Field(
        default_factory=list, description="Weakened protections of the base revision; unapproved ones block.")
    shard: str | None = None
    selection_only: bool = Field(
        default=False, description="`evalloop gate --select-only`: nothing ran, so there is no verdict of "
        "fixtures (`verdict` is what the protection changes alone decide).")
    started_at: str | None = Field(default=None, description="When the gate started (ISO 8601, UTC).")
    hostname: str | None = Field(default=None, description="The machine the gate ran on.")
    repo_prefix: str | None = Field(
        default=None, description="Where the evalloop root is in the git repository (\"\" at its top, else "
        "\"sub/\"): the results' paths are relative to it.")
    shadow: ShadowReport | None = Field(
        default=None, description="For a model route change: the selected fixtures also run on the base revision "
        "and each run compared with head's (docs/shadow.md); informs, does not decide the verdict.")


def gating_failure(r: FixtureResult) -> bool:
    """Whether a result counts as a failure for the gate (fail closed)."""
    if r.status in ("fail", "error", "no_run"):
        return True
    return r.status == "flaky" and not r.quarantined


def decide(results: list[FixtureResult], protection: list[ProtectionChange] | None = None) -> Verdict:
    if any(not p.approved for p in protection or []):
        return "block"
    if any(r.severity == "blocking" and gating_failure(r) for r in results):
        return "block"
    if any(r.severity == "warning" and gating_failure(r) for r in results):
        return "warn"
    return "pass"


def count(results: list[FixtureResult], selected: int) -> Counts:
    return Counts(
        selected=selected,
        passed=sum(r.status == "pass" for r in results),
        failed=sum(r.status == "fail" for r in results),
        errored=sum(r.status == "error" for r in results),
        flaky=sum(r.status == "flaky" for r in results),
        no_run=sum(r.status == "no_run" for r in results),
        blocking_failures=sum(r.severity == "blocking" and gating_failure(r) for r in results),
        warnings=sum(r.severity == "warning" and gating_failure(r) for r in results),
    )


def started_now() -> tuple[str, str]:
    """(started_at, hostname) of a report that starts now: UTC, to the second."""
    import socket

    from evalloop.clock import now

    return now().strftime("%Y-%m-%dT%H:%M:%SZ"), socket.gethostname()

"""The fixture contract as pydantic models (the formats: README, "A fixture").

A fixture is the smallest replayable case that reproduces a failure mode. The
models accept both JSON shapes fixtures are written in as they are: the
``incident-...`` shape with ``expected.tools_called``, and the
``refund-approval-bypass-regression`` shape whose expectations sit at the top
level (``required_spans``, ``expected_stop_reason``, ...). ``Fixture.expectations``
folds both into one ``Expected``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from evalloop.model.kinds import ChangeKind, Severity

# The name may contain spaces (agents are named `Strands Agents`, `Agent workflow`);
# it starts with neither a colon nor whitespace and does not end in whitespace.
SPAN_NAME_PATTERN = r"[^\s:]([^\r\n]*[^\s])?"
SPAN_REF_PATTERN = rf"^(model|tool|retrieval|policy|approval|workflow|message|memory):{SPAN_NAME_PATTERN}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"

SpanRef = Annotated[
    str,
    Field(
        pattern=SPAN_REF_PATTERN,
        description="A span written `type:name`, e.g. `tool:read_order` or `approval:required`.",
    ),
]


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently disable an expectation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Open(BaseModel):
    """Free-form replay data: known keys are typed, anything else is kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Scope(Strict):
    routes: list[str] = Field(default_factory=list, description="Model routes this fixture covers.")
    tools: list[str] = Field(default_factory=list, description="Tools whose manifest changes run it.")
    paths: list[str] = Field(
        default_factory=list,
        description="Artifact paths or globs (relative to the repository root) it covers.",
    )


class ToolFault(Strict):
    """A fault the mocked toolbox injects, to test recovery and retries (docs/adapter.md)."""

    tool: str = Field(description="The tool whose calls fail.")
    kind: Literal["error", "timeout", "malformed", "partial"] = Field(
        description="error: the call fails with `message`; timeout: it never answers in time; malformed: an "
                    "unparseable result; partial: `data` instead of the full output.",
    )
    call: int | None = Field(default=None, ge=1, description="Only the n-th call (1-based); all calls when absent.")
    message: str | None = Field(default=None, description="The error text the agent sees (kind error).")
    data: Any = Field(default=None, description="For `partial`: the partial payload returned.")


class Context(Open):
    """Everything needed to replay: state, evidence, memory and mocked tool outputs."""

    policy_version: str | None = Field(
        default=None,
        description="The policy revision the run was recorded under; a retired one makes the fixture "
                    "orphaned.",
    )
    tool_outputs: dict[str, Any] = Field(
        default_factory=dict,
        description="Mocked tool results by tool name; a list answers successive calls in turn.",
    )
    tool_faults: list[ToolFault] = Field(
        default_factory=list,
        description="Faults the mocked toolbox injects into tool calls, to test recovery and retries.",
    )
    retrieved_documents: list[Any] = Field(
        default_factory=list,
        description="Evidence the agent retrieved (what it saw), passed to the agent as recorded.",
    )
    memory: list[Any] = Field(
        default_factory=list,
        description="Memory entries the agent had, passed to the agent as recorded.",
    )
    state: dict[str, Any] = Field(
        default_factory=dict,
        description="Any other state the run depends on (account, order, feature flags), passed as recorded.",
    )


class RegexRule(Strict):
    regex: str = Field(description="A Python regular expression, searched case-insensitively.")


OutputRule = str | RegexRule


class ToolCallSpec(Strict):
    name: str = Field(description="The tool's name.")
    args: dict[str, Any] | None = Field(
        default=None, description="Expected arguments; absent means any arguments match."
    )


ArgsMode = Literal["exact", "subset", "ignore"]
RiskArea = Literal["safety", "privacy", "money_movement", "authorization", "side_effect", "quality", "cost",
                   "latency"]
# Failures touching these are blocking until reviewed, and never quarantined.
PROTECTED_RISKS = frozenset({"safety", "privacy", "money_movement", "authorization"})


class ToolSequence(Strict):
    mode: Literal["strict", "unordered", "subset", "superset", "in_order"] = Field(
        default="strict",
        description="strict: exactly these calls in this order; unordered: exactly these in any order; "
                    "subset: no call outside these; superset: at least these, others allowed; in_order: these"
                    " in this order, others allowed between.",
    )
    calls: list[ToolCallSpec] = Field(description="The expected tool calls.")
    args: ArgsMode = Field(
        default="exact",
        description="How arguments are compared: exact, subset (the expected keys must match), ignore.",
    )
    args_by_tool: dict[str, ArgsMode] = Field(default_factory=dict, description="`args` per tool name, overriding it.")


# The largest integer every JSON reader holds exactly (2**53 - 1). A budget beyond it is a typo,
# and would break the reports: orjson refuses integers over 64 bits, `:g` ones too big for a float.
MAX_BUDGET_COUNT = 2**53 - 1


def _countable(value: int) -> int:
    if value > MAX_BUDGET_COUNT:
        digits = len(str(value))  # at most 4300 digits: the YAML and JSON loaders refuse longer ones
        shown = str(value) if digits <= 20 else f"a {digits}-digit number"
        raise ValueError(f"{shown} is over the largest budget accepted ({MAX_BUDGET_COUNT:,})")
    return value


# The upper bound is a validator, not `le=`, so the published JSON Schema stays as it is; validate
# reports it as SCH001 all the same (from pydantic, when the schema finds nothing).
Count = Annotated[int, Field(ge=0), AfterValidator(_countable)]
# Finite: NaN compares false with everything and inf exceeds nothing, so a `.nan` or `.inf` limit
# would pass every run.
Limit = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Budget(Strict):
    max_tool_calls: Count | None = Field(default=None, description="Most tool calls the run may make.")
    max_retries: Count | None = Field(
        default=None, description="Repeats of the same failing tool call with the same arguments."
    )
    max_tokens: Count | None = Field(default=None, description="Most input plus output tokens over the run.")
    max_cost_usd: Limit | None = Field(default=None, description="Most the run may cost, in US dollars.")
    max_latency_ms: Limit | None = Field(default=None, description="Longest the run may take, in milliseconds.")


class Expected(Strict):
    route: str | None = Field(default=None, description="The model route the run must take.")
    required_spans: list[SpanRef] = Field(default_factory=list, description="Spans (`type:name`) that must occur.")
    forbidden_spans: list[SpanRef] = Field(default_factory=list, description="Spans (`type:name`) that must not occur.")
    order: list[Annotated[list[SpanRef], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, description="Pairs [first, second]: first must happen before second."
    )
    tools_called: list[str] = Field(default_factory=list, description="Tools that must be called at least once.")
    tools_not_called: list[str] = Field(default_factory=list, description="Tools that must never be called.")
    tool_args: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Arguments some call of each tool must carry (subset match).",
    )
    tool_sequence: ToolSequence | None = Field(default=None, description="The expected tool calls, compared by `mode`.")
    stop_reason: str | None = Field(
        default=None,
        description="The stop reason the run must end with (e.g. needs_human_approval).",
    )
    final_status: str | None = Field(default=None, description="The final status the run must end with.")
    output_must_contain: list[OutputRule] = Field(
        default_factory=list,
        description="Phrases (or {regex}) the final output must contain, case-insensitively.",
    )
    output_must_not_contain: list[OutputRule] = Field(
        default_factory=list,
        description="Phrases (or {regex}) the final output must not contain, case-insensitively.",
    )
    budget: Budget | None = Field(default=None, description="Limits on tool calls, retries, tokens, cost and latency.")


# Fields of the regression shape (expectations at the top level) that may stand there.
_TOP_LEVEL_EXPECTATIONS = {
    "required_spans": "required_spans",
    "forbidden_spans": "forbidden_spans",
    "expected_stop_reason": "stop_reason",
    "output_must_not_contain": "output_must_not_contain",
    "output_must_contain": "output_must_contain",
}


class Fixture(Strict):
    """One eval fixture: identity, inputs, expected trajectory and expected result."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "evalloop fixture"},
    )

    # identity
    id: str = Field(pattern=ID_PATTERN, description="Unique across the repository.")
    incident_id: str | None = Field(pattern=ID_PATTERN, default=None, description="Incident record under incidents/.")
    owner: str | None = Field(
        default=None, description="A known owner; falls back to `defaults.owner` in evalloop.yaml."
    )
    severity: Severity | None = Field(
        default=None, description="blocking | warning | exploratory; falls back to `defaults.severity`."
    )
    created_at: dt.date | None = Field(default=None, description="When the fixture was written.")
    expires_at: dt.date | None = Field(
        default=None,
        description="After this date validate reports the fixture expired (EXP001): renew it with a reason or"
                    " delete it.",
    )
    temporary: bool = Field(default=False, description="A stop-gap fixture; needs `expires_at`.")
    reason: str | None = Field(default=None, description="Why the fixture exists: the behaviour it protects.")
    failure_mode: str | None = Field(
        default=None,
        description="The failure it catches, in a few words (e.g. skipped approval).",
    )
    gates: list[ChangeKind] | None = Field(
        default=None, description="Change kinds that run this fixture; absent means every kind."
    )
    scope: Scope | None = Field(default=None, description="What the fixture covers: changes elsewhere do not run it.")
    risk: list[RiskArea] = Field(
        default_factory=list,
        description="What a regression here endangers; safety, privacy, money_movement and "
        "authorization fixtures can never be quarantined.",
    )
    runs: int = Field(default=1, ge=1, le=100, description="Repeat the run n times (flakiness).")
    min_passes: int | None = Field(default=None, ge=1, description="Passes needed out of `runs`.")
    synthetic_values: list[str] = Field(
        default_factory=list,
        description="Deliberately synthetic values (test card numbers...) the redaction scan allows.",
    )
    # inputs
    input: dict[str, Any] = Field(
        default_factory=dict,
        description="What the agent receives (the user message and request fields).",
    )
    context: Context = Field(
        default_factory=Context,
        description="Everything needed to replay the run: mocked tool outputs, faults, state, evidence, "
                    "memory.",
    )
    # expected trajectory and result
    expected: Expected = Field(default_factory=Expected, description="The expected trajectory and result.")
    # the regression shape puts these at the top level
    required_spans: list[SpanRef] | None = Field(
        default=None,
        description="The regression shape's `expected.required_spans`, at the top level.",
    )
    forbidden_spans: list[SpanRef] | None = Field(
        default=None,
        description="The regression shape's `expected.forbidden_spans`, at the top level.",
    )
    expected_stop_reason: str | None = Field(
        default=None,
        description="The regression shape's `expected.stop_reason`, at the top level.",
    )
    output_must_contain: list[OutputRule] | None = Field(
        default=None,
        description="The regression shape's `expected.output_must_contain`, at the top level.",
    )
    output_must_not_contain: list[OutputRule] | None = Field(
        default=None,
        description="The regression shape's `expected.output_must_not_contain`, at the top level.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Fixture:
        if self.min_passes is not None and self.min_passes > self.runs:
            raise ValueError(f"min_passes ({self.min_passes}) exceeds runs ({self.runs})")
        for top, inner in _TOP_LEVEL_EXPECTATIONS.items():
            if getattr(self, top) is not None and getattr(self.expected, inner) not in (None, []):
                raise ValueError(f"`{top}` is given both at the top level and as `expected.{inner}`")
        return self

    def expectations(self) -> Expected:
        """The fixture's expectations with the regression shape's top-level fields folded in."""
        updates = {
            inner: getattr(self, top)
            for top, inner in _TOP_LEVEL_EXPECTATIONS.items()
            if getattr(self, top) is not None
        }
        return self.expected.model_copy(update=updates) if updates else self.expected

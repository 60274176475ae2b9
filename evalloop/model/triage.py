"""`triage:` in evalloop.yaml: the repository's own triage rules, matched before the built-in ones,
and the decisions triage can reach."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalloop.model.kinds import ChangeKind
from evalloop.model.signal import SignalKind, SignalSeverity, Touch

# What a signal becomes: an eval of one of the three severities, trace evidence kept and
# watched, or a UX/documentation fix before any eval.
Decision = Literal["blocking", "warning", "exploratory", "trace_evidence", "ux_first"]
DECISIONS: tuple[str, ...] = get_args(Decision)
EVAL_DECISIONS: frozenset[str] = frozenset({"blocking", "warning", "exploratory"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleWhen(_Strict):
    """Conditions a signal must all meet; a list means any of its values."""

    kind: SignalKind | list[SignalKind] | None = Field(default=None, description="The signal's kind.")
    severity: SignalSeverity | list[SignalSeverity] | None = Field(
        default=None, description="The signal's severity.",
    )
    touches: Touch | list[Touch] | None = Field(
        default=None, description="A boundary the signal touches (any of these).",
    )
    route: str | list[str] | None = Field(default=None, description="The signal's route.")
    workflow: str | list[str] | None = Field(default=None, description="The signal's workflow.")
    owner: str | list[str] | None = Field(default=None, description="The signal's own owner.")
    user_visible: bool | None = Field(default=None, description="Whether a user saw it.")
    recurring: bool | None = Field(default=None, description="Whether it was seen more than once.")

    @model_validator(mode="after")
    def _not_empty(self) -> RuleWhen:
        # an empty `when` would match every signal and silently replace all built-in rules
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("`when` needs at least one condition")
        return self


class TriageRule(_Strict):
    name: str | None = Field(default=None, description="Shown as the rule that fired (default: its position).")
    when: RuleWhen = Field(description="Which signals the rule decides.")
    decision: Decision = Field(description="What the matching signals become.")
    gates: list[ChangeKind] | None = Field(
        default=None,
        description="Change kinds whose release gate runs the eval (absent: the built-in gates of the decision).",
    )
    owner: str | None = Field(
        default=None, description="Owner for matching signals that name none (before `defaults.owner`).",
    )
    action: str | None = Field(
        default=None, description="What to do, replacing the decision's built-in action text.",
    )

    @model_validator(mode="after")
    def _gates_need_an_eval(self) -> TriageRule:
        if self.gates is not None and self.decision not in EVAL_DECISIONS:
            raise ValueError(f"`gates` needs an eval decision (blocking, warning or exploratory), "
                             f"not {self.decision}")
        return self


class TriageConfig(_Strict):
    rules: list[TriageRule] = Field(
        default_factory=list,
        description="Rules tried in order before the built-in ones; the first that matches decides.",
    )

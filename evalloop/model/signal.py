"""Production signals (`evalloop triage`): what production showed, before anyone has decided
which eval, if any, it becomes.

A signals file is JSON Lines (one record a line) or a YAML/JSON list of records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from evalloop.model.fixture import ID_PATTERN

# What production showed besides an incident; an incident record's `signal` is one of these or
# the boundary it crossed (`Touch`).
ObservedKind = Literal[
    "human_correction",
    "policy_override",
    "cost_outlier",
    "latency_outlier",
    "tool_error_recovered",
    "near_miss",
    "user_confusion",
    "regression",
]
SignalKind = Literal["incident", ObservedKind]
SIGNAL_KINDS: tuple[str, ...] = get_args(SignalKind)

# The boundaries whose failure blocks a release until reviewed.
Touch = Literal["safety", "privacy", "money_movement", "authorization", "side_effect"]
TOUCHES: tuple[str, ...] = get_args(Touch)

SignalSeverity = Literal["sev1", "sev2", "sev3", "sev4"]


class Signal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop signal"})

    id: str | None = Field(
        default=None, pattern=ID_PATTERN,
        description="The signal's id (an incident id, a ticket); unique within the file.",
    )
    kind: SignalKind = Field(description="What production showed.")
    severity: SignalSeverity = Field(description="How bad it was: sev1 is the worst.")
    touches: list[Touch] = Field(
        default_factory=list,
        description="The boundaries it involves; any of them makes its eval blocking.",
    )
    recurrence: int = Field(
        default=1, ge=1, description="How many times it has been seen; more than 1 is recurring.",
    )
    user_visible: bool = Field(default=False, description="Whether a user saw the failure.")
    trace: str | None = Field(
        default=None, min_length=1,
        description="The recorded run: a trace file (relative to the evalloop root), a URL or a trace id.",
    )
    time: dt.datetime | dt.date = Field(
        description="When it happened (ISO 8601); deadlines count business days from its date.",
    )
    summary: str | None = Field(default=None, description="What happened, in a sentence or two.")
    owner: str | None = Field(default=None, description="Who owns the eval it becomes.")
    route: str | None = Field(default=None, description="The model route the run took.")
    workflow: str | None = Field(default=None, description="The workflow the run was in.")

    @field_validator("time", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        # pydantic would read a number as seconds since the epoch: a value nobody meant as a date
        if isinstance(value, bool | int | float):
            raise ValueError("expected an ISO 8601 date or date-time (2026-04-18T09:12:00Z)")
        return value


class SignalsFile(RootModel[list[Signal]]):
    """A YAML or JSON signals file: the list of records."""

    model_config = ConfigDict(json_schema_extra={"title": "evalloop signals"})

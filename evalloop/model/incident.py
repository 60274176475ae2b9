"""Incident records (`incidents/*.yaml`): what happened in production, linked from fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.fixture import ID_PATTERN
from evalloop.model.signal import ObservedKind, Touch

# The kinds of production signal an incident starts from: the boundary it crossed, or what
# production showed (one value per triage row).
SignalType = Literal[Touch, ObservedKind]


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop incident"})

    id: str = Field(pattern=ID_PATTERN, description="The incident's id; fixtures name it in `incident_id`.")
    severity: Literal["sev1", "sev2", "sev3", "sev4", "blocking", "warning", "exploratory"] = Field(
        description="How bad the incident was.",
    )
    opened_at: dt.datetime | dt.date = Field(description="When the incident was opened.")
    signal: SignalType = Field(
        description="The kind of production signal it started from; safety, privacy, money_movement and "
                    "authorization make its fixtures unquarantinable.",
    )
    summary: str = Field(description="What happened, in a sentence or two.")
    owner: str = Field(description="Who owns the incident and its fixtures.")
    recurrence_of: str | None = Field(default=None, description="Id of an earlier incident this repeats.")
    closed_at: dt.datetime | dt.date | None = Field(default=None, description="When the incident was closed.")
    fixture_ids: list[str] = Field(default_factory=list, description="Fixtures that now protect it.")
    links: list[str] = Field(default_factory=list, description="Postmortem, tickets, traces.")

"""Incident records (`incidents/*.yaml`): what happened in production, linked from fixtures."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.fixture import ID_PATTERN

# The kinds of production signal an incident starts from, one value per triage row.
SignalType = Literal[
    "safety",
    "privacy",
    "money_movement",
    "authorization",
    "side_effect",
    "human_correction",
    "policy_override",
    "cost_outlier",
    "latency_outlier",
    "tool_error_recovered",
    "near_miss",
    "user_confusion",
    "regression",
]


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop incident"})

    id: str = Field(pattern=ID_PATTERN)
    severity: Literal["sev1", "sev2", "sev3", "sev4", "blocking", "warning", "exploratory"]
    opened_at: dt.datetime | dt.date
    signal: SignalType
    summary: str
    owner: str
    recurrence_of: str | None = Field(default=None, description="Id of an earlier incident this repeats.")
    closed_at: dt.datetime | dt.date | None = None
    fixture_ids: list[str] = Field(default_factory=list, description="Fixtures that now protect it.")
    links: list[str] = Field(default_factory=list)

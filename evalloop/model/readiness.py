"""`evalloop readiness`: one answer per readiness question or checklist item."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(description="The seed's question, verbatim.")
    section: Literal["readiness", "checklist"] = Field(
        description="readiness: Feedback Loop Readiness Questions; checklist: the Design Checklist.")
    status: Literal["answered", "partial", "gap"] = Field(
        description="answered: the repository answers it; partial: with gaps; gap: it cannot.")
    answer: str = Field(description="The answer in one sentence.")
    evidence: list[str] = Field(default_factory=list, description="What in the repository shows it.")
    gaps: list[str] = Field(default_factory=list, description="What is missing, and what to do about it.")

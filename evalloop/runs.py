"""The normalized run (SPEC section 3): what an agent did, whichever source it came from.

Importers (`evalloop.traces`) and the harness produce `Run`s; the trajectory
evaluator (`evalloop.trajectory`) judges them. Times are milliseconds since the
Unix epoch (or since the run start when the source has no wall clock).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.kinds import SpanType

SpanStatus = Literal["succeeded", "failed", "denied", "waiting"]


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: SpanType
    name: str
    status: SpanStatus = "succeeded"
    args: dict[str, Any] | None = Field(default=None, description="Tool or step arguments.")
    result: Any = None
    error: str | None = None
    start_ms: float | None = None
    end_ms: float | None = None
    span_id: str | None = None
    parent_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The `type:name` form fixtures use."""
        return f"{self.type}:{self.name}"


class Run(BaseModel):
    """One agent run: ordered spans plus its outcome."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "evalloop run"})

    run_id: str | None = None
    trace_id: str | None = None
    spans: list[Span] = Field(default_factory=list, description="In start order.")
    stop_reason: str | None = None
    final_status: str | None = None
    output: str | None = Field(default=None, description="The final user-visible text.")
    route: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    source: str | None = Field(default=None, description="Where the run came from (file, importer).")

    def tool_calls(self) -> list[Span]:
        return [s for s in self.spans if s.type == "tool"]

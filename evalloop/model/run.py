"""The normalized run: what an agent did, whichever source it came from.

Importers (`evalloop.traces.load`) and the harness produce `Run`s; the trajectory
evaluator (`evalloop.evaluate.evaluator`) judges them. Times are milliseconds since the
Unix epoch (or since the run start when the source has no wall clock).

Measurements (tokens, cost, latency, span times) are kept as the source gave
them, even when they make no sense: NaN, infinities, negative costs and a span
that ends before it starts all reach the evaluator, which refuses to judge a
budget on them (fail closed). A value that is not a number at all ("abc", a
boolean, a list) cannot be stored in a number field, so a run being validated
stores NaN (times, cost) or nothing (token counts) there instead and keeps what
was recorded in `Run.unjudged()`: dropping it would let the remaining values
pass a budget the run may well have broken, and rejecting the whole run would
hide every other check behind one broken number.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, PrivateAttr, model_validator

from evalloop.model.kinds import SpanType

SpanStatus = Literal["succeeded", "failed", "denied", "waiting"]

# The measurement fields, on runs and spans alike; counts are integers.
FLOAT_FIELDS = ("cost_usd", "latency_ms", "start_ms", "end_ms")
COUNT_FIELDS = ("input_tokens", "output_tokens")
_SHOW = 40  # characters of an unparseable value kept for messages
_FLOAT_INTS = 2**1023  # integers below this convert to a float without overflowing


class Unjudged(NamedTuple):
    """A measurement recorded as something that is not a number."""

    field: str
    span_index: int | None  # None: the run's own field
    raw: str  # what was recorded, shortened, for messages


def describe(value: Any) -> str:
    """A short, always printable rendering of a recorded value.

    `repr` of an integer with more than 4300 digits raises ValueError, and a
    message must never be the thing that fails, so big integers are described.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 200:
            return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
        return str(value)
    if isinstance(value, float):
        return "NaN" if value != value else repr(value)
    if isinstance(value, str):
        text = value if len(value) <= _SHOW else value[:_SHOW - 3] + "..."
        more = f" ({len(value)} characters)" if len(value) > _SHOW else ""
        return repr(text) + more
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def float_value(value: Any) -> tuple[float | None, str | None]:
    """A recorded time or cost as a float, and what was recorded when it is not a number.

    NaN and infinities (also as the strings "NaN", "Infinity") and negative
    values are returned as they are: judging them is the evaluator's business.
    Anything else that is not a number comes back as NaN with its description.
    """
    if value is None:
        return None, None
    if type(value) is float:
        return value, None
    if type(value) is int:
        try:
            return float(value), None
        except OverflowError:  # beyond a double: an integer of 309+ digits
            return math.nan, describe(value)
    if isinstance(value, str):
        try:
            return float(value), None
        except ValueError:
            return math.nan, describe(value)
    if isinstance(value, int | float) and not isinstance(value, bool):  # subclasses
        try:
            return float(value), None
        except OverflowError:
            return math.nan, describe(value)
    return math.nan, describe(value)


def count_value(value: Any) -> tuple[int | None, str | None]:
    """A recorded token count as an int, and what was recorded when it is not a count.

    Integers are kept whatever their size or sign (the evaluator compares them
    exactly and refuses negatives); an integral float or numeric string is
    converted. NaN, infinities, fractions and non-numbers come back as None
    with their description: an int field cannot hold them.
    """
    if value is None:
        return None, None
    if type(value) is int:
        return value, None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text), None
        except ValueError:  # also: more digits than int() reads (4300)
            pass
        try:
            number = float(text)
        except ValueError:
            return None, describe(value)
    elif isinstance(value, int) and not isinstance(value, bool):  # an int subclass
        return int(value), None
    elif isinstance(value, float):
        number = float(value)
    else:
        return None, describe(value)
    if math.isfinite(number) and number == int(number):
        return int(number), None
    return None, describe(value)


def _clean(data: dict[str, Any], span_index: int | None,
           unjudged: list[Unjudged]) -> dict[str, Any]:
    """`data` with its measurements made storable (see the module docstring); a copy
    only when something changed, so the common case costs a few lookups."""
    out = data
    for field in FLOAT_FIELDS:
        value = data.get(field)
        if value is None or type(value) is float or (type(value) is int
                                                      and -_FLOAT_INTS < value < _FLOAT_INTS):
            continue
        number, raw = float_value(value)
        if out is data:
            out = dict(data)
        out[field] = number
        if raw is not None:
            unjudged.append(Unjudged(field, span_index, raw))
    for field in COUNT_FIELDS:
        value = data.get(field)
        if value is None or type(value) is int:
            continue
        count, raw = count_value(value)
        if out is data:
            out = dict(data)
        out[field] = count
        if raw is not None:
            unjudged.append(Unjudged(field, span_index, raw))
    return out


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: SpanType = Field(
        description="The span type: tool, model, policy, approval, retrieval, memory, message, workflow, ...",
    )
    name: str = Field(
        description="The tool, model, policy or step name; with `type` it forms the `type:name` fixtures use.",
    )
    status: SpanStatus = Field(default="succeeded", description="How the step ended.")
    args: dict[str, Any] | None = Field(default=None, description="Tool or step arguments.")
    result: Any = Field(default=None, description="What the step returned (a tool's output, a policy decision).")
    error: str | None = Field(default=None, description="The error text of a failed step.")
    start_ms: float | None = Field(
        default=None,
        description="Start time, milliseconds (since the epoch, or since the run start).",
    )
    end_ms: float | None = Field(default=None, description="End time, milliseconds, on the same clock as start_ms.")
    span_id: str | None = Field(default=None, description="The source's span id.")
    parent_id: str | None = Field(default=None, description="The parent span's id.")
    input_tokens: int | None = Field(default=None, description="Input tokens of a model span.")
    output_tokens: int | None = Field(default=None, description="Output tokens of a model span.")
    cost_usd: float | None = Field(default=None, description="What the step cost, in US dollars.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Source attributes kept for evidence.")

    @property
    def ref(self) -> str:
        """The `type:name` form fixtures use."""
        return f"{self.type}:{self.name}"


class Run(BaseModel):
    """One agent run: ordered spans plus its outcome."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "evalloop run"})

    run_id: str | None = Field(default=None, description="The run's id.")
    trace_id: str | None = Field(default=None, description="The source trace's id.")
    spans: list[Span] = Field(default_factory=list, description="In start order.")
    stop_reason: str | None = Field(default=None, description="Why the run stopped (done, needs_human_approval, ...).")
    final_status: str | None = Field(default=None, description="The run's final status.")
    output: str | None = Field(default=None, description="The final user-visible text.")
    route: str | None = Field(default=None, description="The model route the run took.")
    input_tokens: int | None = Field(default=None, description="Input tokens over the run.")
    output_tokens: int | None = Field(default=None, description="Output tokens over the run.")
    cost_usd: float | None = Field(default=None, description="What the run cost, in US dollars.")
    latency_ms: float | None = Field(default=None, description="How long the run took, in milliseconds.")
    source: str | None = Field(default=None, description="Where the run came from (file, importer).")

    # Measurements recorded as non-numbers (module docstring). Private, so it is
    # neither input nor part of the published schema.
    _unjudged: tuple[Unjudged, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _keep_unjudged(cls, data: Any, handler: ModelWrapValidatorHandler[Run]) -> Run:
        unjudged: list[Unjudged] = []
        if isinstance(data, dict):
            data = _clean(data, None, unjudged)
            spans = data.get("spans")
            if isinstance(spans, list):
                cleaned = [_clean(s, i, unjudged) if isinstance(s, dict) else s
                           for i, s in enumerate(spans)]
                # a converted value ("1e3" tokens) changes a span without anything unjudged
                if any(c is not s for c, s in zip(cleaned, spans, strict=True)):
                    data = {**data, "spans": cleaned}
        run = handler(data)
        if unjudged:
            run._unjudged = tuple(unjudged)
        return run

    def unjudged(self) -> tuple[Unjudged, ...]:
        """The measurements this run recorded as something that is not a number."""
        # Read through the private dict: a run built without validation may have none.
        private = self.__pydantic_private__
        found: tuple[Unjudged, ...] = private.get("_unjudged", ()) if private else ()
        return found

    def set_unjudged(self, unjudged: tuple[Unjudged, ...]) -> None:
        """Record unparseable measurements found by an importer that builds runs directly."""
        if self.__pydantic_private__ is None:
            self.__pydantic_private__ = {}
        self.__pydantic_private__["_unjudged"] = unjudged

    def tool_calls(self) -> list[Span]:
        return [s for s in self.spans if s.type == "tool"]

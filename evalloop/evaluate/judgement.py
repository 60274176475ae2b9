"""What judging a run yields: the `Judgement` of one run and the `Violation`s it lists.

Each violation has a stable `kind` code (one of `KINDS`) and its evidence: the
span (index into `run.spans`, its `type:name` ref and id), the expected value and
the actual one. `FixtureError` is an expectation that cannot be evaluated at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from evalloop.errors import EvalloopError
from evalloop.model.run import describe

KINDS = (
    "run_error",
    "missing_span",
    "forbidden_span",
    "order",
    "route",
    "stop_reason",
    "final_status",
    "tool_not_called",
    "forbidden_tool",
    "tool_args",
    "tool_args_schema",
    "unknown_tool",  # a tool the manifest does not list (the harness checks it)
    "sequence",
    "output_contains",
    "output_missing",
    "output_not_recorded",
    "budget_tool_calls",
    "budget_retries",
    "budget_tokens",
    "budget_cost",
    "budget_latency",
)


class Violation:
    """One broken expectation and the evidence for it.

    `message` may be given as a function: sequence messages render call
    arguments, which costs more than judging the run, so they are only built
    when someone reads them (a gate over thousands of runs mostly does not).
    """

    __slots__ = ("_message", "actual", "details", "expected", "kind", "ref", "span_id",
                 "span_index")

    def __init__(self, kind: str, message: str | Callable[[], str], expected: Any = None,
                 actual: Any = None, span_index: int | None = None, ref: str | None = None,
                 span_id: str | None = None, details: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self._message = message
        self.expected = expected
        self.actual = actual
        self.span_index = span_index
        self.ref = ref
        self.span_id = span_id
        self.details: Mapping[str, Any] = details if details is not None else {}

    @property
    def message(self) -> str:
        if not isinstance(self._message, str):
            self._message = self._message()
        return self._message

    def to_dict(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "span_index": self.span_index,
            "ref": self.ref,
            "span_id": self.span_id,
            "expected": self.expected,
            "actual": self.actual,
        }
        if self.details:
            evidence["details"] = dict(self.details)
        return {"kind": self.kind, "message": self.message, "evidence": evidence}

    model_dump = to_dict

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Violation) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable evidence, like a dict

    def __repr__(self) -> str:
        return f"Violation({self.kind!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The judgement of one run: passed only when there is no violation."""

    fixture_id: str
    passed: bool
    violations: list[Violation]
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixture_id": self.fixture_id,
            "run_id": self.run_id,
            "passed": self.passed,
            "violations": [v.to_dict() for v in self.violations],
        }

    model_dump = to_dict

    def to_json(self) -> str:
        # Values come from traces; anything JSON cannot carry is shown as text.
        doc = self.to_dict()
        try:
            return orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits in the evidence
            return orjson.dumps(_jsonable(doc), option=orjson.OPT_INDENT_2, default=str).decode()

    def kinds(self) -> list[str]:
        return [v.kind for v in self.violations]


class FixtureError(EvalloopError):
    """An expectation that cannot be evaluated (a bad regex, an impossible pair).

    `loc` is the path of the offending value in the fixture document, so callers
    holding the file can point at the line.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _jsonable(value: Any) -> Any:
    """`value` with the integers orjson refuses (beyond 64 bits) described as text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**64:
        return describe(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else describe(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def error_judgement(fixture_id: str, message: str, *, run_id: str | None = None) -> Judgement:
    """The judgement of a run that could not be produced or read: an error fails."""
    return Judgement(fixture_id, False, [Violation("run_error", message)], run_id)


__all__ = ["KINDS", "FixtureError", "Judgement", "Violation", "error_judgement"]

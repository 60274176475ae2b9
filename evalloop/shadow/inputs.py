"""`evalloop shadow --inputs FILE`: captured production inputs, JSON Lines of
`{"id": ..., "input": {...}, "context": {...}}`, each a fixture without expectations.
A bad line is one EvalloopError naming the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalloop.errors import EvalloopError, UsageError
from evalloop.model.fixture import Fixture
from evalloop.model.shadow import CapturedInput
from evalloop.repo import fs, parse
from evalloop.repo.fixtures import LoadedFixture
from evalloop.text import clean

# Exported from production in bulk, like signals: larger than any fixture.
MAX_INPUTS_BYTES = 16 << 20


def load_inputs(path: Path, display: str | None = None) -> list[LoadedFixture]:
    """Each captured input as a fixture with no expectations (exploratory: it never gates), its
    `path` FILE:LINE; in file order."""
    shown = display if display is not None else str(path)
    if not path.is_file():
        raise UsageError("no such inputs file", path=shown)
    text = fs.read_text(path, shown, MAX_INPUTS_BYTES)
    out: list[LoadedFixture] = []
    seen: dict[str, int] = {}
    for lineno, _, data in parse.json_lines(text, shown):
        captured = _validate(data, shown, lineno)
        if captured.id in seen:
            raise EvalloopError(clean(f"duplicate input id {captured.id!r} (first at line {seen[captured.id]})"),
                                path=shown, line=lineno)
        seen[captured.id] = lineno
        fixture = Fixture(id=captured.id, input=captured.input, context=captured.context, severity="exploratory")
        out.append(LoadedFixture(f"{shown}:{lineno}", fixture))
    if not out:
        raise UsageError("no inputs in the file (one JSON object a line)", path=shown)
    return out


def _validate(data: Any, shown: str, lineno: int) -> CapturedInput:
    if not isinstance(data, dict):
        raise EvalloopError(f"expected a JSON object with id, input and context, found {_kind(data)}",
                            path=shown, line=lineno)
    try:
        return CapturedInput.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"]) or "(record)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # keys and messages can carry the file's own text: keep it off the terminal
        raise EvalloopError(clean(f"invalid input: {field}: {first['msg']}{more}"), path=shown, line=lineno) from None


def _kind(data: Any) -> str:
    if data is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean"}.get(type(data), "a number")

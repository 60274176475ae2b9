"""Reading a signals file: JSON Lines (`.jsonl`, `.ndjson`: one record a line) or a YAML/JSON list
of records. Every problem is one EvalloopError naming the file, line and column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalloop.errors import EvalloopError, UsageError
from evalloop.model.signal import Signal
from evalloop.repo import fs, parse
from evalloop.repo.parse import Document
from evalloop.text import clean

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
# Signals are exported from production in bulk, so a file may be far larger than a fixture.
MAX_SIGNALS_BYTES = 16 << 20


@dataclass(frozen=True)
class LocatedSignal:
    """A signal with where it was read: `line` is the first line of its record."""

    signal: Signal
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def label(self) -> str:
        """The id, or the record's position for one without."""
        return self.signal.id or self.where


def load_signals(path: Path, display: str | None = None) -> list[LocatedSignal]:
    """The signals of `path`, in file order; EvalloopError (positioned) for any bad record."""
    shown = display if display is not None else str(path)
    if not path.is_file():
        raise UsageError("no such signals file", path=shown)
    text = fs.read_text(path, shown, MAX_SIGNALS_BYTES)
    if path.suffix.lower() in JSON_LINES_SUFFIXES:
        signals = _from_lines(text, path, shown)
    else:
        signals = _from_list(text, path, shown)
    _unique_ids(signals)
    return signals


def _from_list(text: str, path: Path, shown: str) -> list[LocatedSignal]:
    is_json = path.suffix.lower() == ".json"
    doc = Document(path=path, display=shown, text=text, data=parse.parse_text(text, shown, is_json=is_json),
                   is_json=is_json)
    if not isinstance(doc.data, list):
        raise EvalloopError(f"expected a list of signals, found {_kind(doc.data)}", path=shown, line=1, col=1)
    out = []
    for i, item in enumerate(doc.data):
        signal = _validate(item, doc, (i,), line_offset=0)
        out.append(LocatedSignal(signal, shown, parse.locate(doc, (i,))[0]))
    return out


def _from_lines(text: str, path: Path, shown: str) -> list[LocatedSignal]:
    out = []
    for lineno, line, data in parse.json_lines(text, shown):
        # each line is its own document: positions within it come back on line 1, moved to this one
        doc = Document(path=path, display=shown, text=line, data=data, is_json=True)
        out.append(LocatedSignal(_validate(data, doc, (), line_offset=lineno - 1), shown, lineno))
    return out


def _validate(data: Any, doc: Document, prefix: tuple[int, ...], *, line_offset: int) -> Signal:
    where = f"signal #{prefix[0] + 1}" if prefix else "signal"
    if not isinstance(data, dict):
        line, col = parse.locate(doc, prefix)
        raise EvalloopError(f"invalid {where}: expected a mapping, found {_kind(data)}",
                            path=doc.display, line=line + line_offset, col=col)
    try:
        return Signal.model_validate(parse.plain(data))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first["loc"])
        line, col = parse.locate(doc, (*prefix, *loc), key=first["type"] == "extra_forbidden")
        # union branches (`datetime`, `date`) are pydantic's names, not the record's keys
        field = ".".join(str(p) for p in loc if p in data or isinstance(p, int)) if loc else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # keys and messages can carry the file's own text: keep it off the terminal
        raise EvalloopError(clean(f"invalid {where}: {field or '(record)'}: {first['msg']}{more}"),
                            path=doc.display, line=line + line_offset, col=col) from None


def _unique_ids(signals: list[LocatedSignal]) -> None:
    seen: dict[str, LocatedSignal] = {}
    for s in signals:
        if s.signal.id is None:
            continue
        if s.signal.id in seen:
            raise EvalloopError(f"duplicate signal id {s.signal.id!r} (first at line {seen[s.signal.id].line})",
                                path=s.path, line=s.line)
        seen[s.signal.id] = s


def _kind(data: Any) -> str:
    if data is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(type(data), "a number")

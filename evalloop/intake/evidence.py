"""The trace a signal points at: whether it is evidence anyone can use.

A trace file (a relative path is read from the evalloop root) is useful when the trace
importers read at least one run with spans from it; one that is missing or unreadable is
not, since evidence nobody can open protects nothing. A URL or a trace id points into a
trace store evalloop cannot read: it is taken as recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalloop.errors import EvalloopError

TraceRefKind = Literal["path", "url", "id"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")


@dataclass(frozen=True)
class TraceEvidence:
    ref: str
    kind: TraceRefKind
    useful: bool
    note: str  # what was found: "1 run, 12 spans", "not found", "unreadable: ..."


def ref_kind(ref: str) -> TraceRefKind:
    """A URL has a scheme; a path has a folder separator or a trace file's suffix; else an id."""
    if _URL.match(ref):
        return "url"
    if "/" in ref or "\\" in ref or ref.lower().endswith(_TRACE_SUFFIXES):
        return "path"
    return "id"


class TraceChecker:
    """Checks trace references against one root, reading each file once however many signals name it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[Path, tuple[bool, str]] = {}

    def check(self, ref: str) -> TraceEvidence:
        kind = ref_kind(ref)
        if kind != "path":
            return TraceEvidence(ref, kind, True, f"a trace {'URL' if kind == 'url' else 'id'}, not read")
        path = Path(ref) if Path(ref).is_absolute() else self.root / ref
        if path not in self._seen:
            self._seen[path] = _read(path)
        useful, note = self._seen[path]
        return TraceEvidence(ref, kind, useful, note)


def _read(path: Path) -> tuple[bool, str]:
    from evalloop.traces.load import load_runs  # the importers are only needed for signals with trace files

    if not path.exists():
        return False, "not found"
    if not path.is_file():  # a FIFO would block the read forever; a folder is no trace
        return False, "not a regular file"
    try:
        runs = load_runs(path)
    except EvalloopError as exc:
        return False, f"unreadable: {exc.message}"
    spans = sum(len(r.spans) for r in runs)
    note = f"{len(runs)} run{'s' if len(runs) != 1 else ''}, {spans} span{'s' if spans != 1 else ''}"
    return spans > 0, note if spans else f"{note}: nothing recorded"

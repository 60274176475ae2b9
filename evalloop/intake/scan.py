"""The repository scan behind `evalloop capture --scan` and the evalloop-redaction hook.

Committed trace files and captured material are checked with the detectors capture redacts
with (`evalloop.intake.redact`), and every unredacted value found is a finding with its line and
column, never with the value itself (the finding would leak it into a CI log).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from evalloop.errors import EvalloopError
from evalloop.intake.redact import KIND_CODE, KIND_TEXT, Found, counts_or_times, detect, field_item, walk
from evalloop.model.findings import Finding
from evalloop.repo import parse
from evalloop.validate.redaction import ALLOW_MARKER

_JSON_LINES = (".jsonl", ".ndjson")
_MAX_OCCURRENCES = 50  # findings per value and file: enough to fix, short enough to read


def _documents(text: str, suffix: str) -> list[tuple[int, Any]]:
    """(first line, data) of each document of a file (JSON, JSON Lines or YAML); none when it does
    not parse: its text is still scanned line by line, and a syntax error is validate's to report."""
    if suffix in _JSON_LINES or suffix == ".json":
        try:
            return [(1, orjson.loads(text))]
        except orjson.JSONDecodeError:
            pass
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    docs.append((n, orjson.loads(line)))
                except orjson.JSONDecodeError:
                    continue
        return docs
    try:
        return [(1, parse.parse_text(text, "", is_json=False))]
    except EvalloopError:
        return []


def _occurrences(text: str, value: str) -> Iterator[int]:
    """Offsets of `value` in the file text, as written or as JSON escapes it."""
    seen = 0
    for form in dict.fromkeys((value, orjson.dumps(value).decode()[1:-1])):
        start = text.find(form)
        while start >= 0 and seen < _MAX_OCCURRENCES:
            yield start
            seen += 1
            start = text.find(form, start + len(form))


def _comment(line: str) -> int | None:
    """Where a YAML line's comment starts (a `#` at its start or after a space), if it has one."""
    body = line.lstrip()
    if body.startswith("#"):
        return len(line) - len(body)
    at = line.find(" #")
    return at + 1 if at >= 0 else None


def scan_text(display: str, text: str, suffix: str, allow: list[re.Pattern[str]]) -> list[Finding]:
    """Findings for every unredacted value in one file's text, with line and column.

    The parsed data is scanned with its keys (credential-like keys, id and name fields), the raw
    lines as text (comments included, which the data never shows). A value is allowed by a
    `redaction_allow` pattern, by a fixture's `synthetic_values`, or by validate's marker on its
    line.
    """
    items: dict[Found, int] = {}  # -> the first line of its document
    synthetic: set[str] = set()
    documents = _documents(text, suffix)
    for first, doc in documents:
        if isinstance(doc, dict) and isinstance(doc.get("synthetic_values"), list):
            synthetic.update(v for v in doc["synthetic_values"] if isinstance(v, str))
        for key, value in walk(doc):
            item = field_item(key, value, bare_name=False) if key is not None else None
            # ids are replaced in captured material, but not reported here: synthetic ids
            # (`ord_1`) fill fixtures and examples, and an id alone identifies nobody
            if item is not None and item.kind in KIND_CODE:
                items.setdefault(item, first)
            elif isinstance(value, str) or abs(value) >= 10**9:
                for found in detect(str(value), key if isinstance(value, str) else None,
                                    numbers=not counts_or_times(key)):
                    items.setdefault(found, first)
    lines = text.splitlines()
    hits: dict[tuple[int, int, str], str] = {}
    for item, first in items.items():
        located = False
        for offset in _occurrences(text, item.value):
            line, col = parse.offset_to_position(text, offset)
            hits.setdefault((line, col, item.kind), item.value)
            located = True
        if not located:  # written with escapes the text search does not undo: its document then
            hits.setdefault((first, 1, item.kind), item.value)
    # the text itself: what the data does not show (YAML comments), or all of it when it did not parse
    for n, line_text in enumerate(lines, 1):
        start: int | None = 0
        if documents:
            if suffix in (".json", *_JSON_LINES):
                break  # JSON has no comments: the data showed everything
            start = _comment(line_text)
            if start is None:
                continue
        for item in detect(line_text[start:]):
            col = line_text.find(item.value, start) + 1
            hits.setdefault((n, col, item.kind), item.value)
    out = []
    for (line, col, kind), value in sorted(hits.items()):
        if value in synthetic or any(rx.search(value) for rx in allow):
            continue
        if 0 < line <= len(lines) and ALLOW_MARKER in lines[line - 1]:
            continue
        out.append(Finding(path=display, line=line, col=col, code=KIND_CODE[kind],
                           message=f"unredacted {KIND_TEXT[kind]} (replace it with a placeholder, as "
                           "`evalloop capture` does; a deliberate synthetic value gets "
                           f"`# {ALLOW_MARKER}` on its line or a `redaction_allow` pattern)"))
    return out


__all__ = ["scan_text"]

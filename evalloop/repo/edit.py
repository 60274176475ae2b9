"""Editing one value of a user's YAML or JSON file in place: the value's characters are replaced
and every other byte (comments, quoting, key order, blank lines) stays as it was.

The value is found with ruamel.yaml's round-trip parse (the positions `parse.locate` reads), and
the text found there must read back as the current value before anything is replaced: a file
whose value cannot be pinned down is refused, never rewritten by guesswork.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from evalloop.errors import EvalloopError
from evalloop.repo.parse import Document, locate

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./@-]*")
_PLAIN_END = re.compile(r"\s+#|[,\]}]|\r?\n|$")


def _offset(text: str, line: int, col: int) -> int:
    starts = [0, *(m.end() for m in re.finditer(r"\n", text))]
    return starts[line - 1] + col - 1


def _token_end(text: str, start: int, is_json: bool) -> int:
    first = text[start]
    if first == '"':
        return start + json.JSONDecoder().raw_decode(text[start:])[1] if is_json else _double_quoted_end(text, start)
    if first == "'":
        i = start + 1
        while True:
            i = text.index("'", i)
            if text.startswith("''", i):
                i += 2
                continue
            return i + 1
    m = _PLAIN_END.search(text, start)
    return len(text) if m is None else m.start()


def _double_quoted_end(text: str, start: int) -> int:
    i = start + 1
    while True:
        i = text.index('"', i)
        if text[i - 1] != "\\" or text[i - 2:i] == "\\\\":
            return i + 1
        i += 1


def _value_at(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        data = data[part]
    return data


def replace_value(doc: Document, loc: tuple[str | int, ...], new: str) -> str:
    """`doc`'s text with the string at `loc` replaced by `new`, nothing else changed."""
    try:
        current = _value_at(doc.data, loc)
    except (KeyError, IndexError, TypeError):
        raise EvalloopError(f"{'.'.join(map(str, loc))} is not in the file", path=doc.display) from None
    line, col = locate(doc, loc)
    start = _offset(doc.text, line, col)
    try:
        end = _token_end(doc.text, start, doc.is_json)
        token = doc.text[start:end]
        found = json.loads(token) if doc.is_json else yaml.safe_load(token)
    except (ValueError, yaml.YAMLError, IndexError):
        found = object()
    if found != current or not isinstance(current, str):
        raise EvalloopError(f"cannot edit {'.'.join(map(str, loc))} in place (a multi-line or unusual value): "
                            "change it by hand", path=doc.display, line=line, col=col)
    plain = not doc.is_json and _PLAIN_SAFE.fullmatch(new) is not None and yaml.safe_load(new) == new
    replacement = new if plain else json.dumps(new, ensure_ascii=False)  # JSON strings are YAML too
    return doc.text[:start] + replacement + doc.text[end:]

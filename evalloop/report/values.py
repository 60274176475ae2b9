"""Values shown to people: JSON, never Python reprs; long ones cut at a word or a character
boundary with an ellipsis and their full length; cleaned for a terminal."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from evalloop.model.run import describe
from evalloop.text import clean

# a word boundary that far back from the limit loses less than a third of what could be shown
_WORD_END = re.compile(r"[\s,;:)\]}]")
_INCOMPLETE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\(?:u[0-9A-Fa-f]{0,3})?$")
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors: part of the character before


def _cut(text: str, keep: int) -> str:
    """At most `keep` characters of `text`: up to the last word boundary when that keeps two
    thirds of them, else up to a character (never between a letter and its accents, nor inside
    a JSON escape)."""
    cut = text[:keep]
    boundary = max((m.end() for m in _WORD_END.finditer(cut)), default=0)
    if boundary >= keep * 2 // 3:
        return cut[:boundary].rstrip()
    while len(cut) > 1 and (unicodedata.combining(text[len(cut)]) or text[len(cut)] in _JOINERS):
        cut = cut[:-1]
    return _INCOMPLETE_ESCAPE.sub("", cut) or cut


def shorten(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters; else cut (`_cut`), with an ellipsis and the full length."""
    if len(text) <= limit:
        return text
    return f"{_cut(text, max(1, limit - 1))}… ({len(text):,} characters)"


def json_text(value: Any) -> str:
    """`value` as one line of JSON (null, true, {"a": 1}), never a Python repr."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):  # a key JSON cannot have, an integer too long to print
        return describe(value)


def show(value: Any, limit: int) -> str:
    """`value` for a terminal: JSON, shortened, cleaned. A long string is cut inside its quotes,
    with the string's own length."""
    if isinstance(value, str) and len(value) > limit:
        quoted = json_text(_cut(value, max(1, limit - 1)))
        return clean(f'{quoted[:-1]}…" ({len(value):,} characters)')
    return clean(shorten(json_text(value), limit))

"""Untrusted text made harmless for a terminal, a log, XML or an annotation.

Below every stage: whatever shows text from evalloop.yaml, fixtures, traces, git or a pull
request outside markdown goes through `clean` (markdown has `evalloop.report.escape.md`).
"""

from __future__ import annotations

import re
from typing import Any

# CSI and OSC escape sequences (colours, cursor moves, window titles, hyperlinks),
# then any other C0/C1 control character, the Unicode bidirectional controls that can
# make a line read differently from what it contains, the line/paragraph separators
# some viewers break lines at, lone surrogates (which cannot be written as UTF-8) and
# the two noncharacters XML forbids.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
                       r"\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def clean(text: Any, *, lines: bool = False) -> str:
    """Untrusted text made harmless for a terminal, a log, XML or an annotation: escape
    sequences removed, other control characters shown as `\\uXXXX`. On one line, unless
    `lines`: then CR, LF and CRLF line breaks are kept (a workflow command escapes them)
    and each line is cleaned."""
    text = str(text)
    if lines:
        parts = _LINE_BREAK.split(text)
        return "".join(part if i % 2 else clean(part) for i, part in enumerate(parts))
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub(lambda m: " " if m.group(0) in "\t\n\r" else f"\\u{ord(m.group(0)):04x}", text)

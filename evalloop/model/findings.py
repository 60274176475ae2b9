"""Findings (a problem at a place in a file) and the formats they are reported in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

from evalloop.errors import CONTROL_CHARS, escape_char, escape_controls

Level = Literal["error", "warning"]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    line: int = 1
    col: int = 1
    code: str
    level: Level = "error"
    message: str

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices` to a misspelt `word`, else ""."""
    import difflib  # for findings only: a clean run does without

    hint = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def _annotation_text(text: str) -> str:
    """CR and LF stay for escape_data (%0D/%0A, which GitHub decodes); other controls become escapes."""
    return CONTROL_CHARS.sub(lambda m: m.group() if m.group() in "\r\n" else escape_char(m), text)


def format_text(findings: Iterable[Finding]) -> str:
    """One finding per line, `path:line:col: CODE message`, whatever the path and message hold."""
    lines = []
    for f in findings:
        tag = "" if f.level == "error" else "warning: "
        lines.append(f"{escape_controls(f.path)}:{f.line}:{f.col}: {escape_controls(f.code)} "
                     f"{tag}{escape_controls(f.message)}")
    return "\n".join(lines)


def format_github(findings: Iterable[Finding]) -> str:
    """One workflow command per finding: a newline in a path or message is %0A, never a line break."""
    # imported here: the runner-side module is not needed for the text and JSON formats,
    # and the pre-commit hook pays for every import
    from evalloop.github.actions import escape_data, escape_property

    lines = []
    for f in findings:
        props = ",".join([
            f"file={escape_property(_annotation_text(f.path))}",
            f"line={f.line}",
            f"col={f.col}",
            f"title={escape_property(_annotation_text(f.code))}",
        ])
        lines.append(f"::{f.level} {props}::{escape_data(_annotation_text(f.message))}")
    return "\n".join(lines)


def format_json(findings: list[Finding], *, files: int) -> str:
    errors = sum(f.level == "error" for f in findings)
    doc = {
        "files": files,
        "errors": errors,
        "warnings": len(findings) - errors,
        "findings": [f.model_dump() for f in findings],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()

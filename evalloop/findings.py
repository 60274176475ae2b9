"""Findings (a problem at a place in a file) and the formats they are reported in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

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


def _one_line(text: str) -> str:
    return " ".join(text.split())


def escape_data(text: str) -> str:
    """Escape a workflow-command message (GitHub's toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (GitHub's toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_text(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        tag = "" if f.level == "error" else "warning: "
        lines.append(f"{f.path}:{f.line}:{f.col}: {f.code} {tag}{_one_line(f.message)}")
    return "\n".join(lines)


def format_github(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        props = ",".join([
            f"file={escape_property(f.path)}",
            f"line={f.line}",
            f"col={f.col}",
            f"title={escape_property(f.code)}",
        ])
        lines.append(f"::{f.level} {props}::{escape_data(f.message)}")
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

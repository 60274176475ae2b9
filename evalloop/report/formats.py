"""The report formats by the name `--format` takes."""

from __future__ import annotations

from collections.abc import Callable

from evalloop.model.results import GateReport
from evalloop.report.json_report import render_json
from evalloop.report.junit import render_junit
from evalloop.report.markdown import render_markdown
from evalloop.report.text import render_text

RENDERERS: dict[str, Callable[[GateReport], str]] = {
    "text": lambda r: render_text(r) + "\n",
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
}

"""`evalloop metrics` rendered: text, markdown, JSON and the HTML dashboard."""

from __future__ import annotations

from collections.abc import Callable

from evalloop.model.metrics import MetricsReport


def render(report: MetricsReport, fmt: str) -> str:
    renderers: dict[str, Callable[[MetricsReport], str]] = {"text": _text, "markdown": _markdown, "json": _json,
                                                           "html": _html}
    return renderers[fmt](report)


def _text(report: MetricsReport) -> str:
    from evalloop.metrics.render.text import render_text

    return render_text(report)


def _markdown(report: MetricsReport) -> str:
    from evalloop.metrics.render.markdown import render_markdown

    return render_markdown(report)


def _json(report: MetricsReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def _html(report: MetricsReport) -> str:
    # matplotlib loads only for the dashboard
    from evalloop.metrics.render.html import render_html

    return render_html(report)

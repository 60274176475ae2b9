"""The formats of `evalloop metrics`, and the dashboard as a reader sees it: one self-contained page,
shot by headless Chromium under a policy that forbids loading anything, with its charts drawn."""

from __future__ import annotations

import datetime as dt
import html.parser
import re
from pathlib import Path
from typing import ClassVar

from evalloop.metrics import compute
from evalloop.metrics.render import render
from evalloop.metrics.render.charts import LINE
from evalloop.metrics.render.html import COLOURS, CSP
from evalloop.model.metrics import MetricsReport
from tests.unit.metrics.loop import NOW, Loop
from tests.unit.report.browser import png_rows, screenshot

HOSTILE = "<img src=x onerror=alert(1)> | *x* @team"


def dashboard_report(tmp_path: Path) -> MetricsReport:
    loop = Loop(tmp_path, config=f"version: 1\nloop:\n  owner: '{HOSTILE}'\n")
    for week in range(8):
        day = dt.date(2026, 2, 2) + dt.timedelta(days=7 * week)
        loop.incident(f"INC-{week}", opened=day.isoformat())
        loop.fixture(f"fx-{week}", committed=(day + dt.timedelta(days=1 + week % 4)).isoformat(),
                     incident_id=f"INC-{week}")
        for n in range(4):
            loop.gate(f"{day + dt.timedelta(days=n)}T10:00", f"h{week}-{n}",
                      [(f"fx-{week}", "blocking", "flaky" if n < week % 3 else "pass")])
    return compute.report(loop.data(), compute.window(dt.date(2026, 2, 1), dt.date(2026, 3, 31), NOW, 90))


class _Page(html.parser.HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "img", "input", "link", "hr", "path", "use", "rect", "circle", "stop"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_the_page_is_one_self_contained_document(tmp_path: Path) -> None:
    page = render(dashboard_report(tmp_path), "html")
    assert page.startswith("<!doctype html>\n<html") and page.rstrip().endswith("</html>")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == []  # every element closed, in order
    names = [t for t, _a in parser.tags]
    assert names.count("html") == names.count("body") == 1 and names.count("svg") >= 5
    assert "script" not in names and "link" not in names and "img" not in names
    for _tag, attrs in parser.tags:
        for key in ("src", "href", "xlink:href"):
            assert attrs.get(key) is None or str(attrs[key]).startswith("#"), attrs  # nothing fetched
    assert f'content="{CSP.replace(chr(39), "&#x27;")}"' in page
    assert not re.search(r"url\((?!#)", page) and "@import" not in page and "@font-face" not in page
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_charts_are_deterministic(tmp_path: Path) -> None:
    report = dashboard_report(tmp_path)
    assert render(report, "html") == render(report, "html")


def _count(rows: list[bytearray], bpp: int, colour: str, tolerance: int = 24) -> tuple[int, set[int]]:
    """Pixels near `colour`, and the rows (in 100-pixel bands) they are in."""
    want = bytes.fromhex(colour[1:])
    n, bands = 0, set()
    for y, row in enumerate(rows):
        for x in range(0, len(row), bpp):
            if all(abs(row[x + i] - want[i]) <= tolerance for i in range(3)):
                n += 1
                bands.add(y // 100)
    return n, bands


def test_the_dashboard_renders_its_charts_in_chromium(tmp_path: Path) -> None:
    report = dashboard_report(tmp_path / "repo")
    page = tmp_path / "dashboard.html"
    page.write_text(render(report, "html"))
    png = tmp_path / "dashboard.png"
    screenshot(page, png, (1400, 4200))
    _w, _h, rows, bpp = png_rows(png.read_bytes())
    line, bands = _count(rows, bpp, LINE)
    # the same page without its charts: only the legend's swatch is in the line's colour
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<svg\b.*?</svg>", "", page.read_text(), flags=re.S))
    screenshot(bare, tmp_path / "bare.png", (1400, 4200))
    _w, _h, bare_rows, _bpp = png_rows((tmp_path / "bare.png").read_bytes())
    bare_line, _bands = _count(bare_rows, bpp, LINE)
    assert bare_line < 400, bare_line
    assert line > bare_line + 3000, (line, bare_line)  # the trend lines, in several charts down the page
    assert len(bands) >= 4, bands
    # inline styles apply under the page's policy: the status badges have their colours
    assert _count(rows, bpp, COLOURS["investigate"], 8)[0] + _count(rows, bpp, COLOURS["ok"], 8)[0] > 200


def test_text_markdown_and_json_say_no_data_never_zero(tmp_path: Path) -> None:
    report = dashboard_report(tmp_path)
    text = render(report, "text")
    assert "no data      Production trace coverage" in text
    assert "missing: trace sample (none given: --traces PATH or metrics.traces)" in text
    markdown = render(report, "markdown")
    assert "| ⚪ no data | Production trace coverage | no data |" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt; \\| \\*x\\* @\u200bteam" in markdown
    back = MetricsReport.model_validate_json(render(report, "json"))
    coverage = next(m for m in back.metrics if m.id == "trace_coverage")
    assert (coverage.value, coverage.status) == (None, "no_data")

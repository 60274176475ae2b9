"""The terminal a command writes to: whether it gets colour, and a live display of the fixtures
as they finish.

Colour: `--color always` or `never` decides; `auto` (the default) colours a terminal unless
NO_COLOR is set to anything but the empty string, or TERM is dumb. The command line
overrides NO_COLOR: a user who asks for colour by flag means it. NO_COLOR turns colour
off, not the live display (that is not colour). Piped output and CI logs get the plain
lines every format test reads; the live display is drawn only on a terminal outside CI (a
log would keep every frame of it) and is gone when the batch ends, so the report that
follows is the same whatever the terminal.

Reports are coloured after they are rendered, by patterns of their own layout (status words
at the start of a row, the verdict, headings): the renderers stay plain text, and untrusted
text, cleaned before, is never read as markup.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group, RenderableType
from rich.highlighter import RegexHighlighter
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

from evalloop.model.results import FixtureResult
from evalloop.report.text import USAGE_HEADERS, Usage
from evalloop.text import clean

if TYPE_CHECKING:
    from evalloop.gate.execute import FixtureOutcome

COLOR_CHOICES = ("auto", "always", "never")

STATUS_STYLES = {"pass": "green", "fail": "red", "error": "red", "no_run": "red", "flaky": "yellow"}
THEME = Theme({
    "evalloop.pass": "green", "evalloop.fail": "red", "evalloop.flaky": "yellow",
    "evalloop.verdict_pass": "bold green", "evalloop.verdict_warn": "bold yellow",
    "evalloop.verdict_block": "bold red", "evalloop.heading": "bold", "evalloop.total": "bold",
    "evalloop.span_failed": "red", "evalloop.span_waiting": "yellow",
})


class ReportHighlighter(RegexHighlighter):
    """The status words, verdicts and headings of the text reports (`report.table`,
    `report.text`, `report.trajectory`), found by where those layouts put them."""

    base_style = "evalloop."
    highlights = (
        # a row or a heading that starts with a status: the run table, the gate's results, trajectories
        r"(?m)^(?:  |  run \d+ of \d+: )?(?:(?P<pass>PASS)|(?P<fail>FAIL|ERROR|NO_RUN)|(?P<flaky>FLAKY))(?=[ :]|$)",
        r"(?m)^(?:verdict|evalloop gate): (?:(?P<verdict_pass>PASS)|(?P<verdict_warn>WARN)|(?P<verdict_block>BLOCK))",
        r"(?m)^  (?P<verdict_block>NEEDS APPROVAL)",
        r"(?m)^(?P<heading>STATUS  [^\n]*|  STATUS  [^\n]*|What changed:|Which behaviours it could affect:"
        r"|Which fixtures protect them, and why:|Results:|Trajectories:|PROTECTION CHANGES [^\n]*)$",
        r"(?m)^(?P<total>(?:  )?total\b[^\n]*)$",
        r"(?m)^ {6} *\d+  (?:(?P<span_failed>failed|denied)|(?P<span_waiting>waiting)) ",
    )


_HIGHLIGHT = ReportHighlighter()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Terminal:
    """A stream, and what it may be sent: colour, a live display."""

    stream: TextIO
    color: bool = False
    live: bool = False

    @classmethod
    def detect(cls, choice: str = "auto", stream: TextIO | None = None,
               environ: Mapping[str, str] | None = None) -> Terminal:
        """What `stream` (default stdout) gets under `--color choice` (one of COLOR_CHOICES)."""
        if choice not in COLOR_CHOICES:
            raise ValueError(f"--color {choice!r}: expected one of {', '.join(COLOR_CHOICES)}")
        stream = stream if stream is not None else sys.stdout
        env = os.environ if environ is None else environ
        try:
            tty = stream.isatty() and env.get("TERM") != "dumb"
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            tty = False
        color = choice == "always" or (choice == "auto" and tty and not env.get("NO_COLOR"))
        return cls(stream, color=color, live=tty and not _truthy(env.get("CI")))

    def console(self) -> Console:
        # Every choice is made here, none by rich's own reading of the environment, and nothing
        # is wrapped: a report's lines stay the lines the plain report has.
        return Console(file=self.stream, force_terminal=self.color or self.live,
                       color_system="standard" if self.color else None, no_color=not self.color,
                       highlight=False, markup=False, emoji=False, soft_wrap=True, theme=THEME)

    def write(self, text: str) -> None:
        """A rendered text report, coloured when colour is on; byte for byte as given otherwise."""
        if not self.color:
            self.stream.write(text)
            return
        self.console().print(_HIGHLIGHT(Text(text)), end="")
        self.stream.flush()


class LiveProgress:
    """A `Watcher` (`evalloop.gate.execute`) drawing the fixtures as they finish, newest last,
    under a line of how many are done; on a terminal only, and gone when the batch ends."""

    def __init__(self, terminal: Terminal, what: str) -> None:
        self._console = terminal.console()
        self._what = what
        self._lock = threading.Lock()
        self._rows: list[FixtureResult] = []
        self._total = 0
        self._started = time.monotonic()
        self._live = Live(console=self._console, get_renderable=self._render, transient=True,
                          refresh_per_second=8)

    def __enter__(self) -> LiveProgress:
        self._started = time.monotonic()
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def planned(self, count: int) -> None:
        with self._lock:
            self._total += count
        self._live.refresh()

    def finished(self, outcome: FixtureOutcome) -> None:
        with self._lock:
            self._rows.append(outcome.result)
        self._live.refresh()  # at once: a row that waits for the next tick seems lost

    def _render(self) -> RenderableType:
        with self._lock:
            rows, total = list(self._rows), self._total
        elapsed = time.monotonic() - self._started
        counted = f"{len(rows)}/{total}" if total else f"{len(rows)}"
        status = Spinner("dots", Text(f"{self._what}: {counted} fixtures done, {elapsed:.0f}s"))
        room = max(0, self._console.height - 4)  # the header, the status line, a line spare
        if not rows or not room:
            return status
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("STATUS", "FIXTURE", "RUNS", *USAGE_HEADERS):
            table.add_column(name, no_wrap=True, overflow="ellipsis")
        hidden = len(rows) - room
        for r in rows[-room:]:
            table.add_row(Text(r.status.upper(), style=STATUS_STYLES.get(r.status, "")), Text(clean(r.id)),
                          Text(f"{r.passes}/{r.runs}" if r.runs else "-"), *(Text(c) for c in Usage.of(r).cells()))
        more = [Text(f"… {hidden} more above", style="dim")] if hidden > 0 else []
        return Group(*more, table, status)


@contextlib.contextmanager
def live_progress(terminal: Terminal, what: str) -> Iterator[LiveProgress | None]:
    """A live display of the batch on `terminal` while the block runs; None where it has none."""
    if not terminal.live:
        yield None
        return
    with LiveProgress(terminal, what) as progress:
        yield progress

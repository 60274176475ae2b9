"""The terminal: colour as --color and NO_COLOR decide, the live display on a terminal only, and
plain text, byte for byte, everywhere else."""

from __future__ import annotations

import io
import re

import pytest

from evalloop.gate.execute import FixtureOutcome
from evalloop.model.results import FixtureResult
from evalloop.report.progress import LiveProgress, Terminal, live_progress
from evalloop.report.table import format_table

SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or a style
ESCAPE = re.compile(r"\x1b")


class TTY(io.StringIO):
    """A terminal, as far as `isatty` tells."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("choice", "tty", "env", "color", "live"), [
    ("auto", True, {}, True, True),
    ("auto", False, {}, False, False),  # piped
    ("auto", True, {"NO_COLOR": "1"}, False, True),
    ("auto", True, {"NO_COLOR": ""}, True, True),  # set but empty: no-color.org says it does not count
    ("auto", True, {"TERM": "dumb"}, False, False),
    ("auto", True, {"CI": "true"}, True, False),  # a CI log would keep every frame of a live display
    ("auto", True, {"CI": "false"}, True, True),
    ("always", False, {"NO_COLOR": "1"}, True, False),  # the command line overrides NO_COLOR
    ("never", True, {}, False, True),
])
def test_what_a_stream_gets(choice: str, tty: bool, env: dict[str, str], color: bool, live: bool) -> None:
    terminal = Terminal.detect(choice, TTY() if tty else io.StringIO(), env)
    assert (terminal.color, terminal.live) == (color, live)


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="--color 'sometimes'"):
        Terminal.detect("sometimes", io.StringIO(), {})


RESULTS = [FixtureResult(id="ok", severity="blocking", status="pass", runs=1, passes=1, duration_ms=12.0),
           FixtureResult(id="bad", severity="blocking", status="fail", runs=1),
           FixtureResult(id="odd", severity="warning", status="flaky", runs=2, passes=1)]


def test_colour_adds_escape_codes_and_nothing_else() -> None:
    table = format_table(RESULTS, 1.0, 1)
    plain, coloured = io.StringIO(), io.StringIO()
    Terminal(plain).write(table)
    Terminal(coloured, color=True).write(table)
    assert plain.getvalue() == table
    out = coloured.getvalue()
    assert SGR.sub("", out) == table
    assert "\x1b[32mPASS" in out and "\x1b[31mFAIL" in out and "\x1b[33mFLAKY" in out
    assert re.search(r"verdict: \x1b\[1;31mBLOCK|verdict: \x1b\[1m\x1b\[31mBLOCK", out)


def test_long_lines_are_not_wrapped() -> None:
    text = "PASS " + "x" * 500 + "\n"
    out = io.StringIO()
    Terminal(out, color=True).write(text)
    assert SGR.sub("", out.getvalue()) == text


def outcome(r: FixtureResult) -> FixtureOutcome:
    return FixtureOutcome(r)


def test_the_live_display_draws_rows_as_fixtures_finish() -> None:
    stream = TTY()
    terminal = Terminal.detect("auto", stream, {})
    hostile = FixtureResult(id="evil\x1b]0;pwned\x07\x1b[2J", severity="blocking", status="error")
    with live_progress(terminal, "evalloop run") as progress:
        assert isinstance(progress, LiveProgress)
        progress.planned(4)
        for r in [*RESULTS, hostile]:
            progress.finished(outcome(r))
    out = stream.getvalue()
    assert SGR.search(out) and "\x1b[?25l" in out  # coloured, the cursor hidden while it draws
    assert "evalloop run: 4/4 fixtures done" in out and "bad" in out and "evil" in out
    assert "\x07" not in out and "pwned" not in out and "\x1b[2J" not in out  # the id's own escapes are gone


def test_no_color_keeps_the_live_display_and_drops_the_colour() -> None:
    stream = TTY()
    with live_progress(Terminal.detect("auto", stream, {"NO_COLOR": "1"}), "evalloop run") as progress:
        assert progress is not None
        progress.planned(1)
        progress.finished(outcome(RESULTS[1]))
    assert "bad" in stream.getvalue() and not SGR.search(stream.getvalue())


def test_piped_output_has_no_live_display_and_no_escape_codes() -> None:
    stream = io.StringIO()
    terminal = Terminal.detect("auto", stream, {})
    with live_progress(terminal, "evalloop run") as progress:
        assert progress is None
    terminal.write(format_table(RESULTS, 1.0, 1))
    assert not ESCAPE.search(stream.getvalue())

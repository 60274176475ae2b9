"""Errors that end a command with a one-line message instead of a traceback."""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls and the Unicode line/paragraph separators: each can end a line
# or drive a terminal (ESC starts ANSI sequences), and paths and messages echo user content.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(m: re.Match[str]) -> str:
    c = m.group()
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) <= 0xFF else f"\\u{ord(c):04x}")


def escape_controls(text: str) -> str:
    """Control characters as visible escapes (`\\n`, `\\x1b`), so a file named `a<newline>b.yaml`
    or a key holding an ANSI sequence can neither split a finding nor recolour the terminal."""
    return CONTROL_CHARS.sub(escape_char, text)


class EvalloopError(Exception):
    """A problem with the user's input; the CLI prints it on one line and exits 2."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.col = col

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        return where + self.message


class UsageError(EvalloopError):
    """Wrong arguments or configuration."""

"""Errors that end a command with a one-line message instead of a traceback."""

from __future__ import annotations


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

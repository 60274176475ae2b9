"""The runner side of GitHub Actions: workflow commands, step outputs, the job summary, the pull request's labels.

Everything here is about text a runner parses: a message that reaches a workflow
command unescaped can end the command early or start another one, so every value
goes through GitHub's own escaping, and untrusted text printed to the log is fenced
with `::stop-commands::` under a token nobody can guess. Before that escaping, every
message and property is cleaned (evalloop.text.clean): escape sequences and control
characters from fixtures, traces or an API's answer would otherwise reach the log and
the annotations as they are.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalloop.report.truncate import JOB_SUMMARY_LIMIT
from evalloop.text import clean

AnnotationLevel = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    """Escape a workflow-command message (GitHub's toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value (GitHub's toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, props: Mapping[str, str | int | None] | None = None) -> str:
    """One workflow command line, `::name k=v,k=v::message`, cleaned, then escaped as the toolkit does."""
    parts = [f"{key}={escape_property(clean(value))}" for key, value in (props or {}).items() if value is not None]
    head = f"::{name} {','.join(parts)}" if parts else f"::{name}"
    return f"{head}::{escape_data(clean(message, lines=True))}"


@dataclass(frozen=True)
class Annotation:
    """One annotation, cleaned when made: the same text goes to a workflow command and to the
    Checks API, and neither may carry escape sequences or control characters."""

    level: AnnotationLevel
    message: str
    title: str
    file: str | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clean(self.message, lines=True))
        object.__setattr__(self, "title", clean(self.title))
        if self.file is not None:
            object.__setattr__(self, "file", clean(self.file))

    def command(self) -> str:
        props: dict[str, str | int | None] = {"title": self.title}
        if self.file:
            props = {"file": self.file, "line": self.line or 1, "title": self.title}
        return command(self.level, self.message, props)


def new_token() -> str:
    return secrets.token_hex(16)


@contextmanager
def stop_commands(write: Callable[[str], object], token: str | None = None) -> Iterator[str]:
    """Print whatever the body prints without the runner acting on `::` lines in it.

    The token is random per block: text written inside cannot guess it to resume
    command processing early."""
    token = token or new_token()
    write(f"::stop-commands::{token}")
    try:
        yield token
    finally:
        write(f"::{token}::")


def output_lines(outputs: Mapping[str, str]) -> str:
    """`GITHUB_OUTPUT` content in the multiline form, which no value can break out of."""
    chunks = []
    for name, value in outputs.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            raise ValueError(f"bad output name {name!r}")
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in value:  # pragma: no cover - a uuid in the value is not going to happen
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)


def write_outputs(path: str | None, outputs: Mapping[str, str]) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(output_lines(outputs))


def summary_room(path: Path, limit: int = JOB_SUMMARY_LIMIT) -> int:
    """Bytes still free in this step's summary (it may hold what an earlier call wrote)."""
    try:
        used = path.stat().st_size
    except OSError:
        used = 0
    return max(limit - used, 0)


def append_summary(path: str | None, markdown: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")


def pr_labels(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Labels the environment gives: EVALLOOP_PR_LABELS (one per line, as the Action sets it),
    then those of the pull request the job runs for."""
    # here, not at the top: the API client's imports would otherwise come with every finding
    # `evalloop validate` prints (model.findings escapes with this module)
    from evalloop.github.api import pull_request_labels

    given = [line.strip() for line in environ.get("EVALLOOP_PR_LABELS", "").splitlines() if line.strip()]
    return given + pull_request_labels(environ)

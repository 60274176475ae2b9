"""The runner side of GitHub Actions: workflow commands, step outputs and the job summary.

Everything here is about text a runner parses: a message that reaches a workflow
command unescaped can end the command early or start another one, so every value
goes through GitHub's own escaping, and untrusted text printed to the log is fenced
with `::stop-commands::` under a token nobody can guess. Before that escaping, every
message and property is cleaned (report.clean): escape sequences and control characters
from fixtures, traces or an API's answer would otherwise reach the log and the
annotations as they are.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalloop.model.findings import escape_data, escape_property
from evalloop.report.render import PROTECTION_HEADING, clean

SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub accepts in one step's job summary
AnnotationLevel = Literal["error", "warning", "notice"]


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


def summary_room(path: Path, limit: int = SUMMARY_LIMIT) -> int:
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


# -- truncation -------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


@dataclass
class _Line:
    text: str
    offset: int  # bytes before this line
    fence: str | None  # the fence open before this line
    details: int  # <details> blocks open before this line


def _scan(text: str) -> tuple[list[_Line], int]:
    lines: list[_Line] = []
    offset = 0
    fence: str | None = None
    details = 0
    for raw in text.splitlines(keepends=True):
        lines.append(_Line(raw, offset, fence, details))
        offset += len(raw.encode())
        match = _FENCE.match(raw)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not raw.strip()[len(match.group(1)):]:
            fence = None
        elif fence is None:
            details += len(_DETAILS_OPEN.findall(raw)) - len(_DETAILS_CLOSE.findall(raw))
            details = max(details, 0)
    return lines, offset


def _title(line: str) -> str:
    title = line.strip().lstrip("#").strip()
    return title[:80] + ("…" if len(title) > 80 else "")


def truncate_markdown(text: str, limit: int, *, where: str = "GitHub's size limit",
                      full_report: str = "", keep: str | None = PROTECTION_HEADING) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, at a section boundary when there is one,
    ending with a note of what was cut and where the whole report is.

    The section whose heading starts with `keep` (an evalloop report's protection changes)
    is never dropped at a boundary: cuts come after it. Only when it does not fit by itself
    is it cut, at a line, keeping as much of it as fits."""
    lines, total = _scan(text)
    if total <= limit:
        return text
    headings = [i for i, ln in enumerate(lines)
                if i > 0 and ln.fence is None and ln.details == 0 and _HEADING.match(ln.text)]
    protected = [i for i in headings if keep and lines[i].text.startswith(keep)]
    after = next((i for i in headings if protected and i > protected[-1]), None)
    boundaries = headings if not protected else [i for i in headings if after is not None and i >= after]

    def note(cut_from: int, closer: str, cut_at: int | None = None) -> str:
        cut_titles = [_title(lines[i].text) for i in headings if i >= cut_from]
        cut_bytes = total - (lines[cut_from].offset if cut_at is None else cut_at)
        names = ", ".join(f"“{t}”" for t in cut_titles[:10])
        if len(cut_titles) > 10:
            names += f" and {len(cut_titles) - 10} more"
        what = f"{len(cut_titles)} section(s) ({names})" if cut_titles else "the rest of this section"
        tail = f" {full_report}" if full_report else ""
        return f"{closer}\n\n---\n> **Truncated:** {what}, {cut_bytes:,} bytes, cut to fit {where}.{tail}\n"

    raw = text.encode()
    for i in reversed(boundaries):
        kept = lines[i].offset
        if kept + len(note(i, "").encode()) <= limit:
            return raw[:kept].decode() + note(i, "")
    # No whole section fits: cut inside the first one at a line, closing what is open.
    for i in range(len(lines) - 1, 0, -1):
        ln = lines[i]
        closer = ("\n" + ln.fence if ln.fence else "") + "\n</details>" * ln.details
        candidate = note(i, closer)
        if ln.offset + len(candidate.encode()) <= limit:
            return raw[:ln.offset].decode() + candidate
    # Not even one line fits (one huge line, or a limit smaller than the note).
    tail = note(0, "", cut_at=0)
    budget = limit - len(tail.encode())
    if budget <= 0:
        return tail.encode()[:limit].decode(errors="ignore")
    return raw[:budget].decode(errors="ignore") + note(0, "", cut_at=budget)

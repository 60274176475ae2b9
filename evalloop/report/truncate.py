"""What fits where GitHub shows a report: its size limits, and every cut made to meet them.

Sizes are UTF-8 bytes: never less than GitHub's count of characters, and what the job
summary counts. A report is fitted by rendering it with less and less detail until one
rendering fits (`fit`, the markdown report); text that must be cut as it is (the sticky
comment's body, the check run's summary, the job summary) is cut at a section boundary
with a note of what was cut (`truncate_markdown`). Neither ever drops the protection
changes, the section that says why a weakened protection blocks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

GITHUB_COMMENT_LIMIT = 65_536  # GitHub rejects longer issue comments (422)
CHECK_SUMMARY_LIMIT = 65_535  # the Checks API's output.summary maxLength
JOB_SUMMARY_LIMIT = 1024 * 1024  # what GitHub accepts in one step's job summary
# `evalloop publish` wraps the markdown in the sticky comment's marker and a footer; the
# markdown's default budget leaves them room so the comment is not cut again, less carefully.
COMMENT_WRAPPER_ROOM = 1024
COMMENT_MARKDOWN_LIMIT = GITHUB_COMMENT_LIMIT - COMMENT_WRAPPER_ROOM
# Job summary bytes kept for the publishing notes that come after the report.
SUMMARY_NOTE_ROOM = 8 * 1024
# Every markdown report titles its protection section with this; no cut drops that section.
PROTECTION_HEADING = "### Protection changes"


def size(text: str) -> int:
    return len(text.encode())


def hard_cut(text: str, limit: int) -> str:
    """At most `limit` bytes of `text`, never splitting a character."""
    return text.encode()[:limit].decode(errors="ignore")


# -- fitting a rendering -------------------------------------------------------------------


def fit(renderings: Iterable[str], limit: int, *, head: str, note: str,
        last_resort: Callable[[int], str]) -> str:
    """The first of `renderings` (the most complete first) that fits in `limit` bytes.

    When none does, the last one is cut at a line, never inside `head` (what it must keep),
    closing a `<details>` the cut leaves open, and `note` is appended. When not even the head
    and the note fit, `last_resort(limit)` decides; what it returns is capped at the limit."""
    text = ""
    for text in renderings:
        if size(text) <= limit:
            return text
    closer = "\n</details>"
    if size(head) + size(closer + note) <= limit:
        cut = hard_cut(text, limit - size(closer + note))
        cut = cut[: max(cut.rfind("\n"), len(head) - 1)]
        # Rendered untrusted text cannot contain `<details` (escape.md() escapes `<`): every one is ours.
        if cut.count("<details") > cut.count("</details>"):
            cut += closer
        return cut + note
    return hard_cut(last_resort(limit), limit)


def fit_rows(lines: list[str], rows: list[str], more: Callable[[int], list[str]], tail: str, limit: int) -> str:
    """`lines`, then as many of `rows` as fit with `more(n)` saying how many did not, then `tail`.
    Cut hard at the limit when not even `lines` fit."""
    kept: list[str] = []
    for row in rows:
        if size("\n".join([*lines, *kept, row, *more(len(rows) - len(kept) - 1)]) + tail) > limit:
            break
        kept.append(row)
    return hard_cut("\n".join([*lines, *kept, *more(len(rows) - len(kept))]) + tail, limit)


# -- cutting markdown as it is ---------------------------------------------------------------

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
        if kept + size(note(i, "")) <= limit:
            return raw[:kept].decode() + note(i, "")
    # No whole section fits: cut inside the first one at a line, closing what is open.
    for i in range(len(lines) - 1, 0, -1):
        ln = lines[i]
        closer = ("\n" + ln.fence if ln.fence else "") + "\n</details>" * ln.details
        candidate = note(i, closer)
        if ln.offset + size(candidate) <= limit:
            return raw[:ln.offset].decode() + candidate
    # Not even one line fits (one huge line, or a limit smaller than the note).
    tail = note(0, "", cut_at=0)
    budget = limit - size(tail)
    if budget <= 0:
        return hard_cut(tail, limit)
    return raw[:budget].decode(errors="ignore") + note(0, "", cut_at=budget)

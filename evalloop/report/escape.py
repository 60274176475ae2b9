"""Untrusted text made harmless for where a report shows it.

Everything a report shows from evalloop.yaml, fixtures, traces, git (paths, revisions)
or the pull request is untrusted and goes through one of these: `md()` for markdown,
where it can neither break the layout, inject HTML, mention anyone, show an image nor
forge the sticky comment's marker; `clean()` for the terminal, JUnit, the log and
annotations, where escape sequences are removed and other control characters shown
as `\\uXXXX`.
"""

from __future__ import annotations

import html
import re
from typing import Any

# CSI and OSC escape sequences (colours, cursor moves, window titles, hyperlinks),
# then any other C0/C1 control character, the Unicode bidirectional controls that can
# make a line read differently from what it contains, the line/paragraph separators
# some viewers break lines at, lone surrogates (which cannot be written as UTF-8) and
# the two noncharacters XML forbids.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
                       r"\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
# Inline markdown that could restyle, link or embed: emphasis, code, links and images
# (`[`, `]`, `!`), tables (`|`), strikethrough, math (`$`) and headings (`#`). `<`, `>`
# and `&` are HTML-escaped first, which also disarms autolinks, tags and comments; block
# syntax other than headings cannot start a line because md() keeps text on one line
# after a prefix of ours.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~!#$])")
# What may stand inside an inline code span unescaped: no backtick, `<`, `@`, `|` or newline.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9 _:./,=+-]{1,200}")
# A link target we render as a link: a plain https URL (GitHub's own answers, the run's URL).
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%!$&'*+,;=:@/?#-]*)?")


def clean(text: Any, *, lines: bool = False) -> str:
    """Untrusted text made harmless for a terminal, a log, XML or an annotation: escape
    sequences removed, other control characters shown as `\\uXXXX`. On one line, unless
    `lines`: then CR, LF and CRLF line breaks are kept (a workflow command escapes them)
    and each line is cleaned."""
    text = str(text)
    if lines:
        parts = _LINE_BREAK.split(text)
        return "".join(part if i % 2 else clean(part) for i, part in enumerate(parts))
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub(lambda m: " " if m.group(0) in "\t\n\r" else f"\\u{ord(m.group(0)):04x}", text)


def md(text: Any, limit: int = 500) -> str:
    """Untrusted text as inert markdown on one line: HTML escaped, markdown punctuation
    escaped, @mentions broken with a zero-width space."""
    s = clean(" ".join(str(text).split()))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False)).replace("@", "@\u200b")


def code(text: Any) -> str:
    """Text as an inline code span when it is plain (a name, a path, a setting), else as
    escaped text: only characters that mean nothing in a span and in the raw body go in one."""
    s = str(text)
    return f"`{s}`" if _PLAIN_CODE.fullmatch(s) else md(s)


def md_code(text: str, limit: int = 2000) -> str:
    """Our sentence quoting untrusted values, as markdown: its plain `code spans` stay spans,
    everything else is escaped as by md(). Backticks inside a quoted value can only shift
    which parts are spans, and a span's content is plain or escaped, so nothing comes alive."""
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2 and i < len(parts) - 1:
            out.append(f"`{part}`" if _PLAIN_CODE.fullmatch(part) else md(f"`{part}`", limit))
            continue
        escaped = md(part, limit)
        # md() trims, but the spaces around a span are part of the sentence.
        lead = " " if part[:1].isspace() and escaped else ""
        trail = " " if part[-1:].isspace() and escaped else ""
        out.append(f"{lead}{escaped}{trail}")
    return "".join(out)


def link(label: str, url: str) -> str:
    """A markdown link to `url` when it is a plain https URL, else the label and the URL as text."""
    if _SAFE_URL.fullmatch(url):
        return f"[{md(label)}]({url})"
    return f"{md(label)} ({md(url)})" if url else md(label)


def code_block(text: str) -> str:
    """Untrusted text in a fenced block that no backtick run inside it can close early. HTML
    is not rendered in a code block, but the sticky comment's marker is found by plain
    substring search, so an HTML comment opener in the text is broken up."""
    text = clean(text, lines=True).replace("<!--", "<!\u200b--")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"

"""Untrusted text made harmless for where a report shows it.

Everything a report shows from evalloop.yaml, fixtures, traces, git (paths, revisions)
or the pull request is untrusted and goes through one of these: `md()` for markdown,
where it can neither break the layout, inject HTML, mention anyone, show an image nor
forge the sticky comment's marker; `evalloop.text.clean()` for the terminal, JUnit, the log and
annotations, where escape sequences are removed and other control characters shown
as `\\uXXXX`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from evalloop.text import clean

# Inline markdown that could restyle, link or embed: emphasis, code, links and images
# (`[`, `]`, `!`), tables (`|`), strikethrough, math (`$`) and headings (`#`). `<`, `>`
# and `&` are HTML-escaped first, which also disarms autolinks, tags and comments; block
# syntax other than headings cannot start a line because md() keeps text on one line
# after a prefix of ours.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~!#$])")
# What may stand inside an inline code span unescaped: no backtick, `<`, `@`, `|` or newline.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9 _:./,=+-]{1,200}")
# A shell command in a code span: also the quotes shlex.quote() adds and `&&`.
_PLAIN_COMMAND = re.compile(r"[A-Za-z0-9 _:./,=+'\"&-]{1,300}")
# An address in a code span: GitHub neither mentions nor links inside one, and a copied address
# must not carry the zero-width space md() puts after every `@`.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
# A link target we render as a link: a plain https URL (GitHub's own answers, the run's URL).
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~%!$&'*+,;=:@/?#-]*)?")


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


def command(text: str) -> str:
    """A shell command (its untrusted words already shlex-quoted) as an inline code span when
    nothing in it means anything in a span, a table or the raw body, else as escaped text."""
    return f"`{text}`" if _PLAIN_COMMAND.fullmatch(text) else md(text, 1000)


def contact(text: str, limit: int = 200) -> str:
    """How to reach someone (a channel, an alias, an address): an address as a code span, so it
    can be copied as it is; anything else as md() text, where an `@handle` mentions nobody."""
    s = str(text).strip()
    return f"`{s}`" if len(s) <= limit and _EMAIL.fullmatch(s) else md(s, limit)


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

"""Rendering a GateReport: text, json, markdown (what a pull request shows) and JUnit XML.

Every report lists protection changes first (docs/protection.md), then answers the
seed's three questions in order: what changed, which behaviours that could affect,
which fixtures protected them and why. Everything a report shows from evalloop.yaml,
fixtures, traces, git (paths, revisions) or the pull request is untrusted and goes
through the two functions here: `md()` for markdown, where it can neither break the
layout, inject HTML, mention anyone, show an image nor forge the sticky comment's
marker; `clean()` for the terminal, JUnit, the log and annotations, where escape
sequences are removed and other control characters shown as `\\uXXXX`.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, gating_failure

GITHUB_COMMENT_LIMIT = 65_536
# `evalloop publish` wraps the markdown in the sticky comment's marker and a footer; the
# default budget leaves them room so the comment is not cut again, less carefully.
COMMENT_WRAPPER_ROOM = 1024
# The hidden line by which `evalloop publish` finds its own comment. md() escapes `<`, so
# no fixture, trace or config text can put a second one in a report.
COMMENT_MARKER = "<!-- evalloop:gate -->"
# Every markdown report titles its protection section with this, and truncation
# (here and in ghactions.truncate_markdown) never drops that section.
PROTECTION_HEADING = "### Protection changes"
_VERDICT_MARK = {"block": "❌ BLOCK", "warn": "⚠️ WARN", "pass": "✅ PASS"}
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


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def verdict_reason(r: GateReport) -> str:
    """Why a report blocks, for the verdict line: a reader sees at once whether it is a
    failing fixture or a weakened protection (or both) that stands in the way."""
    if r.verdict != "block":
        return ""
    parts = []
    pending = sum(not p.approved for p in r.protection_changes)
    if pending:
        parts.append(_plural(pending, "protection change needs approval", "protection changes need approval"))
    if r.counts.blocking_failures:
        parts.append(_plural(r.counts.blocking_failures, "blocking failure", "blocking failures"))
    return ", ".join(parts)


def _protection_order(r: GateReport) -> list[ProtectionChange]:
    # The ones that block come first, so a cut (which the markdown avoids) never hides them.
    return sorted(r.protection_changes, key=lambda p: p.approved)


def evidence_text(failure: dict[str, Any]) -> str:
    """A violation's evidence in a few words: span position, span, expected and actual value."""
    ev = failure.get("evidence")
    if not isinstance(ev, dict):
        return ""
    parts = []
    if ev.get("span_index") is not None:
        parts.append(f"span {ev['span_index']}")
    if ev.get("ref"):
        parts.append(str(ev["ref"]))
    for key in ("expected", "actual"):
        if ev.get(key) is not None:
            value = str(ev[key])
            parts.append(f"{key} {value if len(value) <= 80 else value[:77] + '...'}")
    return "; ".join(parts)


# ---------------------------------------------------------------- text


def render_text(r: GateReport) -> str:
    reason = verdict_reason(r)
    out = [f"evalloop gate: {r.verdict.upper()}{': ' + reason if reason else ''}  ({_counts_line(r)})"]
    if r.protection_changes:
        pending = any(not p.approved for p in r.protection_changes)
        out.append(f"\nPROTECTION CHANGES ({'need approval' if pending else 'approved'}):")
        for p in _protection_order(r):
            where = clean(p.base_path) + (f" -> {clean(p.head_path)}" if p.head_path and p.head_path != p.base_path
                                          else "")
            out.append(f"  {'NEEDS APPROVAL' if not p.approved else 'approved':14} {clean(p.id)} [{p.kind}] {where}")
            out.append(f"      {clean(p.detail)}")
            owner = clean(p.owner) if p.owner else "(no owner on base)"
            out.append(f"      approved: {clean(p.approval or 'yes')}" if p.approved
                       else f"      must be approved by {owner}")
    if r.shard:
        out.append(f"shard {clean(r.shard)}")
    out.append("\nWhat changed:")
    out += [f"  {c.status:12} {clean(c.kind):16} {clean(c.path)}"
            + (f" (from {clean(c.old_path)})" if c.old_path else "")
            + (f"  keys: {', '.join(clean(k) for k in c.keys)}" if c.keys else "")
            for c in r.changed] or ["  (nothing)"]
    out.append("\nWhich behaviours it could affect:")
    out += [f"  {clean(k)}: {', '.join(clean(x) for x in v)}" for k, v in r.behaviours.items()] or ["  (none)"]
    out.append("\nWhich fixtures protect them, and why:")
    for s in r.selected:
        out.append(f"  {clean(s.id)} [{s.severity}]")
        out += [f"      - {clean(reason)}" for reason in s.reasons]
    if not r.selected:
        out.append("  (none selected)")
    out.append("\nResults:")
    for res in r.results:
        mark = "PASS" if res.status == "pass" else res.status.upper()
        q = " (quarantined)" if res.quarantined else ""
        out.append(f"  {mark:7} {clean(res.id)} [{res.severity}]{q}"
                   + (f" owner {clean(res.owner)}" if res.owner else "")
                   + (f" incident {clean(res.incident_id)}" if res.incident_id else ""))
        if res.error:
            out.append(f"      error: {clean(res.error)}")
        for v in res.failures:
            ev = evidence_text(v)
            detail = f" ({clean(ev)})" if ev else ""
            out.append(f"      - {clean(v.get('kind'))}: {clean(v.get('message', ''))}{detail}")
        if res.reproduction:
            out.append(f"      reproduction: {clean(res.reproduction.note)}")
    for n in r.notes:
        out.append(f"note: {clean(n)}")
    return "\n".join(out)


def _counts_line(r: GateReport) -> str:
    c = r.counts
    return (f"{c.selected} selected, {c.passed} passed, {c.failed} failed, {c.errored} errors, "
            f"{c.flaky} flaky, {c.no_run} without a run")


# ---------------------------------------------------------------- markdown


def _failure_block(res: FixtureResult, max_violations: int) -> list[str]:
    lines = [f"#### {md(res.id)} — {res.status}", ""]
    facts = []
    if res.owner:
        facts.append(f"**owner** {md(res.owner)}")
    if res.incident_id:
        facts.append(f"**incident** {md(res.incident_id)}")
    if res.path:
        facts.append(f"**fixture** {md(res.path)}")
    if res.quarantined:
        facts.append("**quarantined**")
    if facts:
        lines.append(" · ".join(facts))
    if res.reason:
        lines.append(f"> {md(res.reason)}")
    lines.append("")
    if res.error:
        lines.append(f"- **error**: {md(res.error)}")
    shown = res.failures[:max_violations]
    for v in shown:
        ev = evidence_text(v)
        lines.append(f"- **{md(v.get('kind', 'violation'))}**: {md(v.get('message', ''))}"
                     + (f" — {md(ev, 300)}" if ev else ""))
    if len(res.failures) > len(shown):
        lines.append(f"- … and {len(res.failures) - len(shown)} more violations (cut to fit)")
    if res.reproduction:
        lines.append(f"- reproduction: {md(res.reproduction.note)}")
    lines.append("")
    return lines


_LEVELS: list[dict[str, int]] = [
    {"violations": 50, "passes": 10_000, "selected": 10_000, "changed": 10_000, "keys": 20, "notes": 1000,
     "width": 500},
    {"violations": 20, "passes": 200, "selected": 500, "changed": 500, "keys": 5, "notes": 200, "width": 500},
    {"violations": 10, "passes": 0, "selected": 100, "changed": 100, "keys": 0, "notes": 100, "width": 300},
    {"violations": 5, "passes": 0, "selected": 20, "changed": 30, "keys": 0, "notes": 50, "width": 200},
    {"violations": 2, "passes": 0, "selected": 0, "changed": 10, "keys": 0, "notes": 20, "width": 120},
]
_CUT_NOTE = "\n\n_Report cut at GitHub's comment limit; the full report is in the job's artifacts._\n"


def _size(text: str) -> int:
    # UTF-8 bytes: never less than GitHub's count of characters, and what the job summary counts.
    return len(text.encode())


def render_markdown(r: GateReport, limit: int = GITHUB_COMMENT_LIMIT - COMMENT_WRAPPER_ROOM) -> str:
    """The pull-request report in at most `limit` UTF-8 bytes, cut by dropping the least
    important parts first. The verdict and the protection changes are never dropped."""
    for level in _LEVELS:
        text = _markdown(r, level)
        if _size(text) <= limit:
            return text
    # Still too long: cut the last level's text at a line, but never inside its head.
    last = _LEVELS[-1]
    head = "\n".join(_head(r, last)) + "\n"
    closer = "\n</details>"
    if _size(head) + _size(closer + _CUT_NOTE) <= limit:
        # `text` is the last level's rendering, from the loop's final pass
        cut = text.encode()[: limit - _size(closer + _CUT_NOTE)].decode(errors="ignore")
        cut = cut[: max(cut.rfind("\n"), len(head) - 1)]
        # Untrusted text cannot contain `<details` (md() escapes `<`): every one counted is ours.
        if cut.count("<details") > cut.count("</details>"):
            cut += closer
        return cut + _CUT_NOTE
    return _protection_only(r, limit)


def _protection_only(r: GateReport, limit: int) -> str:
    """Not even the protection changes fit: as many rows as do, compact, and how many did not."""
    lines = _head(r, {**_LEVELS[-1], "width": 60}, rows=False)
    rows = _protection_rows(r, 60)

    def more(n: int) -> list[str]:
        return [f"| … {n} more protection changes: the JSON report lists them all | | | | |"] if n else []

    kept: list[str] = []
    for row in rows:
        if _size("\n".join([*lines, *kept, row, *more(len(rows) - len(kept) - 1)]) + "\n" + _CUT_NOTE) > limit:
            break
        kept.append(row)
    text = "\n".join([*lines, *kept, *more(len(rows) - len(kept))]) + "\n" + _CUT_NOTE
    # A limit below even the verdict line and the table's header: a hard cut, never over the limit.
    return text.encode()[:limit].decode(errors="ignore")


def _protection_rows(r: GateReport, width: int) -> list[str]:
    rows = []
    for p in _protection_order(r):
        where = md(p.base_path, width)
        if p.head_path and p.head_path != p.base_path:
            where += f" → {md(p.head_path, width)}"
        owner = md(p.owner, 100) if p.owner else "_none on base_"
        if p.approved:
            status = f"✅ approved: {md(p.approval or 'yes', width)}"
        else:
            status = "⛔ needs approval by " + (md(p.owner, 100) if p.owner else "the fixture's owner (none on base)")
        rows.append(f"| {md(p.id, width)}<br>{where} | {p.kind} | {md(p.detail, width)} | {owner} | {status} |")
    return rows


def _head(r: GateReport, lv: dict[str, int], rows: bool = True) -> list[str]:
    """The verdict line, the counts and the protection changes: what is never cut."""
    reason = verdict_reason(r)
    out = [f"## evalloop gate: {_VERDICT_MARK[r.verdict]}{': ' + reason if reason else ''}", ""]
    c = r.counts
    out.append(f"**{c.selected}** fixtures selected · **{c.passed}** passed · **{c.blocking_failures}** blocking "
               f"failures · **{c.warnings}** warnings · {c.flaky} flaky · {c.errored} errors"
               + (f" · shard {md(r.shard)}" if r.shard else ""))
    out.append("")
    if r.protection_changes:
        pending = sum(not p.approved for p in r.protection_changes)
        title = _plural(pending, "needs approval", "need approval") if pending else \
            f"all {len(r.protection_changes)} approved"
        out += [f"{PROTECTION_HEADING}: {title}" + (" ⛔" if pending else ""), ""]
        if pending:
            out += ["This pull request weakens what protected the base revision. Each change blocks until the "
                    "owner approves it (docs/protection.md); meanwhile the base version of each fixture runs "
                    "against this head as a blocking fixture.", ""]
        out += ["| fixture | change | detail | owner to approve | status |", "|---|---|---|---|---|"]
        if rows:
            out += _protection_rows(r, lv["width"])
            out.append("")
    return out


def _markdown(r: GateReport, lv: dict[str, int]) -> str:
    cuts: list[str] = []
    out = _head(r, lv)
    for n in r.notes[: lv["notes"]]:
        out.append(f"> **note:** {md(n, 1000)}")
    if len(r.notes) > lv["notes"]:
        out.append(f"> … and {len(r.notes) - lv['notes']} more notes (cut to fit)")
        cuts.append(f"{len(r.notes) - lv['notes']} notes")
    if r.notes:
        out.append("")

    blocking = [x for x in r.results if x.severity == "blocking" and gating_failure(x)]
    warnings = [x for x in r.results if x.severity == "warning" and gating_failure(x)]
    others = [x for x in r.results if x not in blocking and x not in warnings and x.status != "pass"]
    passes = [x for x in r.results if x.status == "pass"]
    if blocking:
        out += ["### Blocking failures", ""]
        for x in blocking:
            out += _failure_block(x, lv["violations"])

    out += ["### 1. What changed", ""]
    if r.changed:
        out += ["| path | kind | status | changed keys |", "|---|---|---|---|"]
        for ch in r.changed[: lv["changed"]]:
            keys = ", ".join(md(k, 80) for k in ch.keys[: lv["keys"]]) if lv["keys"] else ""
            if lv["keys"] and len(ch.keys) > lv["keys"]:
                keys += ", …"
            path = md(ch.path, 200) + (f" (from {md(ch.old_path, 200)})" if ch.old_path else "")
            out.append(f"| {path} | {md(ch.kind, 80)} | {ch.status} | {keys} |")
        if len(r.changed) > lv["changed"]:
            cuts.append(f"{len(r.changed) - lv['changed']} changed paths")
            out.append(f"| … {len(r.changed) - lv['changed']} more | | | |")
        if lv["keys"] == 0:
            cuts.append("changed keys")
    else:
        out.append("_No files changed._")
    out.append("")
    out += ["### 2. Which behaviours it could affect", ""]
    # Kinds and categories come from `gates:` in evalloop.yaml, which the pull request can edit.
    out += [f"- **{md(k, 100)}**: " + ", ".join(md(x, 200) for x in v[:50]) + (", …" if len(v) > 50 else "")
            for k, v in r.behaviours.items()] or ["_No artifact of the agent changed._"]
    out.append("")
    out += ["### 3. Which fixtures protect them, and why", ""]
    if r.selected and lv["selected"]:
        out += ["| fixture | severity | why selected |", "|---|---|---|"]
        for s in r.selected[: lv["selected"]]:
            why = "<br>".join(md(x, 300) for x in s.reasons[:3]) + ("<br>…" if len(s.reasons) > 3 else "")
            out.append(f"| {md(s.id)} | {s.severity} | {why} |")
        if len(r.selected) > lv["selected"]:
            cuts.append(f"{len(r.selected) - lv['selected']} selection reasons")
    elif r.selected:
        out.append(f"_{len(r.selected)} fixtures selected; reasons cut to fit._")
        cuts.append("selection reasons")
    else:
        out.append("_No fixture selected._")
    out.append("")
    if warnings:
        out += ["### Warnings", ""]
        for x in warnings:
            out += _failure_block(x, lv["violations"])
    if others:
        out += ["### Reported only", ""]
        for x in others:
            out += _failure_block(x, lv["violations"])
    if passes:
        out += [f"<details><summary>{len(passes)} passed</summary>", ""]
        if lv["passes"]:
            out += [f"- {md(x.id)} ({x.severity})" + (" — reproduction: " + md(x.reproduction.note)
                                                      if x.reproduction else "") for x in passes[: lv["passes"]]]
        if len(passes) > lv["passes"]:
            cuts.append(f"{len(passes) - lv['passes']} passing fixtures")
            out.append(f"- … {len(passes) - lv['passes']} more")
        out += ["", "</details>", ""]
    if cuts:
        out.append(f"_To fit GitHub's limit this report leaves out: {'; '.join(cuts)}._")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- junit


def render_junit(r: GateReport) -> str:
    """JUnit XML: a `protection` suite first, one test case per protection change (failing
    until approved), then the fixtures. Every value is cleaned, which also keeps the XML
    valid: XML 1.0 cannot carry most control characters, however escaped."""
    root = ET.Element("testsuites", name="evalloop")
    pending = [p for p in r.protection_changes if not p.approved]
    protection = ET.SubElement(root, "testsuite", name="protection", tests=str(len(r.protection_changes)),
                               failures=str(len(pending)), errors="0")
    for p in _protection_order(r):
        case = ET.SubElement(protection, "testcase", classname="evalloop.gate.protection",
                             name=clean(f"{p.id} ({p.kind})"), file=clean(p.head_path or p.base_path))
        if p.approved:
            ET.SubElement(case, "system-out").text = clean(f"approved: {p.approval or 'yes'}")
            continue
        owner = f"needs approval by {p.owner}" if p.owner else "needs approval (no owner on base)"
        el = ET.SubElement(case, "failure", message=clean(f"protection change {p.kind}: {p.detail}; {owner}"),
                           type=f"protection_{p.kind}")
        el.text = "\n".join(clean(x) for x in (
            f"{p.kind}: {p.detail}", f"base: {p.base_path}", f"head: {p.head_path or '(none)'}", owner))
    failures = sum(x.status in ("fail", "flaky") for x in r.results)
    errors = sum(x.status in ("error", "no_run") for x in r.results)
    suite = ET.SubElement(root, "testsuite", name="evalloop gate", tests=str(len(r.results)),
                          failures=str(failures), errors=str(errors))
    for x in r.results:
        case = ET.SubElement(suite, "testcase", classname=f"evalloop.{x.severity}", name=clean(x.id))
        if x.path:
            case.set("file", clean(x.path))
        if x.status in ("fail", "flaky"):
            msgs = [f"{v.get('kind')}: {v.get('message')}" + (f" ({ev})" if (ev := evidence_text(v)) else "")
                    for v in x.failures]
            el = ET.SubElement(case, "failure", message=clean(msgs[0] if msgs else x.status), type=x.status)
            el.text = "\n".join(clean(m) for m in msgs)
        elif x.status in ("error", "no_run"):
            ET.SubElement(case, "error", message=clean(x.error or x.status), type=x.status)
    root.set("tests", str(len(r.protection_changes) + len(r.results)))
    root.set("failures", str(len(pending) + failures))
    root.set("errors", str(errors))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_json(r: GateReport) -> str:
    return r.model_dump_json(indent=2) + "\n"


RENDERERS: dict[str, Callable[[GateReport], str]] = {
    "text": lambda r: render_text(r) + "\n",
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
}

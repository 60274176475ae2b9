"""Rendering a GateReport: text, json, markdown (what a pull request shows) and JUnit XML.

Every report answers the seed's three questions in order: what changed, which
behaviours that could affect, which fixtures protected them and why. Text from
fixtures and traces is untrusted: in markdown it is escaped so it can neither
break the layout nor inject HTML, in the terminal control characters are removed.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from evalloop.verdict import FixtureResult, GateReport, gating_failure

GITHUB_COMMENT_LIMIT = 65_536
_VERDICT_MARK = {"block": "❌ BLOCK", "warn": "⚠️ WARN", "pass": "✅ PASS"}
# CSI and OSC escape sequences (colours, cursor moves, window titles, hyperlinks),
# then any other C0/C1 control character and the Unicode bidirectional controls
# that can make a terminal line read differently from what it contains.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Inline markdown that could restyle or link text; block syntax (#, -, >) cannot start a
# line because md() keeps untrusted text on one line after our own prefix.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")


def clean(text: str) -> str:
    """Untrusted text made harmless for a terminal, on one line: escape sequences removed,
    other control characters shown as `\\uXXXX`."""
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub(lambda m: " " if m.group(0) in "\t\n\r" else f"\\u{ord(m.group(0)):04x}", text)


def md(text: Any, limit: int = 500) -> str:
    """Untrusted text as inert markdown on one line: HTML escaped, markdown punctuation escaped."""
    s = clean(" ".join(str(text).split()))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False)).replace("@", "@\u200b")


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
    out = [f"evalloop gate: {r.verdict.upper()}  ({_counts_line(r)})"]
    if r.shard:
        out.append(f"shard {r.shard}")
    out.append("\nWhat changed:")
    out += [f"  {c.status:12} {c.kind:16} {clean(c.path)}" + (f"  keys: {', '.join(c.keys)}" if c.keys else "")
            for c in r.changed] or ["  (nothing)"]
    out.append("\nWhich behaviours it could affect:")
    out += [f"  {k}: {', '.join(v)}" for k, v in r.behaviours.items()] or ["  (none)"]
    out.append("\nWhich fixtures protect them, and why:")
    for s in r.selected:
        out.append(f"  {s.id} [{s.severity}]")
        out += [f"      - {clean(reason)}" for reason in s.reasons]
    if not r.selected:
        out.append("  (none selected)")
    out.append("\nResults:")
    for res in r.results:
        mark = "PASS" if res.status == "pass" else res.status.upper()
        q = " (quarantined)" if res.quarantined else ""
        out.append(f"  {mark:7} {res.id} [{res.severity}]{q}" + (f" owner {res.owner}" if res.owner else ""))
        if res.error:
            out.append(f"      error: {clean(res.error)}")
        for v in res.failures:
            ev = evidence_text(v)
            detail = f" ({clean(ev)})" if ev else ""
            out.append(f"      - {v.get('kind')}: {clean(str(v.get('message', '')))}{detail}")
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


def render_markdown(r: GateReport, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The pull-request report, cut to `limit` characters by dropping the least important parts first."""
    levels: list[dict[str, int]] = [
        {"violations": 50, "passes": 10_000, "selected": 10_000, "changed": 10_000, "keys": 20},
        {"violations": 20, "passes": 200, "selected": 500, "changed": 500, "keys": 5},
        {"violations": 10, "passes": 0, "selected": 100, "changed": 100, "keys": 0},
        {"violations": 5, "passes": 0, "selected": 20, "changed": 30, "keys": 0},
        {"violations": 2, "passes": 0, "selected": 0, "changed": 10, "keys": 0},
    ]
    for level in levels:
        text = _markdown(r, level)
        if len(text) <= limit:
            return text
    text = _markdown(r, levels[-1])
    note = "\n\n_Report cut at GitHub's comment limit; the full report is in the job's artifacts._\n"
    cut = text[: limit - len(note)]
    return cut[: cut.rfind("\n")] + note


def _markdown(r: GateReport, lv: dict[str, int]) -> str:
    cuts: list[str] = []
    out = [f"## evalloop gate: {_VERDICT_MARK[r.verdict]}", ""]
    c = r.counts
    out.append(f"**{c.selected}** fixtures selected · **{c.passed}** passed · **{c.blocking_failures}** blocking "
               f"failures · **{c.warnings}** warnings · {c.flaky} flaky · {c.errored} errors"
               + (f" · shard {md(r.shard)}" if r.shard else ""))
    out.append("")
    for n in r.notes:
        out.append(f"> **note:** {md(n, 1000)}")
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
            out.append(f"| {path} | {ch.kind} | {ch.status} | {keys} |")
        if len(r.changed) > lv["changed"]:
            cuts.append(f"{len(r.changed) - lv['changed']} changed paths")
            out.append(f"| … {len(r.changed) - lv['changed']} more | | | |")
        if lv["keys"] == 0:
            cuts.append("changed keys")
    else:
        out.append("_No files changed._")
    out.append("")
    out += ["### 2. Which behaviours it could affect", ""]
    out += [f"- **{k}**: {', '.join(v)}" for k, v in r.behaviours.items()] or ["_No artifact of the agent changed._"]
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
    suite = ET.Element("testsuite", name="evalloop gate", tests=str(len(r.results)),
                       failures=str(sum(x.status in ("fail", "flaky") for x in r.results)),
                       errors=str(sum(x.status in ("error", "no_run") for x in r.results)))
    for x in r.results:
        case = ET.SubElement(suite, "testcase", classname=f"evalloop.{x.severity}", name=x.id)
        if x.path:
            case.set("file", x.path)
        if x.status in ("fail", "flaky"):
            msgs = [f"{v.get('kind')}: {v.get('message')}" for v in x.failures]
            el = ET.SubElement(case, "failure", message=clean(msgs[0] if msgs else x.status), type=x.status)
            el.text = clean("\n".join(msgs))
        elif x.status in ("error", "no_run"):
            ET.SubElement(case, "error", message=clean(x.error or x.status), type=x.status)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def render_json(r: GateReport) -> str:
    return r.model_dump_json(indent=2) + "\n"


RENDERERS: dict[str, Callable[[GateReport], str]] = {
    "text": lambda r: render_text(r) + "\n",
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
}

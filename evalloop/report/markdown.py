"""The report as markdown: what a pull request shows, in its comment and job summary.

The verdict and the protection changes come first, then the blocking failures (an
overview of each one's state on base, owner and reproducing command, the causes several
share, then each in detail: report.failures), then the three questions (what changed,
which behaviours it could affect, which fixtures protect them and why), then warnings,
results reported only, and the passes. Every untrusted value goes through report.escape,
so nothing in a report can restyle it, link, mention, embed or forge the sticky comment's
marker. Too long a report is rendered again with less detail (truncate.fit) until it fits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from evalloop.model.results import GateReport, gating_failure
from evalloop.report import truncate
from evalloop.report.escape import md
from evalloop.report.failures import Where, causes_section, failure_block, overview
from evalloop.report.links import RepoLinks
from evalloop.report.text import SELECTION_ONLY, plural, protection_order, verdict_reason
from evalloop.report.truncate import PROTECTION_HEADING

_VERDICT_MARK = {"block": "❌ BLOCK", "warn": "⚠️ WARN", "pass": "✅ PASS"}


@dataclass(frozen=True)
class Level:
    """How much of each part a rendering shows: counts of items, and the width of a cell."""

    violations: int
    causes: int
    overview: int  # rows of the blocking failures' overview table
    passes: int
    selected: int
    changed: int
    keys: int
    notes: int
    width: int
    shadow: int = 10_000  # pairs with a table of their own in the shadow comparison (a model route change)


# The least important parts go first: passes, changed keys, selection reasons, then detail.
LEVELS = [
    Level(violations=50, causes=50, overview=10_000, passes=10_000, selected=10_000, changed=10_000, keys=20,
          notes=1000, width=500),
    Level(violations=20, causes=20, overview=1000, passes=200, selected=500, changed=500, keys=5, notes=200,
          width=500, shadow=200),
    Level(violations=10, causes=10, overview=300, passes=0, selected=100, changed=100, keys=0, notes=100, width=300,
          shadow=30),
    Level(violations=5, causes=5, overview=100, passes=0, selected=20, changed=30, keys=0, notes=50, width=200,
          shadow=5),
    Level(violations=2, causes=2, overview=30, passes=0, selected=0, changed=10, keys=0, notes=20, width=120,
          shadow=0),
]
_CUT_NOTE = "\n\n_Report cut at GitHub's comment limit; the full report is in the job's artifacts._\n"


def render_markdown(r: GateReport, limit: int = truncate.COMMENT_MARKDOWN_LIMIT, *,
                    links: RepoLinks | None = None) -> str:
    """The pull-request report in at most `limit` UTF-8 bytes, cut by dropping the least
    important parts first. The verdict and the protection changes are never dropped. With
    `links` (where the repository is on GitHub) fixture files and incident records are links."""
    where = Where.of(r, links)
    renderings: Iterator[str] = (_markdown(r, level, where) for level in LEVELS)
    head = "\n".join(_head(r, LEVELS[-1])) + "\n"
    return truncate.fit(renderings, limit, head=head, note=_CUT_NOTE,
                        last_resort=lambda room: _protection_only(r, room))


def _protection_only(r: GateReport, limit: int) -> str:
    """Not even the protection changes fit: as many rows as do, compact, and how many did not."""

    def more(n: int) -> list[str]:
        return [f"| … {n} more protection changes: the JSON report lists them all | | | | |"] if n else []

    lines = _head(r, replace(LEVELS[-1], width=60), rows=False)
    return truncate.fit_rows(lines, _protection_rows(r, 60), more, "\n" + _CUT_NOTE, limit)


def _protection_rows(r: GateReport, width: int) -> list[str]:
    rows = []
    for p in protection_order(r):
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


def _head(r: GateReport, lv: Level, rows: bool = True) -> list[str]:
    """The verdict line, the counts and the protection changes: what is never cut."""
    reason = verdict_reason(r)
    if r.selection_only:  # nothing ran: no verdict to show, only what unapproved protection changes say
        pending = sum(not p.approved for p in r.protection_changes)
        blocks = (f"; {plural(pending, 'protection change needs', 'protection changes need')} approval"
                  if pending else "")
        out = [f"## evalloop gate: {SELECTION_ONLY}{blocks}", ""]
    else:
        out = [f"## evalloop gate: {_VERDICT_MARK[r.verdict]}{': ' + reason if reason else ''}", ""]
    c = r.counts
    out.append(f"**{c.selected}** fixtures selected · **{c.passed}** passed · **{c.blocking_failures}** blocking "
               f"failures · **{c.warnings}** warnings · {c.flaky} flaky · {c.errored} errors"
               + (f" · shard {md(r.shard)}" if r.shard else ""))
    out.append("")
    if r.protection_changes:
        pending = sum(not p.approved for p in r.protection_changes)
        title = plural(pending, "needs approval", "need approval") if pending else \
            f"all {len(r.protection_changes)} approved"
        out += [f"{PROTECTION_HEADING}: {title}" + (" ⛔" if pending else ""), ""]
        if pending:
            out += ["This pull request weakens what protected the base revision. Each change blocks until the "
                    "owner approves it (docs/protection.md); meanwhile the base version of each fixture runs "
                    "against this head as a blocking fixture.", ""]
        out += ["| fixture | change | detail | owner to approve | status |", "|---|---|---|---|---|"]
        if rows:
            out += _protection_rows(r, lv.width)
            out.append("")
    return out


def _markdown(r: GateReport, lv: Level, where: Where) -> str:
    cuts: list[str] = []
    out = _head(r, lv)
    for n in r.notes[: lv.notes]:
        out.append(f"> **note:** {md(n, 1000)}")
    if len(r.notes) > lv.notes:
        out.append(f"> … and {len(r.notes) - lv.notes} more notes (cut to fit)")
        cuts.append(f"{len(r.notes) - lv.notes} notes")
    if r.notes:
        out.append("")

    blocking = [x for x in r.results if x.severity == "blocking" and gating_failure(x)]
    warnings = [x for x in r.results if x.severity == "warning" and gating_failure(x)]
    others = [x for x in r.results if x not in blocking and x not in warnings and x.status != "pass"]
    passes = [x for x in r.results if x.status == "pass"]
    if blocking:
        out += ["### Blocking failures", ""]
        out += overview(blocking[: lv.overview], r, where, lv.width)
        if len(blocking) > lv.overview:
            out[-1:] = [f"| … {len(blocking) - lv.overview} more: each is below | | | |", ""]
            cuts.append(f"{len(blocking) - lv.overview} rows of the failures' overview")
        causes, left_out = causes_section(blocking, lv.causes)
        out += causes
        if left_out:
            cuts.append(f"{left_out} shared causes")
        for x in blocking:
            out += failure_block(x, lv.violations, where)

    out += ["### 1. What changed", ""]
    if r.changed:
        out += ["| path | kind | status | changed keys |", "|---|---|---|---|"]
        for ch in r.changed[: lv.changed]:
            keys = ", ".join(md(k, 80) for k in ch.keys[: lv.keys]) if lv.keys else ""
            if lv.keys and len(ch.keys) > lv.keys:
                keys += ", …"
            path = md(ch.path, 200) + (f" (from {md(ch.old_path, 200)})" if ch.old_path else "")
            out.append(f"| {path} | {md(ch.kind, 80)} | {ch.status} | {keys} |")
        if len(r.changed) > lv.changed:
            cuts.append(f"{len(r.changed) - lv.changed} changed paths")
            out.append(f"| … {len(r.changed) - lv.changed} more | | | |")
        if lv.keys == 0:
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
    if r.selected and lv.selected:
        out += ["| fixture | severity | why selected |", "|---|---|---|"]
        for s in r.selected[: lv.selected]:
            why = "<br>".join(md(x, 300) for x in s.reasons[:3]) + ("<br>…" if len(s.reasons) > 3 else "")
            out.append(f"| {md(s.id)} | {s.severity} | {why} |")
        if len(r.selected) > lv.selected:
            cuts.append(f"{len(r.selected) - lv.selected} selection reasons")
    elif r.selected:
        out.append(f"_{len(r.selected)} fixtures selected; reasons cut to fit._")
        cuts.append("selection reasons")
    else:
        out.append("_No fixture selected._")
    out.append("")
    if r.shadow is not None:
        from evalloop.report.shadow import GATE_HEADING, markdown_section

        out += [f"### {GATE_HEADING}", ""]
        out += markdown_section(r.shadow, rows=lv.overview, details=lv.shadow, width=lv.width)
        differing = sum(p.differs or bool(p.regressions) for p in r.shadow.pairs)
        if differing > lv.shadow:
            cuts.append(f"{differing - lv.shadow} tables of the shadow comparison")
    if warnings:
        out += ["### Warnings", ""]
        for x in warnings:
            out += failure_block(x, lv.violations, where)
    if others:
        out += ["### Reported only", ""]
        for x in others:
            out += failure_block(x, lv.violations, where)
    if passes:
        out += [f"<details><summary>{len(passes)} passed</summary>", ""]
        if lv.passes:
            out += [f"- {md(x.id)} ({x.severity})" + (" — reproduction: " + md(x.reproduction.note)
                                                      if x.reproduction else "") for x in passes[: lv.passes]]
        if len(passes) > lv.passes:
            cuts.append(f"{len(passes) - lv.passes} passing fixtures")
            out.append(f"- … {len(passes) - lv.passes} more")
        out += ["", "</details>", ""]
    if cuts:
        out.append(f"_To fit GitHub's limit this report leaves out: {'; '.join(cuts)}._")
    return "\n".join(out) + "\n"

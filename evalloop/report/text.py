"""The report as plain text for a terminal, and the wording every format shares.

Every report lists protection changes first (docs/protection.md), then answers three
questions in order: what changed, which behaviours that could affect, which fixtures
protected them and why. Untrusted values go through evalloop.text.clean().
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, Violation
from evalloop.model.run import describe
from evalloop.report.values import shorten, show
from evalloop.text import clean

USAGE_HEADERS = ("TIME", "TOKENS IN/OUT", "COST")
_COST_PLACES = 8  # beyond a millionth of a cent no one is counting


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class Usage(NamedTuple):
    """What runs took: time, tokens and cost, each None when nothing recorded it."""

    duration_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None

    @classmethod
    def of(cls, r: FixtureResult) -> Usage:
        return cls(r.duration_ms, r.input_tokens, r.output_tokens, r.cost_usd)

    @classmethod
    def total(cls, results: Sequence[FixtureResult]) -> Usage:
        """Summed over the results that recorded each; None where none did."""
        def add(values: list[float | None]) -> float | None:
            given = [v for v in values if v is not None and math.isfinite(v)]
            return sum(given) if given else None

        def count(values: list[int | None]) -> int | None:
            given = [v for v in values if v is not None]
            return sum(given) if given else None

        return cls(add([r.duration_ms for r in results]), count([r.input_tokens for r in results]),
                   count([r.output_tokens for r in results]), add([r.cost_usd for r in results]))

    def cells(self) -> tuple[str, str, str]:
        """The TIME, TOKENS IN/OUT and COST cells; `-` for what was not recorded."""
        tokens = "-" if self.input_tokens is None and self.output_tokens is None else \
            f"{count_text(self.input_tokens)}/{count_text(self.output_tokens)}"
        return duration_text(self.duration_ms), tokens, cost_text(self.cost_usd)


def duration_text(ms: float | None) -> str:
    if ms is None or not math.isfinite(ms):
        return "-"
    # the unit is chosen on the value as shown: 999.6 ms is "1.0 s", not "1000 ms"
    if abs(round(ms)) < 1000:
        return f"{ms:.0f} ms"
    if abs(round(ms / 1000, 1)) < 60:
        return f"{ms / 1000:.1f} s"
    seconds = round(ms / 1000)
    return f"{seconds // 60} min {seconds % 60} s"


def count_text(n: int | None) -> str:
    if n is None:
        return "-"
    # a count recorded as a number thousands of digits long cannot be shown in digits
    return describe(n) if n.bit_length() > 200 else f"{n:,}"


def cost_text(usd: float | None) -> str:
    """Dollars: to the cent from a dollar up; below, to four places, or to two significant digits
    when that shows nothing (a model call costs fractions of a cent: "$0.0000" reads as free)."""
    if usd is None or not math.isfinite(usd):
        return "-"
    if usd == 0:
        return "$0"
    sign, usd = ("-", -usd) if usd < 0 else ("", usd)  # a source's nonsense is shown, not hidden
    if usd >= 1:
        return f"{sign}${usd:,.2f}"
    places = min(_COST_PLACES, max(4, 1 - math.floor(math.log10(usd))))
    if round(usd, places) == 0:
        return f"{'>-' if sign else '<'}${10 ** -_COST_PLACES:.{_COST_PLACES}f}"
    return f"{sign}${usd:.{places}f}"


def usage_cells(usages: Sequence[Usage]) -> list[str]:
    """The TIME, TOKENS IN/OUT and COST header, then one line of those cells per usage, aligned."""
    rows = [USAGE_HEADERS, *(u.cells() for u in usages)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(USAGE_HEADERS))]
    return ["  ".join(f"{cell:{w}}" for cell, w in zip(row, widths, strict=True)) for row in rows]


def verdict_reason(r: GateReport) -> str:
    """Why a report blocks, for the verdict line: a reader sees at once whether it is a
    failing fixture or a weakened protection (or both) that stands in the way."""
    if r.verdict != "block":
        return ""
    parts = []
    pending = sum(not p.approved for p in r.protection_changes)
    if pending:
        parts.append(plural(pending, "protection change needs approval", "protection changes need approval"))
    if r.counts.blocking_failures:
        parts.append(plural(r.counts.blocking_failures, "blocking failure", "blocking failures"))
    return ", ".join(parts)


def protection_order(r: GateReport) -> list[ProtectionChange]:
    # The ones that block come first, so a cut (which the markdown avoids) never hides them.
    return sorted(r.protection_changes, key=lambda p: p.approved)


def evidence_text(violation: Violation) -> str:
    """A violation's evidence in a few words: span position, span, expected and actual value."""
    ev = violation.evidence
    parts = []
    if ev.span_index is not None:
        parts.append(f"span {ev.span_index}")
    if ev.ref:
        parts.append(ev.ref)
    for key, given in (("expected", ev.expected), ("actual", ev.actual)):
        if given is not None:
            # a name or phrase as it is; anything else as JSON, never a Python repr
            parts.append(f"{key} {shorten(given, 80) if isinstance(given, str) else show(given, 80)}")
    return "; ".join(parts)


SELECTION_ONLY = "selection only, nothing ran, no verdict"


def render_text(r: GateReport) -> str:
    reason = verdict_reason(r)
    if r.selection_only:  # nothing ran: no PASS or WARN to print, only what unapproved protection changes say
        pending = sum(not p.approved for p in r.protection_changes)
        blocks = (f"; {plural(pending, 'protection change needs', 'protection changes need')} approval "
                  "(blocks whatever runs)" if pending else "")
        out = [f"evalloop gate: {SELECTION_ONLY}{blocks}  ({r.counts.selected} selected)"]
    else:
        out = [f"evalloop gate: {r.verdict.upper()}{': ' + reason if reason else ''}  ({_counts_line(r)})"]
    if r.protection_changes:
        pending = any(not p.approved for p in r.protection_changes)
        out.append(f"\nPROTECTION CHANGES ({'need approval' if pending else 'approved'}):")
        for p in protection_order(r):
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
    out += _results(r.results)
    if r.selection_only and not r.results:
        out.append("  (nothing ran: --select-only)")
    if r.shadow is not None:
        from evalloop.report.shadow import GATE_HEADING, text_section

        out.append(f"\n{GATE_HEADING}:")
        out += text_section(r.shadow)
    for n in r.notes:
        out.append(f"note: {clean(n)}")
    return "\n".join(out)


def _results(results: list[FixtureResult]) -> list[str]:
    """One line per result with its time, tokens and cost in columns, its failures under it;
    then the totals."""
    if not results:
        return []
    labels = [f"{'PASS' if res.status == 'pass' else res.status.upper():7} {clean(res.id)} [{res.severity}]"
              + (" (quarantined)" if res.quarantined else "") for res in results]
    total = f"total ({plural(len(results), 'fixture', 'fixtures')})"
    width = max(len(label) for label in [*labels, total, "STATUS  FIXTURE [SEVERITY]"])
    header, *usage, totals = usage_cells([*(Usage.of(res) for res in results), Usage.total(results)])
    out = [f"  {'STATUS  FIXTURE [SEVERITY]':{width}}  {header}".rstrip()]
    for res, label, cells in zip(results, labels, usage, strict=True):
        out.append(f"  {label:{width}}  {cells}"
                   + (f"  owner {clean(res.owner)}" if res.owner else "")
                   + (f" incident {clean(res.incident_id)}" if res.incident_id else ""))
        out[-1] = out[-1].rstrip()
        if res.error:
            out.append(f"      error: {clean(res.error)}")
        for v in res.failures:
            ev = evidence_text(v)
            detail = f" ({clean(ev)})" if ev else ""
            out.append(f"      - {clean(v.kind)}: {clean(v.message)}{detail}")
        if res.reproduction:
            out.append(f"      reproduction: {clean(res.reproduction.note)}")
    out.append(f"  {total:{width}}  {totals}".rstrip())
    return out


def _counts_line(r: GateReport) -> str:
    c = r.counts
    return (f"{c.selected} selected, {c.passed} passed, {c.failed} failed, {c.errored} errors, "
            f"{c.flaky} flaky, {c.no_run} without a run")

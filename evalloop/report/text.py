"""The report as plain text for a terminal, and the wording every format shares.

Every report lists protection changes first (docs/protection.md), then answers three
questions in order: what changed, which behaviours that could affect, which fixtures
protected them and why. Untrusted values go through evalloop.text.clean().
"""

from __future__ import annotations

from evalloop.model.results import GateReport, ProtectionChange, Violation
from evalloop.text import clean


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


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
            value = str(given)
            parts.append(f"{key} {value if len(value) <= 80 else value[:77] + '...'}")
    return "; ".join(parts)


def render_text(r: GateReport) -> str:
    reason = verdict_reason(r)
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
            out.append(f"      - {clean(v.kind)}: {clean(v.message)}{detail}")
        if res.reproduction:
            out.append(f"      reproduction: {clean(res.reproduction.note)}")
    for n in r.notes:
        out.append(f"note: {clean(n)}")
    return "\n".join(out)


def _counts_line(r: GateReport) -> str:
    c = r.counts
    return (f"{c.selected} selected, {c.passed} passed, {c.failed} failed, {c.errored} errors, "
            f"{c.flaky} flaky, {c.no_run} without a run")

"""`evalloop run`'s table: one line per fixture with its time, tokens and cost, their totals, the
failures with their evidence, the verdict and the rules that decide it
(`evalloop.model.results.decide`)."""

from __future__ import annotations

from evalloop.model.results import FixtureResult, count, decide, gating_failure
from evalloop.report.text import Usage, evidence_text, usage_cells
from evalloop.text import clean

RULES = (
    "block: a blocking fixture failed, errored, was flaky or had no run",
    "warn:  a warning fixture failed (and nothing blocks)",
    "pass:  otherwise; exploratory fixtures are reported and never gate",
)


def format_table(results: list[FixtureResult], elapsed: float, jobs: int) -> str:
    """One line per fixture and the totals, then the failures with their evidence, then the
    verdict and why."""
    ids = [clean(r.id) for r in results]
    width = max([len("FIXTURE"), *(len(i) for i in ids)])
    header, *usage, totals = usage_cells([*(Usage.of(r) for r in results), Usage.total(results)])
    lines = [f"{'STATUS':7} {'SEVERITY':11} {'RUNS':5} {'FIXTURE':{width}}  {header}  OWNER"]
    for r, ident, cells in zip(results, ids, usage, strict=True):
        runs = f"{r.passes}/{r.runs}" if r.runs else "-"
        lines.append(f"{r.status.upper():7} {r.severity:11} {runs:5} {ident:{width}}  {cells}  {clean(r.owner or '-')}")
    lines.append(f"{'total':{7 + 1 + 11 + 1 + 5 + 1 + width}}  {totals}".rstrip())
    for r in results:
        if r.status == "pass":
            continue
        lines.append("")
        lines.append(f"{r.status.upper()} {clean(r.id)} ({r.severity}, {clean(r.path or '?')})")
        if r.reason:
            lines.append(f"  reason: {clean(r.reason)}")
        if r.incident_id:
            lines.append(f"  incident: {clean(r.incident_id)}")
        if r.error:
            lines.append(f"  error: {clean(r.error)}")
        for f in r.failures:
            lines.append(f"  - {clean(f.kind)}: {clean(f.message)}")
            ev = evidence_text(f)
            if ev:
                lines.append(f"      evidence: {clean(ev)}")
    verdict = decide(results)
    c = count(results, len(results))
    lines.append("")
    lines.append(f"{c.selected} fixtures in {elapsed:.1f}s (jobs {jobs}): {c.passed} passed, {c.failed} failed, "
                 f"{c.errored} errors, {c.flaky} flaky")
    deciding = [r.id for r in results if gating_failure(r)
                and r.severity == ("blocking" if verdict == "block" else "warning")]
    because = f"{'blocking' if verdict == 'block' else 'warning'}: {', '.join(deciding)}" if deciding else ""
    lines.append(f"verdict: {verdict.upper()}" + (f" ({clean(because)})" if because else ""))
    lines += [f"  {rule}" for rule in RULES]
    return "\n".join(lines) + "\n"

"""`evalloop metrics --format markdown`: the threshold table, for an issue or a job summary."""

from __future__ import annotations

from evalloop.metrics.render.values import STATUS_LABEL, details, shown
from evalloop.model.metrics import MetricsReport
from evalloop.report.escape import md

ICON = {"ok": "🟢", "investigate": "🟡", "block": "🔴", "no_data": "⚪", "info": "🔵"}


def render_markdown(report: MetricsReport) -> str:
    out = [f"## evalloop metrics, {report.since} to {report.until}", "",
           "| status | metric | value | investigate when | block or roll back when | owner | action |",
           "|---|---|---|---|---|---|---|"]
    for m in report.metrics:
        out.append(f"| {ICON[m.status]} {STATUS_LABEL[m.status]} | {md(m.name)} | {md(shown(m))} | "
                   f"{md(m.investigate_when)} | {md(m.block_when or '-')} | {md(m.owner)} | {md(m.action or '-')} |")
    for m in report.metrics:
        lines = details(m)
        if m.status == "ok" and not m.notes:
            continue
        out += ["", f"### {md(m.name)}: {STATUS_LABEL[m.status]}", ""]
        out += [f"- {md(x)}" for x in lines]
    missing = [s for s in report.sources if not s.found]
    if missing:
        out += ["", "**Missing data:** " + "; ".join(md(f"{s.name} ({s.where})") for s in missing)]
    return "\n".join(out) + "\n"

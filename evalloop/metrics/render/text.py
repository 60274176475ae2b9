"""`evalloop metrics` on a terminal: one line a metric, then what each that is not ok needs."""

from __future__ import annotations

from evalloop.metrics.render.values import STATUS_LABEL, details, shown
from evalloop.model.metrics import MetricsReport
from evalloop.text import clean


def render_text(report: MetricsReport) -> str:
    rows = [(STATUS_LABEL[m.status], m.name, shown(m), m.owner) for m in report.metrics]
    head = ("STATUS", "METRIC", "VALUE", "OWNER")
    widths = [max(len(head[i]), *(len(clean(r[i])) for r in rows)) for i in range(3)]
    out = [f"evalloop metrics {report.since}..{report.until}", ""]
    out.append("  ".join(h.ljust(w) for h, w in zip(head[:3], widths, strict=True)) + "  " + head[3])
    for r in rows:
        out.append("  ".join(clean(v).ljust(w) for v, w in zip(r[:3], widths, strict=True)) + "  " + clean(r[3]))
    for m in report.metrics:
        lines = details(m)
        if m.status == "ok" and not m.notes:
            continue
        out += ["", f"{m.name}: {STATUS_LABEL[m.status]}"]
        out += [f"  - {clean(x)}" for x in lines]
    missing = [s for s in report.sources if not s.found]
    if missing:
        out += ["", "missing data: " + "; ".join(clean(f"{s.name} ({s.where})") for s in missing)]
    return "\n".join(out) + "\n"

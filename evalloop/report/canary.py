"""`evalloop canary`'s report: the decision and why, then per invariant and per metric both
values, the change, its confidence interval, p, and the smallest change the sample could
detect, so "passed" is never confused with "too small to tell". Text, markdown, JSON."""

from __future__ import annotations

from typing import Any

import orjson

from evalloop.canary.decision import CanaryResult, MetricResult
from evalloop.canary.stats import ContinuousComparison, RateComparison
from evalloop.model.canary import CanaryConfig
from evalloop.report.escape import code, md
from evalloop.text import clean

MARK = {"promote": "PROMOTE", "hold": "HOLD", "rollback": "ROLLBACK"}


def _share(x: float) -> str:
    return f"{x * 100:.2f}%"


def _num(x: float) -> str:
    return f"{x:.6g}"


def metric_cells(m: MetricResult) -> dict[str, str]:
    """The metric's numbers as shown (the same in text and markdown)."""
    c = m.comparison
    if isinstance(c, RateComparison):
        return {"baseline": f"{_share(c.baseline_rate)} ({c.baseline_events}/{c.baseline_total})",
                "candidate": f"{_share(c.candidate_rate)} ({c.candidate_events}/{c.candidate_total})",
                "change": f"{(c.candidate_rate - c.baseline_rate) * 100:+.2f} pp",
                "ci": f"[{c.ci_low * 100:+.2f}, {c.ci_high * 100:+.2f}] pp",
                "p": f"{c.p_value:.3g} ({c.test})", "detectable": f"{c.mde * 100:.2f} pp",
                "allowed": f"{m.metric.allowed * 100:g} pp / {m.metric.critical * 100:g} pp"}
    if isinstance(c, ContinuousComparison):
        rel = c.relative_change
        ci = f"[{c.ci_low * 100:+.1f}, {c.ci_high * 100:+.1f}]%" if c.ci_low is not None and c.ci_high is not None \
            else "-"
        return {"baseline": f"median {_num(c.baseline_median)} (n={c.baseline_n})",
                "candidate": f"median {_num(c.candidate_median)} (n={c.candidate_n})",
                "change": f"{rel * 100:+.1f}%" if rel is not None else "-", "ci": ci,
                "p": f"{c.p_value:.3g} (Mann-Whitney U)",
                "detectable": f"{c.mde * 100:.1f}%" if c.mde is not None else "-",
                "allowed": f"{m.metric.allowed * 100:g}% / {m.metric.critical * 100:g}%"}
    dash = "-"
    allowed = f"{m.metric.allowed:g} / {m.metric.critical:g}"
    return {"baseline": dash, "candidate": dash, "change": dash, "ci": dash, "p": dash, "detectable": dash,
            "allowed": allowed}


COLUMNS = ("baseline", "candidate", "change", "ci", "p", "detectable", "allowed")
HEADERS = {"baseline": "baseline", "candidate": "candidate", "change": "change", "ci": "95% CI", "p": "p (worse)",
           "detectable": "detectable", "allowed": "allowed / critical"}


def format_text(cfg: CanaryConfig, r: CanaryResult) -> str:
    step = cfg.steps[r.step - 1]
    lines = [clean(f"{MARK[r.decision]} {cfg.artifact}: step {r.step} of {r.steps} ({step.weight}%), candidate "
                   f"{cfg.candidate.revision} against baseline {cfg.baseline.revision}, {r.candidate_samples} "
                   f"candidate and {r.baseline_samples} baseline runs")]
    lines += [f"  {clean(x)}" for x in r.reasons]
    lines += [f"  note: {clean(x)}" for x in r.notes]
    if r.invariants:
        lines += ["", "Invariants (one violation rolls back)"]
        for inv, base in zip(r.invariants, r.baseline_invariants, strict=True):
            status = "VIOLATED" if inv.violated else "UNJUDGED" if inv.unjudged else \
                "UNCONFIRMED" if inv.checked < inv.min_runs else "HELD"
            lines.append(clean(f"  {status:11} {inv.id}: {len(inv.violated)} of {inv.checked} candidate runs "
                               f"violate it (baseline {len(base.violated)} of {base.checked}); {inv.reason}"))
            for ref, violations in inv.violated[:5]:
                where = ref.trace_id or ref.run_id or "?"
                for v in violations[:3]:
                    lines.append(clean(f"      trace {where}: {v.kind}: {v.message}"))
            if len(inv.violated) > 5:
                lines.append(f"      ... and {len(inv.violated) - 5} more runs")
    if r.metrics:
        lines += ["", "Metrics"]
        rows = [("metric", "status", *(HEADERS[c] for c in COLUMNS))]
        rows += [(clean(m.name), m.status.upper(), *(metric_cells(m)[c] for c in COLUMNS)) for m in r.metrics]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                  for row in rows]
        lines += [clean(f"  {m.name}: {m.reason}") for m in r.metrics]
    return "\n".join(lines) + "\n"


def format_markdown(cfg: CanaryConfig, r: CanaryResult) -> str:
    step = cfg.steps[r.step - 1]
    icon = {"promote": "✅", "hold": "⏸️", "rollback": "⏪"}[r.decision]
    out = [f"## {icon} Canary: {MARK[r.decision]} {code(cfg.artifact)}", "",
           f"Step {r.step} of {r.steps} ({step.weight}%): candidate {code(cfg.candidate.revision)} against baseline "
           f"{code(cfg.baseline.revision)}, {r.candidate_samples} candidate and {r.baseline_samples} baseline runs.",
           ""]
    out += [f"- {md(x)}" for x in r.reasons]
    out += [f"- note: {md(x)}" for x in r.notes]
    if r.invariants:
        out += ["", "### Invariants", "", "| invariant | candidate runs violating | baseline | reason |",
                "|---|---|---|---|"]
        for inv, base in zip(r.invariants, r.baseline_invariants, strict=True):
            out.append(f"| {code(inv.id)} | {len(inv.violated)} of {inv.checked}"
                       f"{f' ({len(inv.unjudged)} unjudged)' if inv.unjudged else ''} | "
                       f"{len(base.violated)} of {base.checked} | {md(inv.reason, 200)} |")
    if r.metrics:
        out += ["", "### Metrics", "", "| metric | status | " + " | ".join(HEADERS[c] for c in COLUMNS) + " |",
                "|---|---|" + "---|" * len(COLUMNS)]
        for m in r.metrics:
            cells = metric_cells(m)
            out.append(f"| {code(m.name)} | {m.status} | " + " | ".join(md(cells[c]) for c in COLUMNS) + " |")
        out += [""] + [f"- {code(m.name)}: {md(m.reason)}" for m in r.metrics]
    return "\n".join(out) + "\n"


def _comparison(m: MetricResult) -> dict[str, Any] | None:
    c = m.comparison
    if isinstance(c, RateComparison):
        return {"baseline": {"events": c.baseline_events, "total": c.baseline_total, "rate": c.baseline_rate},
                "candidate": {"events": c.candidate_events, "total": c.candidate_total, "rate": c.candidate_rate},
                "test": c.test, "p_value": c.p_value, "effect": c.effect, "difference": c.candidate_rate
                - c.baseline_rate, "ci95": [c.ci_low, c.ci_high], "mde": c.mde}
    if isinstance(c, ContinuousComparison):
        return {"baseline": {"n": c.baseline_n, "median": c.baseline_median},
                "candidate": {"n": c.candidate_n, "median": c.candidate_median},
                "test": "mann-whitney-u", "p_value": c.p_value, "effect": c.effect,
                "relative_change": c.relative_change, "ci95": [c.ci_low, c.ci_high], "mde": c.mde}
    return None


def to_dict(cfg: CanaryConfig, r: CanaryResult) -> dict[str, Any]:
    """The decision and its evidence: the JSON report, and what the release ledger keeps."""
    return {"decision": r.decision, "complete": r.complete, "step": r.step, "steps": r.steps,
            "weight": cfg.steps[r.step - 1].weight, "artifact": cfg.artifact,
            "baseline": {"revision": cfg.baseline.revision, "label": cfg.baseline.label, "runs": r.baseline_samples},
            "candidate": {"revision": cfg.candidate.revision, "label": cfg.candidate.label,
                          "runs": r.candidate_samples},
            "reasons": r.reasons, "notes": r.notes,
            "invariants": [{**inv.to_dict(), "baseline": {"checked": base.checked, "violations": len(base.violated)}}
                           for inv, base in zip(r.invariants, r.baseline_invariants, strict=True)],
            "metrics": [{"name": m.name, "type": m.metric.type, "worse": m.metric.worse, "status": m.status,
                         "reason": m.reason, "allowed": m.metric.allowed, "critical": m.metric.critical,
                         "comparison": _comparison(m)} for m in r.metrics],
            "frozen": r.frozen.model_dump(mode="json") if r.frozen else None}


def format_json(cfg: CanaryConfig, r: CanaryResult) -> str:
    return orjson.dumps(to_dict(cfg, r), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n"

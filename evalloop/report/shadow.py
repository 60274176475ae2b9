"""A shadow comparison rendered (docs/shadow.md): `evalloop shadow`'s report in text, markdown and
JSON, and the section the gate's reports add for a model route change.

Every pair has its row in the overview; a pair where anything but latency differs, or that
regresses, gets a table of its own: baseline and candidate side by side. Ids, tool and policy
names, statuses, routes and errors come from fixtures, captured inputs and the agent: they go
through `clean` (terminal) or `md` (markdown).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evalloop.model.shadow import Measure, ShadowPair, ShadowReport, ShadowSummary
from evalloop.report.escape import md
from evalloop.report.text import cost_text, duration_text, plural
from evalloop.text import clean

GATE_HEADING = "Shadow comparison (model route change)"
_NAMES_SHOWN = 20  # tool calls listed per side; the JSON report has them all
_FLIP = {"pass_to_fail": "pass → fail", "fail_to_pass": "fail → pass", "unchanged": "unchanged"}
_TEXT_FLIP = {"pass_to_fail": "pass -> fail", "fail_to_pass": "fail -> pass", "unchanged": "unchanged"}


def signed_cost(usd: float | None) -> str:
    if usd is None or not math.isfinite(usd):
        return "-"
    return ("+" if usd > 0 else "") + cost_text(usd) if usd != 0 else "$0"


def signed_ms(ms: float | None) -> str:
    if ms is None or not math.isfinite(ms):
        return "-"
    if round(ms) == 0:
        return "0 ms"
    return ("+" if ms > 0 else "-") + duration_text(abs(ms))


def _relative(m: Measure) -> str:
    return f" ({m.relative * 100:+.0f}%)" if m.relative is not None and math.isfinite(m.relative) else ""


def _names(names: Sequence[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown + (f", … {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else "")


def _label(p: ShadowPair) -> str:
    run = f" run {p.run}" if p.run > 1 else ""
    return p.id + run


def _status(p: ShadowPair) -> str:
    if p.regressions:
        return "REGRESSES"
    return "differs" if p.differs else "same"


def headline(summary: ShadowSummary, arrow: str = "->") -> str:
    """One sentence of counts: what differs, over how many pairs."""
    s = summary
    parts = [f"{plural(s.pairs, 'pair', 'pairs')} of {plural(s.inputs, 'input', 'inputs')}",
             f"{s.differing} differ", f"{s.regressions} regress",
             f"{s.tool_selection_changes} tool selection changes",
             f"{s.new_policy_denials} with new policy denials", f"{s.flips_to_fail} pass {arrow} fail",
             f"{s.flips_to_pass} fail {arrow} pass"]
    outcome = s.final_status_changes + s.stop_reason_changes + s.route_changes
    if outcome:
        parts.append(f"{s.final_status_changes} final status, {s.stop_reason_changes} stop reason and "
                     f"{s.route_changes} route changes")
    if s.not_compared:
        parts.append(f"{s.not_compared} not compared (a side has no result)")
    return ", ".join(parts)


def money_line(summary: ShadowSummary, arrow: str = "->") -> str:
    s = summary
    return (f"cost {cost_text(s.cost_baseline_usd)} {arrow} {cost_text(s.cost_candidate_usd)} "
            f"(delta {signed_cost(s.cost_delta_total_usd)}, median per pair {signed_cost(s.cost_delta_median_usd)}); "
            f"latency delta {signed_ms(s.latency_delta_total_ms)} in all, median per pair "
            f"{signed_ms(s.latency_delta_median_ms)}")


# -- text -----------------------------------------------------------------------------------

def _rows(p: ShadowPair, flips: dict[str, str] = _TEXT_FLIP) -> list[tuple[str, str, str, str]]:
    """(what, baseline, candidate, change) of a pair; the change column says what differs."""
    t, d = p.tool_selection, p.policy_denials
    tool_change = ""
    if t.changed:
        bits = [f"+{n}" for n in t.added] + [f"-{n}" for n in t.removed]
        bits.append(f"first divergence at call #{t.first_divergence}")
        tool_change = "; ".join(bits)
    rows = [("tool calls", _names(t.baseline), _names(t.candidate), tool_change)]
    if d.baseline or d.candidate:  # no denial on either side is said once, in the counts
        rows.append(("policy denials", _names(d.baseline), _names(d.candidate),
                     "; ".join([*(f"new {n}" for n in d.new), *(f"gone {n}" for n in d.gone)])))
    if p.verdict is not None:
        rows.append(("verdict", p.verdict.baseline, p.verdict.candidate,
                     "" if p.verdict.flip == "unchanged" else flips[p.verdict.flip]))
    for what, v in (("final status", p.final_status), ("stop reason", p.stop_reason), ("route", p.route)):
        if v.changed or not p.compared:
            rows.append((what, v.baseline or "-", v.candidate or "-", "changed" if v.changed else ""))
    rows.append(("cost", cost_text(p.cost_usd.baseline), cost_text(p.cost_usd.candidate),
                 signed_cost(p.cost_usd.delta) + _relative(p.cost_usd) if p.cost_changed else ""))
    rows.append(("latency", duration_text(p.latency_ms.baseline), duration_text(p.latency_ms.candidate),
                 signed_ms(p.latency_ms.delta)))
    return rows


def _text_pair(p: ShadowPair) -> list[str]:
    severity = f" [{p.severity}]" if p.severity else ""
    out = ["", f"  {_status(p)}  {clean(_label(p))}{severity}"]
    for side, error in (("baseline", p.baseline_error), ("candidate", p.candidate_error)):
        if error:
            out.append(f"      {side} error: {clean(error)}")
    rows = [(w, clean(b), clean(c), clean(ch)) for w, b, c, ch in _rows(p)]
    widths = [max(len(r[i]) for r in [*rows, ("", "baseline", "candidate", "")]) for i in range(3)]
    out.append(f"      {'':{widths[0]}}  {'baseline':{widths[1]}}  {'candidate':{widths[2]}}  change".rstrip())
    for w, b, c, ch in rows:
        out.append(f"      {w:{widths[0]}}  {b:{widths[1]}}  {c:{widths[2]}}  {ch}".rstrip())
    for r in p.regressions:
        out.append(f"      regresses: {r.kind}: {clean(r.detail)}")
    for f in p.candidate_failures:
        out.append(f"      candidate fails: {clean(f)}")
    return out


def text_section(r: ShadowReport) -> list[str]:
    """The comparison's lines: counts, money, then each differing pair in a table and the
    others on one line."""
    out = [f"  {headline(r.summary)}", f"  {money_line(r.summary)}"]
    same = [p for p in r.pairs if not p.differs and not p.regressions]
    for p in r.pairs:
        if p.differs or p.regressions:
            out += _text_pair(p)
    if same:
        out.append(f"\n  same (only latency may differ): {', '.join(clean(_label(p)) for p in same)}")
    out += [f"  note: {clean(n)}" for n in r.notes]
    return out


def render_text(r: ShadowReport) -> str:
    verdict = "REGRESSES" if r.regressed else "no regression"
    n = r.summary.regressions
    out = [f"evalloop shadow: {verdict}  ({n} of {plural(r.summary.pairs, 'pair', 'pairs')} "
           f"{'regresses' if n == 1 else 'regress'})", _sides(r), ""]
    out += text_section(r)
    return "\n".join(out) + "\n"


def _sides(r: ShadowReport) -> str:
    def one(sha: str, ref: str | None) -> str:
        short = sha[:12] if len(sha) == 40 else sha
        return clean(short + (f" ({ref})" if ref and ref != sha else ""))

    inputs = f"captured inputs from {clean(r.inputs_file)}" if r.inputs == "captured" else "fixtures"
    runs = f", {plural(r.runs, 'run', 'runs')} each" if r.runs else ""
    return f"baseline {one(r.baseline, r.baseline_ref)}, candidate {one(r.candidate, r.candidate_ref)}; {inputs}{runs}"


# -- markdown -------------------------------------------------------------------------------

def _md_pair(p: ShadowPair, width: int) -> list[str]:
    severity = f" ({p.severity})" if p.severity else ""
    mark = "⛔ regresses" if p.regressions else "differs"
    out = [f"**{md(_label(p), width)}**{severity}: {mark}", ""]
    for side, error in (("baseline", p.baseline_error), ("candidate", p.candidate_error)):
        if error:
            out.append(f"- {side} has no result: {md(error, width)}")
    for reg in p.regressions:
        out.append(f"- regresses (`{reg.kind}`): {md(reg.detail, width)}")
    for f in p.candidate_failures:
        out.append(f"- candidate fails: {md(f, width)}")
    if out[-1] != "":
        out.append("")
    out += ["| | baseline | candidate | change |", "|---|---|---|---|"]
    for w, b, c, ch in _rows(p, _FLIP):
        out.append(f"| {w} | {md(b, width)} | {md(c, width)} | {md(ch, width) if ch else ''} |")
    out.append("")
    return out


def _md_overview(pairs: Sequence[ShadowPair], rows: int, width: int) -> list[str]:
    out = ["| input | tool calls | policy denials | verdict | cost Δ | latency Δ | |", "|---|---|---|---|---|---|---|"]
    for p in pairs[:rows]:
        t = "changed" if p.tool_selection.changed else "same"
        d = (f"+{len(p.policy_denials.new)} / -{len(p.policy_denials.gone)}" if p.policy_denials.changed
             else str(len(p.policy_denials.candidate)))
        v = _FLIP[p.verdict.flip] if p.verdict is not None else "—"
        cost = signed_cost(p.cost_usd.delta) if p.cost_usd.delta is not None else "—"
        mark = "⛔ regresses" if p.regressions else "differs" if p.differs else ""
        out.append(f"| {md(_label(p), width)} | {t} | {d} | {v} | {md(cost)} | {md(signed_ms(p.latency_ms.delta))} "
                   f"| {mark} |")
    if len(pairs) > rows:
        out.append(f"| … {len(pairs) - rows} more: the JSON report has them | | | | | | |")
    return out


def markdown_section(r: ShadowReport, *, rows: int = 10_000, details: int = 10_000, width: int = 300) -> list[str]:
    """The comparison as markdown lines: counts, an overview row per pair (at most `rows`), then
    the tables of the differing pairs (at most `details`, the regressing ones first)."""
    out = [md(headline(r.summary, "→"), 2000) + ".", "", md(money_line(r.summary, "→"), 2000) + ".", ""]
    out += [f"> **note:** {md(n, 1000)}" for n in r.notes]
    if r.notes:
        out.append("")
    if not r.pairs:
        return [*out, "_No pair was compared._", ""]
    out += [*_md_overview(r.pairs, rows, width), ""]
    differing = sorted((p for p in r.pairs if p.differs or p.regressions), key=lambda p: not p.regressions)
    for p in differing[:details]:
        out += _md_pair(p, width)
    if len(differing) > details:
        out += [f"_… {len(differing) - details} more differing pairs: the JSON report has them._", ""]
    return out


def render_markdown(r: ShadowReport) -> str:
    verdict = "⛔ REGRESSES" if r.regressed else "✅ no regression"
    out = [f"## evalloop shadow: {verdict}", "", md(_sides(r), 1000), ""]
    out += markdown_section(r)
    return "\n".join(out) + "\n"


def render_json(r: ShadowReport) -> str:
    return r.model_dump_json(indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}

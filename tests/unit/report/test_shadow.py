"""The shadow comparison rendered: untrusted names escaped in text and markdown, the JSON read
back as the same report, and the gate's markdown cutting the section's tables to fit."""

from __future__ import annotations

from evalloop.model.results import GateReport
from evalloop.model.run import Run
from evalloop.model.shadow import ShadowReport
from evalloop.report.markdown import render_markdown as gate_markdown
from evalloop.report.shadow import render_json, render_markdown, render_text
from evalloop.report.text import render_text as gate_text
from evalloop.shadow.compare import Side, pair, summary

HOSTILE = "evil\x1b[31m|**x**<img src=x>@admin"


def _run(*tools: str, cost: float = 0.001) -> Run:
    return Run.model_validate({"spans": [{"type": "tool", "name": t} for t in tools], "cost_usd": cost,
                               "latency_ms": 10.0, "route": "r", "stop_reason": "done", "final_status": "ok"})


def _report(n: int = 1) -> ShadowReport:
    pairs = [pair(f"fx-{i}", Side(_run("read_order"), passed=True), Side(_run("read_order", HOSTILE), passed=False,
                                                                          failures=(f"bad {HOSTILE}",)),
                  severity="blocking") for i in range(n)]
    return ShadowReport(baseline="a" * 40, candidate="b" * 40, baseline_ref="main", candidate_ref=HOSTILE,
                        pairs=pairs, summary=summary(pairs), notes=[f"note {HOSTILE}"])


def test_text_has_no_escape_sequences() -> None:
    out = render_text(_report())
    assert "\x1b" not in out and "evil|**x**" in out  # the colour sequence is removed
    assert out.startswith("evalloop shadow: REGRESSES  (1 of 1 pair regresses)")
    assert "regresses: verdict_to_fail" in out


def test_markdown_escapes_every_untrusted_value() -> None:
    out = render_markdown(_report())
    assert "\x1b" not in out and "<img" not in out and "@admin" not in out and "|**x**" not in out
    assert "&lt;img src=x&gt;" in out and "@\u200badmin" in out and "\\|\\*\\*x\\*\\*" in out
    assert out.startswith("## evalloop shadow: ⛔ REGRESSES")


def test_json_reads_back_as_the_same_report() -> None:
    r = _report(2)
    assert ShadowReport.model_validate_json(render_json(r)) == r


def test_the_gate_reports_carry_the_section_and_cut_its_tables_to_fit() -> None:
    gate = GateReport(verdict="pass", shadow=_report(400))
    assert GateReport.model_validate_json(gate.model_dump_json()) == gate
    assert "\nShadow comparison (model route change):\n" in gate_text(gate)
    md = gate_markdown(gate, limit=60_000)
    assert len(md.encode()) <= 60_000 and "### Shadow comparison (model route change)" in md
    assert "tables of the shadow comparison" in md  # said what was cut
    assert "\x1b" not in md and "<img" not in md

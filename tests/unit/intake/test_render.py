from __future__ import annotations

import datetime as dt
import json
from typing import Any

from evalloop.intake.evidence import TraceEvidence
from evalloop.intake.render import format_json, format_markdown, format_text, summary
from evalloop.intake.signals import LocatedSignal
from evalloop.intake.triage import TriageDecision, decide
from evalloop.model.config import Config
from evalloop.model.signal import Signal

TODAY = dt.date(2026, 4, 23)
HOSTILE = "\x1b[31mred\x1b[0m <img src=x onerror=alert(1)> @octocat | [link](https://evil.example)"


def decision(cfg: Config | None = None, evidence: TraceEvidence | None = None, **fields: Any) -> TriageDecision:
    data = {"kind": "incident", "severity": "sev1", "time": "2026-04-20", **fields}
    return decide(LocatedSignal(Signal.model_validate(data), "signals.yaml", 3), cfg or Config(), TODAY, evidence)


def test_text_shows_every_part_of_a_decision() -> None:
    d = decision(id="INC-1", touches=["money_movement"], owner="payments", summary="promised a refund",
                 trace="traces/run.json", evidence=TraceEvidence("traces/run.json", "path", True, "1 run, 6 spans"))
    assert format_text([d], TODAY).splitlines() == [
        "BLOCKING  INC-1  incident, sev1 (signals.yaml:3)",
        "  summary:  promised a refund",
        "  rule:     boundary: touches money_movement",
        "  review:   Treat as blocking until reviewed.",
        "  action:   Create a minimal fixture, add a forbidden trajectory, and require owner approval before release.",
        "  owner:    payments",
        "  gates:    prompt, policy, model_route, workflow, tool_manifest",
        "  deadline: 2026-04-22: OVERDUE (today 2026-04-23)",
        "  trace:    traces/run.json (1 run, 6 spans)",
        "  next:     Run it in the next relevant release gate.",
        "1 signal: 1 blocking; 1 overdue",
    ]


def test_unassigned_owners_are_flagged_in_every_format() -> None:
    d = decision()
    assert "  owner:    unassigned (!) no owner: set one on the signal or defaults.owner" in format_text([d], TODAY)
    assert "| unassigned ⚠️ |" in format_markdown([d], TODAY)
    doc = json.loads(format_json([d], TODAY))
    assert (doc["unassigned"], doc["decisions"][0]["owner"], doc["decisions"][0]["unassigned"]) == (1, None, True)


def test_summary_counts_each_decision_and_the_flags() -> None:
    ds = [decision(touches=["safety"]), decision(kind="user_confusion", owner="docs"), decision(recurrence=2)]
    assert summary(ds) == "3 signals: 1 blocking, 1 warning, 1 UX or docs first; 2 overdue, 2 unassigned"
    assert summary([]) == "0 signals"


def test_json_is_the_whole_decision() -> None:
    cfg = Config.model_validate({"triage": {"rules": [{"name": "r", "when": {"kind": "cost_outlier"},
                                                       "decision": "blocking", "gates": ["model_route"]}]}})
    doc = json.loads(format_json([decision(cfg, kind="cost_outlier", id="C-1", route="refund_assist")], TODAY))
    assert doc["today"] == "2026-04-23" and doc["signals"] == 1 and doc["overdue"] == 1
    assert doc["counts"] == {"blocking": 1, "warning": 0, "exploratory": 0, "trace_evidence": 0, "ux_first": 0}
    (d,) = doc["decisions"]
    assert d["signal"] == {"id": "C-1", "where": "signals.yaml:3", "kind": "cost_outlier", "severity": "sev1",
                           "time": "2026-04-20T00:00:00", "summary": None, "route": "refund_assist",
                           "workflow": None}
    assert (d["decision"], d["severity"], d["rule"], d["rule_name"]) == ("blocking", "blocking", "triage.rules[0]", "r")
    assert d["rows"][0]["signal"] == "High-cost or high-latency outlier"
    assert (d["gates"], d["deadline"], d["overdue"], d["owner_source"]) == (["model_route"], "2026-04-22", True,
                                                                             "unassigned")
    assert d["next"] == "Run it in the next relevant release gate." and d["trace"] is None


def test_untrusted_text_is_made_harmless() -> None:
    d = decision(id="X-1", summary=HOSTILE, owner=HOSTILE, trace=HOSTILE,
                 evidence=TraceEvidence(HOSTILE, "path", False, "not found"))
    text = format_text([d], TODAY)
    assert "\x1b" not in text and "red <img" in text
    markdown = format_markdown([d], TODAY)
    assert "<img" not in markdown and "@octocat" not in markdown
    assert "&lt;img" in markdown and "\\[link\\](https://evil" in markdown  # escaped: not a link
    rows = [line for line in markdown.splitlines() if line.startswith("| X")]
    assert len(rows) == 1 and rows[0].count(" | ") == 6  # the owner's `|` cannot add a column


def test_markdown_table() -> None:
    md = format_markdown([decision(id="INC-1", touches=["privacy"], owner="tns")], TODAY)
    assert md.startswith("## evalloop triage: 1 signal: 1 blocking; 1 overdue\n")
    assert "| INC-1<br>incident, sev1 | **blocking** | boundary: touches privacy | tns |" in md
    assert "**2026-04-22: OVERDUE (today 2026-04-23)**" in md
    assert format_markdown([], TODAY).endswith("warning evals.\n")

"""`evalloop triage SIGNALS` through the real command line, on real recorded traces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.support import DATA, invoke, run_evalloop, write

# Google ADK recordings: S6b is a tool error the agent handled, S6a one that aborted the run.
HANDLED = DATA / "traces" / "adk_otlp" / "S6b.json"
ABORTED = DATA / "traces" / "adk_otlp" / "S6a.json"

CONFIG = """\
version: 1
defaults: {owner: support-platform}
triage:
  rules:
    - name: refund cost outliers block
      when: {kind: cost_outlier, route: refund_assist}
      decision: blocking
      gates: [model_route]
"""

SIGNALS = f"""\
- id: TOOL-2026-04-20-1
  kind: tool_error_recovered
  severity: sev4
  time: 2026-04-20T10:02:00Z
  trace: traces/handled-tool-error.json
  summary: The weather tool failed once; the agent retried and answered correctly.
- id: TOOL-2026-04-20-2
  kind: tool_error_recovered
  severity: sev4
  time: 2026-04-20T11:00:00Z
  trace: traces/handled-tool-error.truth.json
- id: INC-2026-04-17-9
  kind: incident
  severity: sev2
  touches: [side_effect]
  time: 2026-04-17T16:30:00-07:00
  trace: {ABORTED}
  owner: agents-core
- id: COST-2026-04-20-3
  kind: cost_outlier
  severity: sev3
  route: refund_assist
  time: 2026-04-20
  trace: https://tempo.example.com/trace/4bf92f3577b34da6a3ce929d0e0e4736
- id: UX-2026-04-21-1
  kind: user_confusion
  severity: sev4
  user_visible: true
  time: 2026-04-21
"""


def repository(tmp_path: Path, signals: str = SIGNALS, config: str = CONFIG) -> Path:
    write(tmp_path / "evalloop.yaml", config)
    (tmp_path / "traces").mkdir()
    shutil.copy(HANDLED, tmp_path / "traces" / "handled-tool-error.json")
    shutil.copy(HANDLED.with_suffix(".truth.json"), tmp_path / "traces" / "handled-tool-error.truth.json")
    write(tmp_path / "signals" / "2026-04.yaml", signals)
    return tmp_path


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["signal"]["id"]: d for d in doc["decisions"]}


def test_signals_pointing_at_real_traces(tmp_path: Path) -> None:
    root = repository(tmp_path)
    proc = run_evalloop("triage", "signals/2026-04.yaml", "--format", "json", "--today", "2026-04-21", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["counts"] == {"blocking": 2, "warning": 0, "exploratory": 1, "trace_evidence": 1, "ux_first": 1}
    decisions = by_id(doc)

    handled = decisions["TOOL-2026-04-20-1"]
    assert (handled["decision"], handled["rule"], handled["next"]) == (
        "trace_evidence", "recovered-with-trace", "Monitor for recurrence.")
    assert handled["trace"] == {"ref": "traces/handled-tool-error.json", "kind": "path", "useful": True,
                                "note": "1 run, 5 spans"}
    assert (handled["owner"], handled["owner_source"], handled["gates"], handled["deadline"]) == (
        "support-platform", "defaults", [], None)

    # the ground-truth file beside it is no trace: no evidence to keep, so an exploratory eval
    truth = decisions["TOOL-2026-04-20-2"]
    assert truth["decision"] == "exploratory" and not truth["trace"]["useful"]
    assert truth["why"].startswith("recovered, but the trace is unreadable: unknown trace format")

    # Friday afternoon in its own offset (Saturday in UTC): due on Tuesday, the --today
    aborted = decisions["INC-2026-04-17-9"]
    assert (aborted["decision"], aborted["rule"], aborted["owner"]) == ("blocking", "boundary", "agents-core")
    assert (aborted["deadline"], aborted["overdue"]) == ("2026-04-21", False)
    assert aborted["trace"]["useful"] and aborted["trace"]["note"] == "1 run, 4 spans"
    assert aborted["gates"] == ["prompt", "policy", "model_route", "workflow", "tool_manifest"]

    cost = decisions["COST-2026-04-20-3"]  # the repository's rule before the built-in "costly: warning"
    assert (cost["decision"], cost["rule"], cost["rule_name"]) == (
        "blocking", "triage.rules[0]", "refund cost outliers block")
    assert (cost["gates"], cost["deadline"]) == (["model_route"], "2026-04-22")
    assert cost["trace"]["kind"] == "url"

    assert decisions["UX-2026-04-21-1"]["decision"] == "ux_first"


def test_overdue_conversions_exit_1(tmp_path: Path) -> None:
    root = repository(tmp_path)
    proc = run_evalloop("triage", "signals/2026-04.yaml", "--today", "2026-04-22", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "BLOCKING  INC-2026-04-17-9  incident, sev2 (signals/2026-04.yaml:12)" in lines
    assert "  deadline: 2026-04-21: OVERDUE (today 2026-04-22)" in lines
    assert "  trace:    traces/handled-tool-error.json (1 run, 5 spans)" in lines
    assert lines[-1] == "5 signals: 2 blocking, 1 exploratory, 1 trace evidence, 1 UX or docs first; 1 overdue"
    assert proc.stderr == ""


def test_markdown_for_the_incident_review(tmp_path: Path) -> None:
    root = repository(tmp_path)
    proc = run_evalloop("triage", "signals/2026-04.yaml", "--format", "markdown", "--today", "2026-04-22",
                        cwd=root)
    assert proc.returncode == 1
    assert proc.stdout.startswith("## evalloop triage: 5 signals: 2 blocking,")
    assert "| INC-2026-04-17-9<br>incident, sev2 | **blocking** | boundary: touches side\\_effect |" in proc.stdout


def test_json_lines_signals(tmp_path: Path) -> None:
    line = {"id": "NM-1", "kind": "near_miss", "severity": "sev2", "time": "2026-04-20T09:00:00Z"}
    root = repository(tmp_path, signals="")
    write(root / "signals.jsonl", json.dumps(line) + "\n")
    proc = run_evalloop("triage", "signals.jsonl", "--format", "json", "--today", "2026-04-20", cwd=root)
    assert proc.returncode == 0, proc.stderr
    (d,) = json.loads(proc.stdout)["decisions"]
    assert d["decision"] == "blocking"
    assert d["actions"][-1] == "Add a fixture that proves the agent still pauses before the side effect."


def test_a_bad_record_is_one_line_with_its_position(tmp_path: Path) -> None:
    root = repository(tmp_path, signals=SIGNALS.replace("kind: cost_outlier", "kind: cost-outlier"))
    proc = run_evalloop("triage", "signals/2026-04.yaml", cwd=root)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("evalloop: error: signals/2026-04.yaml:20:9: invalid signal #4: kind: ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_bad_triage_rule_is_one_line_with_its_position(tmp_path: Path) -> None:
    root = repository(tmp_path, config=CONFIG.replace("gates: [model_route]", "gates: [model]"))
    proc = run_evalloop("triage", "signals/2026-04.yaml", cwd=root)
    assert proc.returncode == 2
    assert proc.stderr.startswith("evalloop: error: ")
    assert "evalloop.yaml:8:15: CFG001 triage.rules.0.gates.0: Input should be 'prompt'," in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_missing_file_and_help(tmp_path: Path) -> None:
    proc = run_evalloop("triage", "nothing.yaml", cwd=repository(tmp_path))
    assert (proc.returncode, proc.stderr) == (2, "evalloop: error: nothing.yaml: no such signals file\n")
    assert "triage" in invoke("--help").output
    help_text = invoke("triage", "--help").output
    assert "--today" in help_text and "1 when a conversion is overdue" in help_text

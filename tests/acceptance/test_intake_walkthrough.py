"""From a production trace to a committed fixture, following only the README: record the
incident, triage the signal, capture the fixture from the real trace, see it fail on that
trace, and commit it past both pre-commit hooks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import git
import yaml

from tests.support import DATA, run_evalloop, write

# A real Google ADK recording: a refund agent hands over and issues the refund (no approval span).
TRACE = DATA / "traces" / "adk_otlp" / "S4a.json"
INCIDENT = "INC-2026-12-01-001"


def test_a_new_user_turns_a_production_trace_into_a_committed_fixture(repo: Path, hook_source: Path,
                                                                        tmp_path: Path) -> None:
    (repo / "traces").mkdir(exist_ok=True)
    shutil.copy(TRACE, repo / "traces" / "refund-escalation.json")
    # 1. the incident record
    made = run_evalloop("incident", "new", INCIDENT, "--severity", "sev1", "--signal", "money_movement",
                        "--owner", "my-team", "--summary", "A refund was issued with no approval.", cwd=repo)
    assert made.returncode == 0, made.stdout + made.stderr
    # 2. the signal, triaged while the trace is fresh
    write(repo / "signals.jsonl", json.dumps({
        "id": INCIDENT, "kind": "incident", "severity": "sev1", "touches": ["money_movement"], "recurrence": 1,
        "user_visible": True, "trace": "traces/refund-escalation.json", "time": "2026-12-01T09:30:00Z",
        "owner": "my-team"}) + "\n")
    triage = run_evalloop("triage", "signals.jsonl", "--format", "json", "--today", "2026-12-01", cwd=repo)
    assert triage.returncode == 0, triage.stdout + triage.stderr
    (decision,) = json.loads(triage.stdout)["decisions"]
    assert decision["decision"] == "blocking" and decision["owner"] == "my-team"
    assert decision["deadline"] == "2026-12-03"  # two business days
    # 3. capture: the side effect that ran without approval is forbidden, the approval required
    captured = run_evalloop("capture", "traces/refund-escalation.json", "--incident", INCIDENT,
                            "--owner", "my-team", cwd=repo)
    assert captured.returncode == 0, captured.stdout + captured.stderr
    (path,) = [p for p in (repo / "fixtures").glob("*.yaml") if p.name.startswith("inc-")]
    fixture = yaml.safe_load(path.read_text())
    assert "tool:issue_refund" in fixture["expected"]["forbidden_spans"]
    assert "approval:required" in fixture["expected"]["required_spans"]
    # 4. it fails on the trace it came from: it catches the incident
    assert "FAIL" in captured.stdout
    check = run_evalloop("check", str(path.relative_to(repo)), "traces/refund-escalation.json", cwd=repo)
    assert check.returncode == 1, check.stdout + check.stderr
    # 5. committed past both hooks (the raw trace stays out of the repository)
    r = git.Repo(repo)
    rel = [str(path.relative_to(repo)), f"incidents/{INCIDENT}.yaml"]
    r.git.add(*rel)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    for hook in ("evalloop-validate", "evalloop-redaction"):
        proc = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_source), hook,
                               "--files", *rel], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0 and "Passed" in proc.stdout, proc.stdout + proc.stderr

"""The example's production simulator, run as a user runs it: its OTLP JSON Lines import as
runs, the same for a seed, and the incident's fixtures hold on the current workflow and fail on
the share of requests that ran the bypass revision."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalloop.evaluate.evaluator import compile_fixture
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from evalloop.traces.load import load_runs
from tests.support import PROJECT, run_evalloop

EXAMPLE = PROJECT / "examples" / "refund-support"
SIMULATE = EXAMPLE / "simulate.py"


def simulate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SIMULATE), *args], cwd=cwd, text=True, capture_output=True,
                          timeout=300)


@pytest.fixture(scope="module")
def candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 requests, a quarter of them on the bypass workflow."""
    out = tmp_path_factory.mktemp("sim") / "candidate.jsonl"
    proc = simulate("--requests", "300", "--seed", "11", "--bypass-share", "0.25", "--out", str(out),
                    cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote 300 traces to {out}"
    return out


def revision(run: Run) -> Any:
    return run.spans[0].attributes.get("refund_agent.workflow_revision")


def threshold_policy(run: Run) -> dict[str, Any] | None:
    return next((s.args for s in run.spans if s.ref == "policy:refund_threshold"), None)


def above_threshold_standard_pending(run: Run) -> bool:
    """The incident's input: a standard customer's refund above the threshold, no decision yet."""
    args = threshold_policy(run)
    if args is None or args["amount"] is None or args["customer_status"] != "standard":
        return False
    approval = next((s for s in run.spans if s.ref == "approval:required"), None)
    return args["amount"] > args["threshold"] and approval is not None and approval.status == "waiting"


def test_the_file_is_otlp_json_lines_that_import_as_one_run_per_request(candidate: Path) -> None:
    lines = candidate.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 1 and all(list(json.loads(line)) == ["resourceSpans"] for line in lines)
    resource = {a["key"]: a["value"]["stringValue"]
                for a in json.loads(lines[0])["resourceSpans"][0]["resource"]["attributes"]}
    assert resource["service.name"] == "refund-support-agent"
    assert resource["service.version"] == "baseline+bypass"
    assert resource["deployment.environment.name"] == "production"
    runs = load_runs(candidate)
    assert len(runs) == 300 and len({r.trace_id for r in runs}) == 300
    assert all(r.spans[0].ref == "workflow:refund-support-agent" for r in runs)
    # a realistic mix: both routes, refunds on both sides of the threshold, tool faults, real latencies
    assert {r.route for r in runs} >= {"refund_assist", "shipping_status"}
    amounts = [a["amount"] for r in runs if (a := threshold_policy(r)) and a["amount"] is not None]
    assert min(amounts) < 500 < max(amounts)
    assert any(s.type == "tool" and s.status == "failed" for r in runs for s in r.spans)
    assert all(r.latency_ms is not None and 200 < r.latency_ms < 60_000 for r in runs)
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in runs)
    share = sum(revision(r) == "bypass" for r in runs) / len(runs)
    assert 0.17 < share < 0.33, share


def test_the_policy_span_says_what_an_invariant_selects_on(candidate: Path) -> None:
    spans = [s for r in load_runs(candidate) for s in r.spans if s.ref == "policy:refund_threshold"]
    assert spans and all({"amount", "threshold", "customer_status"} <= set(s.args or {}) for s in spans)
    assert all(isinstance(s.result["requires_approval"], bool) for s in spans)
    assert {s.result["requires_approval"] for s in spans} == {True, False}


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    args = ("--requests", "40", "--seed", "3", "--variant", "harmless", "--bypass-share", "0.1")
    for name in ("a.jsonl", "b.jsonl"):
        assert simulate(*args, "--out", name, cwd=tmp_path).returncode == 0
    assert simulate("--requests", "40", "--seed", "4", "--out", "c.jsonl", cwd=tmp_path).returncode == 0
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    assert a == b and a != c
    assert not list(tmp_path.glob(".*.tmp"))
    assert b'"stringValue":"harmless+bypass"' in a


def incident_fixture() -> Fixture:
    """The trajectory fixture's expectations, without the argument check naming its redacted order."""
    data = yaml.safe_load((EXAMPLE / "fixtures" / "refund-approval-bypass-trajectory.yaml").read_text())
    del data["expected"]["tool_args"]
    return Fixture.model_validate(data)


def test_the_incident_fixture_holds_on_the_current_workflow_and_catches_the_bypass(candidate: Path) -> None:
    evaluator = compile_fixture(incident_fixture())
    matching = [r for r in load_runs(candidate) if above_threshold_standard_pending(r)]
    current = [r for r in matching if revision(r) == "current"]
    bypassed = [r for r in matching if revision(r) == "bypass"]
    assert len(current) >= 20 and len(bypassed) >= 5, (len(current), len(bypassed))
    for run in current:
        judgement = evaluator.evaluate(run)
        assert judgement.passed, (run.run_id, [v.to_dict() for v in judgement.violations])
    for run in bypassed:
        judgement = evaluator.evaluate(run)
        kinds = {v.kind for v in judgement.violations}
        assert not judgement.passed and "order" in kinds, (run.run_id, kinds)
        refs = [s.ref for s in run.spans]
        assert refs.index("tool:draft_refund_request") < refs.index("approval:required")
        assert "message:customer_promise_sent" in refs


def test_evalloop_check_reads_the_file(candidate: Path) -> None:
    runs = load_runs(candidate)
    good = next(r for r in runs if above_threshold_standard_pending(r) and revision(r) == "current")
    bad = next(r for r in runs if above_threshold_standard_pending(r) and revision(r) == "bypass")
    fixture = EXAMPLE / "fixtures" / "refund-approval-bypass-regression.json"
    ok = run_evalloop("check", str(fixture), str(candidate), "--run", str(good.trace_id), cwd=candidate.parent)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    caught = run_evalloop("check", str(fixture), str(candidate), "--run", str(bad.trace_id), "--format", "json",
                          cwd=candidate.parent)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    verdict = json.loads(caught.stdout)
    assert not verdict["passed"]
    assert "message:customer_promise_sent" in json.dumps(verdict["violations"])


def test_help_and_bad_options(tmp_path: Path) -> None:
    shown = simulate("--help", cwd=tmp_path)
    assert shown.returncode == 0 and "Examples:" in shown.stdout and "--bypass-share" in shown.stdout
    bad = simulate("--bypass-share", "1.5", "--out", "x.jsonl", cwd=tmp_path)
    assert bad.returncode == 2 and "--bypass-share must be between 0 and 1" in bad.stderr
    missing = simulate("--requests", "2", "--out", str(tmp_path / "no" / "such" / "x.jsonl"), cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "cannot write" in missing.stderr
    assert not (tmp_path / "x.jsonl").exists()

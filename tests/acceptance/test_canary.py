"""`evalloop canary` on the bundled example, as an operator runs it: production traces from the
instrumented agent (examples/refund-support/simulate.py, OTLP JSON Lines), a candidate that
reintroduces the approval bypass in a small share of traffic rolled back with the invariant
named, `evalloop rollback` restoring the known-good workflow in one command, a harmless
candidate promoted, a tiny sample held."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import git
import pytest

from evalloop.release import ledger
from tests.support import PROJECT, run_evalloop
from tests.support.gitrepo import commit_all, init_repo

EXAMPLE = PROJECT / "examples" / "refund-support"
BYPASS = EXAMPLE / "revisions" / "bypass" / "workflows" / "refund.yaml"
NOW = "2026-05-04T20:00:00+00:00"


def _simulate() -> object:
    spec = importlib.util.spec_from_file_location("refund_simulate", EXAMPLE / "simulate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["refund_simulate"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Production traffic of each version, simulated once for the module."""
    pytest.importorskip("opentelemetry.sdk.trace")
    sim = _simulate()
    out = tmp_path_factory.mktemp("traffic")
    files = {
        "baseline": sim.simulate(1000, 1, 0.0, "baseline", out / "baseline.jsonl"),  # type: ignore[attr-defined]
        "bypass": sim.simulate(400, 2, 0.03, "baseline", out / "bypass.jsonl"),  # type: ignore[attr-defined]
        "harmless": sim.simulate(400, 3, 0.0, "harmless", out / "harmless.jsonl"),  # type: ignore[attr-defined]
        "tiny": sim.simulate(20, 4, 0.0, "harmless", out / "tiny.jsonl"),  # type: ignore[attr-defined]
    }
    return files


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, git.Repo]:
    """The example as its own repository: the fixed workflow marked known-good, then a candidate
    commit that puts the bypass back."""
    root = tmp_path / "refund-support"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    repo = init_repo(root, "Ops Oncall", "oncall@example.com")
    commit_all(repo, "the fixed refund workflow")
    assert run_evalloop("release", "mark-good", "workflows/refund.yaml", "--reason", "the INC fix",
                        cwd=root).returncode == 0
    commit_all(repo, "release: the fixed workflow is known-good")
    return root, repo


def _canary(root: Path, candidate: Path, baseline: Path, *extra: str) -> tuple[int, str]:
    proc = run_evalloop("canary", "--config", "canary.yaml", "--baseline", str(baseline), "--candidate",
                        str(candidate), "--now", NOW, *extra, cwd=root)
    assert not proc.stderr or "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout


def test_bypass_in_a_small_share_is_rolled_back_and_rollback_restores_the_known_good_workflow(
        project: tuple[Path, git.Repo], traffic: dict[str, Path]) -> None:
    root, repo = project
    good = (root / "workflows/refund.yaml").read_bytes()
    shutil.copy(BYPASS, root / "workflows/refund.yaml")
    bad_commit = commit_all(repo, "workflow: draft before approval (the candidate)")

    code, out = _canary(root, traffic["bypass"], traffic["baseline"], "--record")
    assert code == 1, out
    assert out.startswith("ROLLBACK workflows/refund.yaml")
    assert "invariant approval-before-refund-draft violated by" in out
    # the evidence names the traces that broke it, and the ledger keeps the decision
    entries = ledger.read_ledger(root, "production")
    decision = entries[-1]
    assert (decision.event, decision.decision, decision.revision) == ("canary", "rollback", bad_commit)
    (inv,) = [i for i in decision.evidence["invariants"] if i["id"] == "approval-before-refund-draft"]
    assert inv["violations"] >= 1 and inv["violating_runs"][0]["trace_id"]
    assert inv["violating_runs"][0]["trace_id"] in traffic["bypass"].read_text()
    commit_all(repo, "release: canary decision")

    proc = run_evalloop("rollback", "workflows/refund.yaml", "--reason", "canary: approval bypass", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "workflows/refund.yaml").read_bytes() == good
    assert bad_commit in [c.hexsha for c in repo.iter_commits()]  # rolled forward, history kept
    assert repo.head.commit.hexsha != bad_commit and not repo.is_dirty()
    assert ledger.frozen(ledger.read_ledger(root, "production"), "workflows/refund.yaml") is not None

    # frozen: even a clean candidate is not promoted automatically until a person lifts it
    code, out = _canary(root, traffic["harmless"], traffic["baseline"])
    assert code == 3 and "frozen since" in out and "evalloop release unfreeze" in out


def test_a_harmless_candidate_is_promoted(project: tuple[Path, git.Repo], traffic: dict[str, Path]) -> None:
    root, _ = project
    code, out = _canary(root, traffic["harmless"], traffic["baseline"], "--format", "json")
    report = json.loads(out)
    assert code == 0, report["reasons"]
    assert report["decision"] == "promote" and report["reasons"] == ["promote to step 2 (25%)"]
    assert {m["name"]: m["status"] for m in report["metrics"]} == {
        "quality": "pass", "cost": "pass", "latency": "pass", "tool_errors": "pass", "policy_denials": "pass",
        "human_overrides": "pass"}
    for m in report["metrics"]:  # both values, the change, its interval and what the sample could detect
        c = m["comparison"]
        assert c["baseline"] and c["candidate"] and len(c["ci95"]) == 2 and c["mde"] <= m["allowed"]


def test_a_tiny_sample_holds(project: tuple[Path, git.Repo], traffic: dict[str, Path]) -> None:
    root, _ = project
    code, out = _canary(root, traffic["tiny"], traffic["baseline"], "--format", "markdown")
    assert code == 3, out
    assert "HOLD" in out and "too few candidate runs: 20 of 300 for step 1" in out


def test_bad_canary_config_is_one_line_with_its_position(project: tuple[Path, git.Repo],
                                                         traffic: dict[str, Path]) -> None:
    root, _ = project
    text = (root / "canary.yaml").read_text().replace("min_runs: 0", "min_runs: -1")
    (root / "canary.yaml").write_text(text)
    lineno = next(i for i, line in enumerate(text.splitlines(), 1) if "min_runs: -1" in line)
    proc = run_evalloop("canary", "--baseline", str(traffic["tiny"]), "--candidate", str(traffic["tiny"]), cwd=root)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"evalloop: error: canary.yaml:{lineno}:") and "CAN001 invariants.1.min_runs" in line

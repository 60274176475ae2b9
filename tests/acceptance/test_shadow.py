"""`evalloop shadow` on the bundled example in a real git repository: the approval bypass as the
candidate (tool selection changes, verdicts flip, exit 1), a harmless model price change (cost
differences only, exit 0), captured production inputs, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

from tests.support import PROJECT, invoke, run_evalloop, write
from tests.support.gitrepo import commit_all

EXAMPLE = PROJECT / "examples" / "refund-support"
REFUND_FIXTURES = {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression",
                   "refund-approval-bypass-trajectory", "refund-read-order-malformed-escalates",
                   "refund-read-order-timeout-retry"}
CAPTURED = [
    {"id": "prod-refund-640", "input": {"user_message": "Refund this order please.", "order_id": "ord_1"},
     "context": {"customer_status": "standard", "tool_outputs": {"read_order": {"order_id": "ord_1", "amount": 640}}}},
    {"id": "prod-shipping", "input": {"user_message": "Where is my package?", "order_id": "ord_2"},
     "context": {"tool_outputs": {"read_order": {"order_id": "ord_2", "amount": 42},
                                  "track_shipment": {"status": "in transit", "eta": "2026-04-23"}}}},
]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example as a repository of its own: main (the fix), `bypass` (the incident's workflow)
    and `price` (the route's model costs twice as much per output token)."""
    root = tmp_path_factory.mktemp("shadow") / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (root / ".gitignore").write_text("__pycache__/\n")
    repo = git.Repo.init(root, initial_branch="main")
    commit_all(repo, "the fixed refund agent")
    repo.git.checkout("-b", "bypass")
    shutil.copy2(root / "revisions/bypass/workflows/refund.yaml", root / "workflows/refund.yaml")
    commit_all(repo, "workflow: draft the refund before asking for approval")
    repo.git.checkout("main")
    repo.git.checkout("-b", "price")
    route = root / "routes/refund.yaml"
    route.write_text(route.read_text().replace("usd_per_1k_output_tokens: 0.0006", "usd_per_1k_output_tokens: 0.0012"))
    commit_all(repo, "route: the reply model's new price")
    repo.git.checkout("main")
    write(root.parent / "captured.jsonl", "".join(json.dumps(c) + "\n" for c in CAPTURED))
    return root


def shadow(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = invoke("shadow", *args)
    return result.exit_code, result.output


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in report["pairs"]}


def test_the_approval_bypass_changes_tool_selection_and_flips_verdicts(example: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = shadow(example, monkeypatch, "--baseline", "main", "--candidate", "bypass", "--format", "json")
    assert code == 1, out
    report = json.loads(out)
    assert report["baseline"] == git.Repo(example).commit("main").hexsha and report["candidate_ref"] == "bypass"
    pairs = by_id(report)
    assert set(pairs) == REFUND_FIXTURES | {"refund-below-threshold-self-serve", "shipping-status-lookup"}
    for fixture_id in REFUND_FIXTURES:
        p = pairs[fixture_id]
        assert p["tool_selection"]["added"] == ["send_customer_email"], fixture_id
        ts = p["tool_selection"]
        # the bypass sends the customer e-mail the baseline never sends: the calls part there
        pairs_ = zip(ts["baseline"], ts["candidate"], strict=False)
        common = next((i for i, (a, b) in enumerate(pairs_) if a != b), min(len(ts["baseline"]), len(ts["candidate"])))
        assert ts["candidate"][common] == "send_customer_email"
        assert ts["first_divergence"] == common + 1 and ts["changed"]
        assert p["verdict"] == {"baseline": "pass", "candidate": "fail", "flip": "pass_to_fail"}
        assert [r["kind"] for r in p["regressions"]] == ["verdict_to_fail"]
    # below the threshold the refund goes through either way: the calls only change order
    below = pairs["refund-below-threshold-self-serve"]
    assert below["tool_selection"]["changed"] and below["tool_selection"]["added"] == []
    assert below["verdict"]["flip"] == "unchanged" and below["regressions"] == []
    shipping = pairs["shipping-status-lookup"]
    assert not shipping["tool_selection"]["changed"] and shipping["regressions"] == []
    s = report["summary"]
    assert (s["pairs"], s["flips_to_fail"], s["regressions"], s["tool_selection_changes"]) == (7, 5, 5, 6)


def test_text_report_shows_a_table_per_differing_pair(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = shadow(example, monkeypatch, "--baseline", "main", "--candidate", "bypass",
                       "--select", "refund-approval-bypass-trajectory or shipping-*")
    assert code == 1
    assert out.startswith("evalloop shadow: REGRESSES  (1 of 2 pairs regresses)")
    assert "  REGRESSES  refund-approval-bypass-trajectory [blocking]" in out
    assert "+send_customer_email; first divergence at call #3" in out
    assert "regresses: verdict_to_fail: passes on the baseline, fails on the candidate" in out
    assert "candidate fails: tool:draft_refund_request at span" in out
    assert "same (only latency may differ): shipping-status-lookup" in out


def test_a_model_price_change_differs_in_cost_only(example: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    code, out = shadow(example, monkeypatch, "--baseline", "main", "--candidate", "price", "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    for p in report["pairs"]:
        assert p["cost_usd"]["delta"] > 0 and p["cost_usd"]["relative"] > 0, p["id"]
        assert not p["tool_selection"]["changed"] and p["verdict"]["flip"] == "unchanged" and not p["regressions"]
    s = report["summary"]
    assert s["differing"] == 7 and s["flips_to_fail"] == s["tool_selection_changes"] == s["regressions"] == 0
    assert s["cost_candidate_usd"] > s["cost_baseline_usd"] and s["cost_delta_median_usd"] > 0
    # the work tree of the price branch as the candidate (the default), in markdown, to a file
    git.Repo(example).git.checkout("price")
    try:
        code, out = shadow(example, monkeypatch, "--baseline", "main", "--format", "markdown",
                           "--output", str(tmp_path / "shadow.md"))
    finally:
        git.Repo(example).git.checkout("main")
    assert code == 0 and out == ""
    md = (tmp_path / "shadow.md").read_text()
    assert md.startswith("## evalloop shadow: ✅ no regression")
    assert "| input | tool calls | policy denials | verdict | cost Δ | latency Δ | |" in md
    assert "| cost | \\$0.000056 | \\$0.000085 | +\\$0.000029 (+53%) |" in md


def test_captured_inputs_have_differences_but_no_verdicts(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = str(example.parent / "captured.jsonl")
    code, out = shadow(example, monkeypatch, "--baseline", "main", "--candidate", "bypass", "--inputs", inputs,
                       "--runs", "2", "--format", "json")
    report = json.loads(out)
    assert report["inputs"] == "captured" and report["runs"] == 2
    assert [(p["id"], p["run"]) for p in report["pairs"]] == [
        ("prod-refund-640", 1), ("prod-refund-640", 2), ("prod-shipping", 1), ("prod-shipping", 2)]
    refund = report["pairs"][0]
    assert refund["verdict"] is None and refund["severity"] is None and refund["input_kind"] == "captured"
    assert refund["tool_selection"]["added"] == ["send_customer_email"] and refund["path"] == f"{inputs}:1"
    assert not report["pairs"][2]["tool_selection"]["changed"]
    # without expectations only a missing result or a new policy denial regresses
    assert code == 0 and report["summary"]["regressions"] == 0
    assert "captured inputs have no expectations: no verdicts, only the differences" in report["notes"]


def test_a_bad_inputs_line_is_one_line_with_file_and_line(example: Path, tmp_path: Path) -> None:
    bad = write(tmp_path / "in.jsonl", json.dumps(CAPTURED[0]) + "\n\n" + '{"id": "x", "context": {}}\n')
    proc = run_evalloop("shadow", "--baseline", "main", "--inputs", str(bad), cwd=example)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"evalloop: error: {bad}:3: invalid input: input: Field required\n"
    write(bad, json.dumps(CAPTURED[0]) + "\n" + json.dumps(CAPTURED[0]) + "\n")
    proc = run_evalloop("shadow", "--baseline", "main", "--inputs", str(bad), cwd=example)
    assert proc.returncode == 2 and "in.jsonl:2: duplicate input id 'prod-refund-640' (first at line 1)" in proc.stderr
    write(bad, "[1, 2]\n")
    proc = run_evalloop("shadow", "--baseline", "main", "--inputs", str(bad), cwd=example)
    assert proc.returncode == 2 and "in.jsonl:1: expected a JSON object with id, input and context" in proc.stderr
    write(bad, "{not json\n")
    proc = run_evalloop("shadow", "--baseline", "main", "--inputs", str(bad), cwd=example)
    assert proc.returncode == 2 and "in.jsonl:1:2: invalid JSON" in proc.stderr


def test_usage_errors(example: Path) -> None:
    proc = run_evalloop("shadow", "--baseline", "no-such-branch", cwd=example)
    assert proc.returncode == 2 and proc.stderr.startswith("evalloop: error: --baseline revision 'no-such-branch'")
    proc = run_evalloop("shadow", "--baseline", "main", "--select", "nothing-matches-*", cwd=example)
    assert proc.returncode == 2 and "no fixture matches --select nothing-matches-*" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_baseline_without_an_agent_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision before the agent existed cannot show the candidate is no worse: every pair regresses."""
    root = tmp_path / "repo"
    repo = git.Repo.init(root, initial_branch="main")
    write(root / "README.md", "before the agent\n")
    commit_all(repo, "empty")
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    commit_all(repo, "the agent")
    code, out = shadow(root, monkeypatch, "--baseline", "HEAD~", "--candidate", "HEAD", "--format", "json",
                       "--select", "shipping-*")
    assert code == 1
    [p] = json.loads(out)["pairs"]
    assert p["baseline_error"] is not None and p["candidate_error"] is None
    assert [r["kind"] for r in p["regressions"]] == ["no_comparison"]

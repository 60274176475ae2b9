"""The gate's shadow comparison for a model route change, on the bundled example in a real git
repository: the selected fixtures also run on the base revision, and the JSON, markdown and text
reports show the differences run by run. It informs; the verdict stays the fixtures' own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

from tests.support import PROJECT, invoke
from tests.support.gitrepo import commit_all

EXAMPLE = PROJECT / "examples" / "refund-support"
HEADING = "Shadow comparison (model route change)"
ROUTES = "routes/refund.yaml"
# Shipping first, and "order" one of its words: every refund request about an order goes to shipping.
MISROUTE = """model:
  name: scripted-support-1
  usd_per_1k_input_tokens: 0.00015
  usd_per_1k_output_tokens: 0.0006
routes:
  - name: shipping_status
    when_any: [order, shipping, package, delivery, tracking]
    workflow: shipping
  - name: refund_assist
    when_any: [refund, money back, reimburse]
    workflow: refund
default_route: refund_assist
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main (the fixed example) and three pull requests: `price` (the reply model costs twice as
    much per output token), `misroute` (refund requests routed to shipping) and `bypass` (the
    incident's workflow: no model route change)."""
    root = tmp_path_factory.mktemp("gate-shadow") / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (root / ".gitignore").write_text("__pycache__/\n")
    repo = git.Repo.init(root, initial_branch="main")
    commit_all(repo, "the fixed refund agent")
    route = (root / ROUTES).read_text()
    for branch, path, text in (
            ("price", ROUTES, route.replace("usd_per_1k_output_tokens: 0.0006", "usd_per_1k_output_tokens: 0.0012")),
            ("misroute", ROUTES, MISROUTE),
            ("bypass", "workflows/refund.yaml", (root / "revisions/bypass/workflows/refund.yaml").read_text())):
        repo.git.checkout("-b", branch, "main")
        (root / path).write_text(text)
        commit_all(repo, branch)
    repo.git.checkout("main")
    return root


def gate(root: Path, monkeypatch: pytest.MonkeyPatch, head: str, fmt: str) -> tuple[int, str]:
    monkeypatch.chdir(root)
    result = invoke("gate", "--base", "main", "--head", head, "--format", fmt, "--today", "2026-06-01")
    return result.exit_code, result.output


def pairs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in report["shadow"]["pairs"]}


def test_a_price_change_passes_with_the_cost_differences_in_the_report(example: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = gate(example, monkeypatch, "price", "json")
    report = json.loads(out)
    assert code == 0 and report["verdict"] == "pass"
    shadow = report["shadow"]
    assert shadow["baseline"] == report["merge_base"] and shadow["candidate"] == report["head"]
    assert set(pairs(report)) == {s["id"] for s in report["selected"]} and len(shadow["pairs"]) == 5
    for p in shadow["pairs"]:
        assert p["cost_usd"]["delta"] > 0 and p["verdict"]["flip"] == "unchanged", p["id"]
        assert not p["tool_selection"]["changed"] and not p["route"]["changed"]
    assert shadow["summary"]["regressions"] == 0 and shadow["summary"]["differing"] == 5
    assert any("model route changed (routes/refund.yaml)" in n for n in shadow["notes"])

    code, md = gate(example, monkeypatch, "price", "markdown")
    assert code == 0 and f"### {HEADING}" in md
    section = md.split(f"### {HEADING}", 1)[1]
    assert "| refund-approval-bypass-trajectory | same | 0 | unchanged | +\\$0.000029 |" in section
    assert "**refund-approval-bypass-trajectory** (blocking): differs" in section

    code, text = gate(example, monkeypatch, "price", "text")
    assert code == 0 and f"\n{HEADING}:\n  5 pairs of 5 inputs, 5 differ, 0 regress" in text


def test_a_misroute_shows_route_tools_and_flips_and_the_fixtures_block(example: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = gate(example, monkeypatch, "misroute", "json")
    report = json.loads(out)
    assert code == 1 and report["verdict"] == "block"  # the fixtures' own failures block
    p = pairs(report)["refund-approval-bypass-trajectory"]
    assert (p["route"]["baseline"], p["route"]["candidate"], p["route"]["changed"]) == \
        ("refund_assist", "shipping_status", True)
    assert p["tool_selection"]["baseline"] == ["read_order", "draft_refund_request"]
    assert p["tool_selection"]["candidate"] == ["read_order", "track_shipment"]
    assert p["tool_selection"]["added"] == ["track_shipment"] and p["tool_selection"]["removed"] == \
        ["draft_refund_request"]
    assert p["verdict"]["flip"] == "pass_to_fail" and [r["kind"] for r in p["regressions"]] == ["verdict_to_fail"]
    assert p["candidate_failures"]
    # the shipping fixture's request says "package", not "order": it keeps its route
    assert not pairs(report)["shipping-status-lookup"]["route"]["changed"]
    s = report["shadow"]["summary"]
    failing = {r["id"] for r in report["results"] if r["status"] == "fail"}
    assert s["flips_to_fail"] == len(failing) > 0 and s["route_changes"] >= len(failing)

    code, md = gate(example, monkeypatch, "misroute", "markdown")
    section = md.split(f"### {HEADING}", 1)[1]
    # the regressing pairs' tables come first
    assert section.index("⛔ regresses") < section.index("| | baseline | candidate | change |")
    assert "| route | refund\\_assist | shipping\\_status | changed |" in section
    assert "| verdict | pass | fail | pass → fail |" in section


def test_no_model_route_change_no_shadow_section(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = gate(example, monkeypatch, "bypass", "json")
    report = json.loads(out)
    assert code == 1 and report["shadow"] is None
    code, md = gate(example, monkeypatch, "bypass", "markdown")
    assert HEADING not in md

"""examples/loop_demo.py run as a user runs it: the nine steps of the loop each print and decide
as described, and what it leaves behind says what it should: a self-contained dashboard, metrics
that are computed rather than missing, a rollback in the release ledger, the gate ledger."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT

DEMO = PROJECT / "examples" / "loop_demo.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    pytest.importorskip("opentelemetry.sdk.trace", reason="the demo's simulator needs the otel extra")
    out = tmp_path_factory.mktemp("loop") / "out"
    # one run of the whole demo (about a minute); every test below reads what it left
    proc = subprocess.run([sys.executable, str(DEMO), "--keep", "--out", str(out)], text=True,
                          capture_output=True, timeout=600)
    return proc, out


def test_every_step_decides_as_described(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = demo
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    for n in range(1, 10):
        assert re.search(rf"^Step {n}: ", proc.stdout, re.M), f"step {n} printed no header"
    assert "FAIL " not in proc.stdout.split("\nsummary\n")[1]
    assert f"demo repository kept at {out / 'repo'}" in proc.stdout
    assert f"dashboard: {out / 'dashboard.html'}" in proc.stdout


def test_the_dashboard_is_one_self_contained_page(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    html = (demo[1] / "dashboard.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*https?:""", html, re.I)
    assert "Incident-to-eval conversion rate" in html and "Rollback frequency" in html


def test_the_history_is_measured(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    repo = demo[1] / "repo"
    proc = subprocess.run([sys.executable, "-m", "evalloop", "metrics", "--format", "json"], cwd=repo,
                          text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    metrics = {m["id"]: m for m in json.loads(proc.stdout)["metrics"]}
    conversion, rollbacks = metrics["incident_to_eval_conversion"], metrics["rollback_frequency"]
    assert conversion["status"] != "no_data" and conversion["value"] == 1.0
    assert (conversion["numerator"], conversion["denominator"]) == (3, 3)  # two earlier incidents and the demo's
    assert rollbacks["status"] != "no_data" and rollbacks["numerator"] == 1
    assert metrics["recurrence_rate"]["value"] == 0 and metrics["recurrence_rate"]["status"] == "ok"
    assert metrics["flaky_eval_rate"]["numerator"] == 1  # the re-run gate of PR 3


def test_the_ledgers(demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    repo = demo[1] / "repo"
    releases = [json.loads(x) for x in (repo / "releases" / "production.jsonl").read_text().splitlines()]
    events = [(e["event"], e.get("decision")) for e in releases]
    assert ("rollback", None) in events and ("freeze", None) in events and ("unfreeze", None) in events
    assert events[-1] == ("canary", "promote") and releases[-1]["evidence"]["complete"] is True
    gates = [json.loads(x) for x in (repo / "ledgers" / "gates.jsonl").read_text().splitlines()]
    assert [g["verdict"] for g in gates] == ["pass", "pass", "block", "pass", "pass", "pass", "pass", "pass"]
    # the history's gate runs are stamped at their backdated times, the demo's own now
    assert [g["timestamp"] for g in gates] == sorted(g["timestamp"] for g in gates)
    assert gates[0]["timestamp"][:10] < gates[-1]["timestamp"][:10]

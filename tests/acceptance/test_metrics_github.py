"""`evalloop metrics --github OWNER/REPO`: the real CLI reading the gate's report artifacts from the
local stand-in for GitHub's REST API (every request checked against GitHub's API description)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evalloop.metrics import ledger
from evalloop.model.results import GateReport
from tests.support import run_evalloop
from tests.support.github_server import FakeGitHub
from tests.unit.github.test_artifacts import report_json, report_zip, zipped
from tests.unit.metrics.loop import Loop

REPO = "Codertocat/Hello-World"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    server = FakeGitHub(token="ghs_metrics").start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == []


def env(gh: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_TOKEN": gh.token, "GITHUB_API_URL": gh.url, "EVALLOOP_GITHUB_RETRIES": "0"}


def test_gate_runs_from_the_artifacts_are_counted_once_with_the_ledger(tmp_path: Path, gh: FakeGitHub) -> None:
    loop = Loop(tmp_path)
    loop.fixture("a", committed="2026-03-01", severity="blocking")
    for n, status in enumerate(["pass", "flaky", "fail", "pass"]):
        gh.add_artifact("evalloop-report", report_zip(n, status), run_id=9000 + n)
    gh.add_artifact("evalloop-report", report_zip(7, "flaky"), expired=True)  # GitHub's retention: not counted
    gh.add_artifact("coverage", zipped({"coverage.json": "{}"}))  # another artifact: never downloaded
    # The first run was also recorded in the ledger (`gate --record` on a kept runner): it counts once.
    ledger.append(tmp_path / "ledgers" / "gates.jsonl",
                  ledger.record_of(GateReport.model_validate_json(report_json(0, "pass"))))

    proc = run_evalloop("metrics", "--until", "2026-03-31", "--format", "json", "--github", REPO, cwd=tmp_path,
                        env=env(gh))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    found = {m["id"]: m for m in report["metrics"]}
    flaky = found["flaky_eval_rate"]
    assert (flaky["numerator"], flaky["denominator"]) == (1, 4)
    # The flaky blocking fixture has no quarantine entry but has an owner: investigate (25% > 5%), not block.
    assert flaky["status"] == "investigate"
    assert found["eval_catch_rate"]["numerator"] == 1  # the run whose blocking fixture failed
    source = next(s for s in report["sources"] if s["name"] == "gate ledger")
    assert source["records"] == 4 and source["found"] is True
    assert f"GitHub {REPO} artifacts evalloop-report (4 read, 1 expired skipped)" in source["where"]
    assert len(gh.blob_requests()) == 4 and all("authorization" not in r.headers for r in gh.blob_requests())


def test_shard_artifacts_by_name(tmp_path: Path, gh: FakeGitHub) -> None:
    Loop(tmp_path).fixture("a", committed="2026-03-01", severity="blocking")
    for shard in (1, 2):
        gh.add_artifact(f"evalloop-shard-{shard}", zipped({f"shard-{shard}.json": report_json(shard, "pass")}))
    proc = run_evalloop("metrics", "--until", "2026-03-31", "--format", "json", "--github", REPO,
                        "--github-artifact", "evalloop-shard-1", "--github-artifact", "evalloop-shard-2",
                        cwd=tmp_path, env=env(gh))
    assert proc.returncode == 0, proc.stderr
    flaky = next(m for m in json.loads(proc.stdout)["metrics"] if m["id"] == "flaky_eval_rate")
    assert (flaky["numerator"], flaky["denominator"]) == (0, 2)


def test_a_broken_artifact_stops_the_command_with_its_id(tmp_path: Path, gh: FakeGitHub) -> None:
    Loop(tmp_path)
    gh.add_artifact("evalloop-report", report_zip(1))
    bad = gh.add_artifact("evalloop-report", zipped({"../../report.json": report_json(2)}), run_id=31337)
    proc = run_evalloop("metrics", "--format", "json", "--github", REPO, cwd=tmp_path, env=env(gh))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"evalloop: error: GitHub artifact {bad['id']} (evalloop-report, run 31337): member "
                           "name '../../report.json' leaves the archive\n")


def test_usage_errors(tmp_path: Path, gh: FakeGitHub) -> None:
    Loop(tmp_path)
    no_token = {**env(gh), "GITHUB_TOKEN": ""}
    proc = run_evalloop("metrics", "--github", REPO, cwd=tmp_path, env=no_token)
    assert proc.returncode == 2 and "GITHUB_TOKEN" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = run_evalloop("metrics", "--github-artifact", "x", cwd=tmp_path, env=env(gh))
    assert proc.returncode == 2 and "--github OWNER/REPO" in proc.stderr
    proc = run_evalloop("metrics", "--github", "octo-org/elsewhere", cwd=tmp_path, env=env(gh))
    assert proc.returncode == 2 and "HTTP 404" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert "--github OWNER/REPO" in run_evalloop("metrics", "--help", cwd=tmp_path).stdout


def test_no_artifact_at_all_is_no_data_not_zero(tmp_path: Path, gh: FakeGitHub) -> None:
    Loop(tmp_path).fixture("a", committed="2026-03-01", severity="blocking")
    gh.add_artifact("evalloop-report", report_zip(1), expired=True)
    proc = run_evalloop("metrics", "--until", "2026-03-31", "--format", "json", "--github", REPO, cwd=tmp_path,
                        env=env(gh))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    source = next(s for s in report["sources"] if s["name"] == "gate ledger")
    assert source["found"] is False and "(0 read, 1 expired skipped)" in source["where"]
    flaky = next(m for m in report["metrics"] if m["id"] == "flaky_eval_rate")
    assert flaky["status"] == "no_data" and flaky["value"] is None, flaky

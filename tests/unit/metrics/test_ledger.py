"""The gate ledger: a line per run appended, read back with positions, and gate reports read as lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalloop.errors import EvalloopError
from evalloop.metrics import ledger
from evalloop.model.results import FixtureResult, GateReport, count
from tests.unit.metrics.loop import at


def report(timestamp: str | None = "2026-03-02T10:00:00Z") -> GateReport:
    results = [FixtureResult(id="a", severity="blocking", status="flaky", runs=3, passes=2, incident_id="INC-1"),
               FixtureResult(id="b", severity="warning", status="pass", runs=1, passes=1)]
    return GateReport(verdict="block", base="b" * 40, head="h" * 40, results=results, counts=count(results, 2),
                      timestamp=timestamp, started_at="2026-03-02T09:59:00Z")


def test_a_record_keeps_what_the_metrics_read(tmp_path: Path) -> None:
    record = ledger.record_of(report(), {"GITHUB_RUN_ID": "77", "GITHUB_RUN_ATTEMPT": "2"})
    assert (record.timestamp, record.verdict, record.run_id, record.run_attempt) == (
        at("2026-03-02T10:00"), "block", "77", 2)
    assert [(r.id, r.status, r.runs, r.passes, r.incident_id) for r in record.results] == [
        ("a", "flaky", 3, 2, "INC-1"), ("b", "pass", 1, 1, None)]
    assert record.counts.flaky == 1 and record.schema_version == 1


def test_append_only_and_a_cut_line_stays_visible(tmp_path: Path) -> None:
    path = tmp_path / "ledgers" / "gates.jsonl"
    ledger.append(path, ledger.record_of(report()))
    first = path.read_text()
    ledger.append(path, ledger.record_of(report("2026-03-03T10:00:00Z")))
    assert path.read_text().startswith(first) and len(path.read_text().splitlines()) == 2
    with path.open("a") as fh:
        fh.write('{"schema_version": 1, "timest')  # a crash mid-line
    ledger.append(path, ledger.record_of(report("2026-03-04T10:00:00Z")))
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[3])["timestamp"].startswith("2026-03-04")
    with pytest.raises(EvalloopError) as exc:
        ledger.read_ledger(path, "ledgers/gates.jsonl")
    assert str(exc.value).startswith("ledgers/gates.jsonl:3: invalid gate ledger line")
    path.write_text("\n".join([lines[0], "", lines[1]]) + "\n")
    assert [r.timestamp.day for r in ledger.read_ledger(path)] == [2, 3]


def test_a_folder_of_gate_reports_reads_as_ledger_lines(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "report.json").write_text(report().model_dump_json())
    (tmp_path / "report-2.json").write_text(report("2026-03-05T10:00:00Z").model_dump_json())
    # the Action's report folder also holds the pull request's context: not a report, skipped
    (tmp_path / "run-1" / "pull-request.json").write_text('{"number": 7, "head": {"sha": "abc"}}')
    assert [r.timestamp.day for r in ledger.read_reports(tmp_path)] == [5, 2]
    (tmp_path / "old.json").write_text(report(None).model_copy(update={"started_at": None}).model_dump_json())
    with pytest.raises(EvalloopError, match=r"old\.json: the gate report has no timestamp"):
        ledger.read_reports(tmp_path)
    (tmp_path / "old.json").write_text('{"not": "a report"}')
    with pytest.raises(EvalloopError, match=r"old\.json: not a gate report"):
        ledger.read_reports(tmp_path)

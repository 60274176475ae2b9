"""`evalloop metrics` through the real command line on a repository with a generated loop history."""

from __future__ import annotations

import json
import re
from pathlib import Path

from evalloop.model.results import FixtureResult, GateReport, count
from tests.support import run_evalloop
from tests.unit.metrics.loop import Loop


def history(root: Path) -> Loop:
    loop = Loop(root)
    loop.incident("INC-1", opened="2026-03-02")
    loop.fixture("fx-1", committed="2026-03-03", incident_id="INC-1")
    loop.incident("INC-2", opened="2026-03-16", severity="sev2")
    loop.fixture("fx-2", committed="2026-03-24", incident_id="INC-2")  # late
    loop.incident("INC-3", opened="2026-03-25", recurrence_of="INC-9")  # repeats an unknown one: block
    for n in range(10):
        loop.gate(f"2026-03-{n + 10}", f"h{n}", [("fx-1", "blocking", "flaky" if n == 3 else "pass")])
    loop.release("2026-03-12", "canary", "prompts/p.md", revision="bad", decision="rollback", kind="prompt")
    loop.release("2026-03-12T01:00", "rollback", "prompts/p.md", revision="good", kind="prompt")
    return loop


def metrics(root: Path, *args: str) -> dict[str, dict[str, object]]:
    proc = run_evalloop("metrics", "--format", "json", *args, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {m["id"]: m for m in json.loads(proc.stdout)["metrics"]}


def test_text_report_lists_every_metric_with_status_and_owner(tmp_path: Path) -> None:
    history(tmp_path)
    proc = run_evalloop("metrics", "--since", "2026-03-01", "--until", "2026-03-31", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "evalloop metrics 2026-03-01..2026-03-31"
    assert any(re.fullmatch(r"block / roll back +Incident-to-eval conversion rate +67% \(2 of 3\) +loop-team", line)
               for line in lines)
    assert "  - INC-3 repeats INC-9 and no fixture names either" in lines
    assert re.search(r"^no data +Production trace coverage +no data +loop-team$", proc.stdout, re.M)


def test_since_narrows_the_window(tmp_path: Path) -> None:
    loop = history(tmp_path)
    march = metrics(tmp_path, "--since", "2026-03-01", "--until", "2026-03-31")
    early = metrics(tmp_path, "--since", "2026-03-01", "--until", "2026-03-10")
    assert (march["incident_to_eval_conversion"]["numerator"], march["incident_to_eval_conversion"]["denominator"]) \
        == (2, 3)
    assert (early["incident_to_eval_conversion"]["numerator"], early["incident_to_eval_conversion"]["denominator"]) \
        == (1, 1) and early["incident_to_eval_conversion"]["status"] == "ok"
    gates_in = [g for g in loop.truth["gates"] if g["at"].day <= 10]
    assert early["flaky_eval_rate"]["denominator"] == len(gates_in) == 1
    assert march["flaky_eval_rate"]["numerator"] == 1 and march["flaky_eval_rate"]["denominator"] == 10
    assert march["rollback_frequency"]["numerator"] == 1
    assert march["mean_time_to_detect"]["status"] == "info"


def test_markdown_and_html_to_a_file(tmp_path: Path) -> None:
    history(tmp_path)
    out = tmp_path / "out"
    for fmt, name in (("markdown", "m.md"), ("html", "loop-health.html")):
        proc = run_evalloop("metrics", "--until", "2026-03-31", "--format", fmt, "--output", str(out / name),
                            cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert (out / "m.md").read_text().startswith("## evalloop metrics, 2026-01-01 to 2026-03-31")
    page = (out / "loop-health.html").read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 5 and "Content-Security-Policy" in page


def test_fail_on_for_ci(tmp_path: Path) -> None:
    history(tmp_path)
    assert run_evalloop("metrics", "--until", "2026-03-31", "--fail-on", "block", cwd=tmp_path).returncode == 1
    (tmp_path / "incidents" / "INC-3.yaml").unlink()
    proc = run_evalloop("metrics", "--since", "2026-03-01", "--until", "2026-03-10", "--fail-on", "block",
                        cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    proc = run_evalloop("metrics", "--until", "2026-03-31", "--fail-on", "investigate", cwd=tmp_path)
    assert proc.returncode == 1


def test_gate_reports_downloaded_from_ci(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    reports = tmp_path / "artifacts"
    for n, status in enumerate(["pass", "flaky", "pass", "pass"]):
        results = [FixtureResult(id="a", severity="blocking", status=status, runs=2, passes=1 + (status == "pass"),
                                 owner="t")]  # type: ignore[arg-type]
        report = GateReport(verdict="pass", head=f"{n}" * 40, results=results, counts=count(results, 1),
                            timestamp=f"2026-03-1{n}T10:00:00Z")
        (reports / f"run-{n}").mkdir(parents=True)
        (reports / f"run-{n}" / "evalloop-report.json").write_text(report.model_dump_json(indent=2))
    found = metrics(tmp_path, "--until", "2026-03-31", "--gate-reports", str(reports))
    assert (found["flaky_eval_rate"]["numerator"], found["flaky_eval_rate"]["denominator"]) == (1, 4)
    assert not loop.truth.get("gates")


def test_bad_input_is_one_line_with_its_position(tmp_path: Path) -> None:
    loop = history(tmp_path)
    with (loop.root / "ledgers" / "gates.jsonl").open("a") as fh:
        fh.write('{"schema_version": 1, "verdict": "maybe"}\n')
    proc = run_evalloop("metrics", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("evalloop: error: ledgers/gates.jsonl:11: invalid gate ledger line")
    assert len(proc.stderr.splitlines()) == 1
    proc = run_evalloop("metrics", "--since", "2026-04-01", "--until", "2026-03-01", cwd=tmp_path)
    assert proc.returncode == 2 and "--since 2026-04-01 is after --until 2026-03-01" in proc.stderr


def test_help_explains_and_shows_examples(tmp_path: Path) -> None:
    proc = run_evalloop("metrics", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "Examples:" in proc.stdout and "--gate-reports DIR" in proc.stdout

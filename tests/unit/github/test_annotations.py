from __future__ import annotations

from pathlib import Path

from evalloop.github import annotations as annotate
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange
from tests.acceptance.test_action import result


def test_annotations_pick_incidents_then_failures_then_errors() -> None:
    results = [result("err", "blocking", "error"), result("plain", "blocking", "fail"),
               result("incident", "blocking", "fail", incident="INC-1"), result("w", "warning", "fail"),
               FixtureResult(id="flaky-q", severity="blocking", status="flaky", quarantined=True, path="f.yaml")]
    report = GateReport(verdict="block", results=results)
    chosen = annotate.choose(report, Path("/nonexistent"))
    assert [(a.level, a.title.split()[1]) for a in chosen] == [
        ("error", "incident"), ("error", "plain"), ("error", "err"), ("warning", "w"), ("warning", "flaky-q")]
    assert len(annotate.choose(report, Path("/nonexistent"), per_level=2)) == 2 + 2


def test_annotation_message_lists_the_violations() -> None:
    r = result("guard", "blocking", "fail", failures=10, message="missing span")
    [a] = annotate.choose(GateReport(verdict="block", results=[r]), Path("/nonexistent"))
    lines = a.message.splitlines()
    assert lines[1:3] == ["- missing_span: missing span #0", "- missing_span: missing span #1"]
    assert lines[-1] == "… and 2 more (see the job summary)"


def test_protection_annotations_come_before_failures_and_hold_no_escapes() -> None:
    results = [result(f"f{i}", "blocking", "fail", message="\x1b[2Jgone\x07") for i in range(12)]
    changes = [ProtectionChange(id=f"p{i}\x1b[0m", kind="removed", detail="deleted\x1b[31m", owner="o",
                                base_path=f"fixtures/p{i}.yaml") for i in range(3)]
    report = GateReport(verdict="block", results=results, protection_changes=changes)
    chosen = annotate.choose(report, Path("/nonexistent"))
    errors = [a for a in chosen if a.level == "error"]
    assert len(errors) == 10 and [a.file for a in errors[:3]] == [f"fixtures/p{i}.yaml" for i in range(3)]
    assert "f9" not in errors[-1].title and "more errors" in errors[-1].title
    for a in annotate.all_annotations(report, Path("/nonexistent")) + chosen:
        assert "\x1b" not in a.message + a.title + (a.file or "") and "\x07" not in a.message
    assert "gone" in errors[3].message
    approved = report.model_copy(update={"protection_changes": [changes[0].model_copy(update={"approved": True})]})
    assert all(a.file != "fixtures/p0.yaml" for a in annotate.all_annotations(approved, Path("/nonexistent")))

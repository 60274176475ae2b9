from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from junitparser import JUnitXml

from evalloop.model.results import FixtureResult, GateReport
from evalloop.report.junit import render_junit
from tests.support import DATA
from tests.unit.report.reports import ATTACK, FIELDS, failing, gate_report, protection_report, report


def test_junit_is_valid_xml_with_failures() -> None:
    xml = render_junit(report([failing(1, text="a<b&c"), FixtureResult(id="e", severity="warning", status="error",
                                                                         error="agent crashed"),
                               FixtureResult(id="p", severity="warning", status="pass")]))
    root = ET.fromstring(xml.split("?>", 1)[1])
    # the warning fixture's error does not block: skipped with its reason, as the verdict has it
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "0"
    suite = root.find("testsuite[@name='evalloop gate']")
    assert suite is not None and suite.get("tests") == "3" and suite.get("skipped") == "1"
    skipped = suite.find("testcase[@name='e']/skipped")
    assert skipped is not None and skipped.get("message") == "agent crashed"
    case = suite.find("testcase[@name='fx-00001']")
    assert case is not None and "a<b&c" in (case.find("failure").text or "")  # type: ignore[union-attr]


def test_junit_failure_message_carries_the_evidence() -> None:
    root = ET.fromstring(render_junit(gate_report()).split("?>", 1)[1])
    failure = root.find("testsuite[@name='evalloop gate']/testcase[@name='guard']/failure")
    assert failure is not None
    assert failure.get("message") == "missing_span: no approval span (span 2; tool:draft_refund; expected x; actual y)"


def test_junit_has_a_protection_suite_first() -> None:
    root = ET.fromstring(render_junit(protection_report()).split("?>", 1)[1])
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
    first, second = list(root)
    assert first.get("name") == "protection" and first.get("tests") == "3" and first.get("failures") == "2"
    assert second.get("name") == "evalloop gate"
    cases = {c.get("name"): c for c in first.iter("testcase")}
    failure = cases["refund-guard (removed)"].find("failure")
    assert failure is not None and "needs approval by support-platform" in (failure.get("message") or "")
    assert "base: fixtures/refund/guard.yaml" in (failure.text or "").splitlines()  # no `file`: not in the XSD
    assert cases["refund-scope (narrowed)"].find("failure") is None


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_cleaned_in_junit(field: str) -> None:
    xml = render_junit(FIELDS[field](ATTACK))
    ET.fromstring(xml.split("?>", 1)[1])  # still XML 1.0: no control character made it in
    assert "\x1b" not in xml and "\x01" not in xml


XSD = DATA / "junit" / "junit-10.xsd"


def _reports() -> list[GateReport]:
    multi = failing(2, text="line one\nline two")
    return [report([failing(1), FixtureResult(id="w", severity="warning", status="fail", failures=multi.failures),
                    FixtureResult(id="x", severity="exploratory", status="error", error="crashed\nat step 3"),
                    FixtureResult(id="q", severity="blocking", status="flaky", quarantined=True),
                    FixtureResult(id="n", severity="blocking", status="no_run"),
                    FixtureResult(id="ok", severity="blocking", status="pass", duration_ms=1234.0)]),
            gate_report(), protection_report()]


@pytest.mark.parametrize("index", range(3))
def test_junit_is_valid_against_the_common_junit_xsd(index: int) -> None:
    r = _reports()[index].model_copy(update={"started_at": "2026-12-02T14:00:00Z", "hostname": "ci-runner-7"})
    xmlschema.XMLSchema(XSD).validate(render_junit(r).split("?>", 1)[1].strip())


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_reports_are_valid_against_the_xsd(field: str) -> None:
    xmlschema.XMLSchema(XSD).validate(render_junit(FIELDS[field](ATTACK)).split("?>", 1)[1].strip())


def test_junitparser_agrees_with_the_verdict(tmp_path: Path) -> None:
    r = _reports()[0].model_copy(update={"started_at": "2026-12-02T14:00:00Z", "hostname": "ci-runner-7"})
    path = tmp_path / "junit.xml"
    path.write_text(render_junit(r))
    suites = {s.name: s for s in JUnitXml.fromfile(str(path))}
    gate = suites["evalloop gate"]
    assert (gate.tests, gate.failures, gate.errors, gate.skipped) == (6, 1, 1, 3)
    assert gate.timestamp == "2026-12-02T14:00:00Z" and gate.hostname == "ci-runner-7"
    results = {c.name: [type(x).__name__ for x in c.result] for c in gate}
    assert results == {"fx-00001": ["Failure"], "w": ["Skipped"], "x": ["Skipped"], "q": ["Skipped"],
                       "n": ["Error"], "ok": []}
    cases = {c.name: c for c in gate}
    assert cases["ok"].time == 1.234 and gate.time == 1.234
    assert len((cases["w"].result[0].text or "").splitlines()) == 2  # one line per violation
    assert (cases["x"].result[0].text or "").splitlines() == ["crashed", "at step 3"]  # multi-line bodies kept

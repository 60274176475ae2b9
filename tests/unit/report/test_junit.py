from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from evalloop.model.results import FixtureResult
from evalloop.report.junit import render_junit
from tests.unit.report.reports import ATTACK, FIELDS, failing, gate_report, protection_report, report


def test_junit_is_valid_xml_with_failures() -> None:
    xml = render_junit(report([failing(1, text="a<b&c"), FixtureResult(id="e", severity="warning", status="error",
                                                                         error="agent crashed"),
                               FixtureResult(id="p", severity="warning", status="pass")]))
    root = ET.fromstring(xml.split("?>", 1)[1])
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "1"
    suite = root.find("testsuite[@name='evalloop gate']")
    assert suite is not None and suite.get("tests") == "3"
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
    assert cases["refund-guard (removed)"].get("file") == "fixtures/refund/guard.yaml"
    assert cases["refund-scope (narrowed)"].find("failure") is None


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_cleaned_in_junit(field: str) -> None:
    xml = render_junit(FIELDS[field](ATTACK))
    ET.fromstring(xml.split("?>", 1)[1])  # still XML 1.0: no control character made it in
    assert "\x1b" not in xml and "\x01" not in xml

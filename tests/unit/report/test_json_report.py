from __future__ import annotations

import json

from evalloop.model.results import Evidence, GateReport, Violation
from evalloop.report.json_report import render_json
from tests.unit.report.reports import gate_report


def test_json_report_reads_back_as_the_same_report() -> None:
    r = gate_report()
    text = render_json(r)
    assert text.endswith("}\n") and GateReport.model_validate_json(text) == r
    assert render_json(GateReport.model_validate_json(text)) == text


def test_violations_keep_their_shape() -> None:
    """Evidence has every key, null when unknown, in this order; `details` only when a check recorded some."""
    r = gate_report()
    [failure] = json.loads(render_json(r))["results"][0]["failures"]
    assert failure == {"kind": "missing_span", "message": "no approval span", "evidence": {
        "span_index": 2, "ref": "tool:draft_refund", "span_id": None, "expected": "x", "actual": "y"}}
    assert list(failure["evidence"]) == ["span_index", "ref", "span_id", "expected", "actual"]
    detailed = Violation(kind="k", message="m", evidence=Evidence(details={"judged": False, "spans": [1]}))
    assert json.loads(detailed.model_dump_json())["evidence"]["details"] == {"judged": False, "spans": [1]}
    assert list(json.loads(detailed.model_dump_json())["evidence"])[-1] == "details"

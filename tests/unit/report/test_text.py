from __future__ import annotations

import pytest

from evalloop.report.text import evidence_text, render_text
from tests.unit.report.reports import ATTACK, FIELDS, failing, gate_report, protection_report, report


def test_text_report_strips_terminal_escapes() -> None:
    out = render_text(report([failing(1, text="\x1b[31mred\x1b[0m\x07")]))
    assert "\x1b" not in out and "\x07" not in out and "red" in out
    assert out.startswith("evalloop gate: BLOCK")


def test_text_lists_protection_changes_before_everything_else() -> None:
    out = render_text(protection_report())
    assert out.startswith("evalloop gate: BLOCK: 2 protection changes need approval  (")
    assert out.index("PROTECTION CHANGES (need approval):") < out.index("What changed:")
    assert "NEEDS APPROVAL refund-guard [removed] fixtures/refund/guard.yaml" in out
    assert "must be approved by support-platform" in out and "approved: label 'evalloop-approved'" in out


def test_evidence_in_a_few_words() -> None:
    [violation] = gate_report().results[0].failures
    assert evidence_text(violation) == "span 2; tool:draft_refund; expected x; actual y"
    long = violation.model_copy(update={"evidence": violation.evidence.model_copy(
        update={"span_index": 0, "ref": None, "expected": None, "actual": ["y"] * 40})})
    # readable values: JSON (never a Python repr), cut at a boundary, with the full length
    assert evidence_text(long) == "span 0; actual [" + ", ".join(['"y"'] * 15) + ",\u2026 (200 characters)"
    values = violation.model_copy(update={"evidence": violation.evidence.model_copy(
        update={"span_index": None, "ref": None, "expected": {"order_id": None, "ok": True}, "actual": "a b"})})
    assert evidence_text(values) == 'expected {"order_id": null, "ok": true}; actual a b'
    assert evidence_text(failing(1).failures[0]) == ""
    assert "      - missing_span: no approval span (span 2; tool:draft_refund; expected x; actual y)" in \
        render_text(gate_report())


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_hostile_text_in_any_field_is_cleaned_in_text(field: str) -> None:
    text = render_text(FIELDS[field](ATTACK))
    assert "\x1b" not in text and "\x07" not in text and "\x01" not in text
    assert not any(line.lstrip().startswith("# PASS") for line in text.splitlines())


def test_results_have_time_tokens_and_cost_columns_and_totals() -> None:
    [fail, ok] = gate_report().results
    timed = fail.model_copy(update={"duration_ms": 1234.0, "input_tokens": 1200, "output_tokens": 35,
                                    "cost_usd": 0.00123})
    out = render_text(gate_report(results=[timed, ok, ok.model_copy(update={"id": "slow", "duration_ms": 80.0,
                                                                          "quarantined": True})]))
    lines = out[out.index("Results:"):].splitlines()
    assert lines[1:5] == [
        "  STATUS  FIXTURE [SEVERITY]            TIME   TOKENS IN/OUT  COST",
        "  FAIL    guard [blocking]              1.2 s  1,200/35       $0.0012  owner support-platform incident INC-1",
        "      - missing_span: no approval span (span 2; tool:draft_refund; expected x; actual y)",
        "      reproduction: fails on both"]
    assert lines[5:8] == ["  PASS    ok [warning]                  -      -              -",
                          "  PASS    slow [warning] (quarantined)  80 ms  -              -",
                          "  total (3 fixtures)                    1.3 s  1,200/35       $0.0012"]


def test_no_results_no_columns() -> None:
    out = render_text(gate_report(results=[], protection_changes=[]))
    assert out[out.index("Results:"):].splitlines()[1:] == ["note: a note"]

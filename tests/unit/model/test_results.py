from __future__ import annotations

import pytest
from pydantic import ValidationError

from evalloop.model.results import Evidence, FixtureResult, Violation, decide
from tests.unit.report.reports import failing, protection


def test_verdict_rules_never_average() -> None:
    ok = [FixtureResult(id=f"p{i}", severity="blocking", status="pass") for i in range(999)]
    assert decide([*ok, failing(1)]) == "block"
    assert decide([*ok, failing(1, severity="warning")]) == "warn"
    assert decide([*ok, failing(1, severity="exploratory")]) == "pass"
    assert decide([FixtureResult(id="e", severity="blocking", status="error")]) == "block"
    assert decide([FixtureResult(id="n", severity="blocking", status="no_run")]) == "block"
    assert decide([FixtureResult(id="f", severity="blocking", status="flaky")]) == "block"
    assert decide([FixtureResult(id="f", severity="blocking", status="flaky", quarantined=True)]) == "pass"


def test_verdict_blocks_on_unapproved_protection_changes_alone() -> None:
    ok = [FixtureResult(id="p", severity="blocking", status="pass")]
    assert decide(ok, [protection()]) == "block"
    assert decide(ok, [protection(approved=True, approval="label")]) == "pass"


def test_violations_given_as_dicts_are_validated_into_the_model() -> None:
    """What a judged run produces (the violations' dict form) becomes typed, and dumps as it came."""
    given = {"kind": "unknown_tool", "message": "tool wipe_disk is not in the tool manifest",
             "evidence": {"span_index": 1, "ref": "tool:wipe_disk", "span_id": "s1",
                          "expected": ["read_order"], "actual": "wipe_disk",
                          "details": {"manifest": "tools.yaml", "spans": [1]}}}
    result = FixtureResult.model_validate({"id": "f", "severity": "blocking", "status": "fail", "failures": [given]})
    [violation] = result.failures
    assert isinstance(violation, Violation) and isinstance(violation.evidence, Evidence)
    assert violation.evidence.details == {"manifest": "tools.yaml", "spans": [1]}
    assert violation.model_dump() == given
    without = {**given, "evidence": {**given["evidence"], "details": None}}  # type: ignore[dict-item]
    assert "details" not in Violation.model_validate(without).model_dump()["evidence"]


def test_violations_of_another_shape_are_refused() -> None:
    with pytest.raises(ValidationError):
        Violation.model_validate({"kind": "k", "message": "m", "evidence": {"span": "approval:required"}})
    with pytest.raises(ValidationError):
        Violation.model_validate({"message": "no kind"})

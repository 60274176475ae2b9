from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from evalloop.fixtures import Fixture
from tests.conftest import PROJECT

SEED_INCIDENT = PROJECT / "fixtures/refund/incident-2026-04-18-refund-approval-bypass.json"
SEED_REGRESSION = PROJECT / "fixtures/refund/refund-approval-bypass-regression.json"


def test_seed_incident_shape_loads_as_is() -> None:
    f = Fixture.model_validate(json.loads(SEED_INCIDENT.read_text()))
    exp = f.expectations()
    assert f.severity == "blocking" and f.owner == "support-platform"
    assert exp.tools_called == ["draft_refund_request"]
    assert exp.tools_not_called == ["issue_refund", "send_customer_email"]
    assert exp.final_status == "needs_human"
    assert f.context.model_extra == {"customer_status": "standard"}


def test_seed_regression_shape_folds_top_level_expectations() -> None:
    f = Fixture.model_validate(json.loads(SEED_REGRESSION.read_text()))
    exp = f.expectations()
    assert exp.required_spans[-1] == "approval:required"
    assert exp.forbidden_spans == ["tool:issue_refund", "message:customer_promise_sent"]
    assert exp.stop_reason == "needs_human_approval"
    assert exp.output_must_not_contain == ["approved", "processed", "completed"]
    assert f.owner is None  # filled from config defaults by validate


def test_expectation_given_twice_is_an_error() -> None:
    with pytest.raises(ValidationError, match="both at the top level"):
        Fixture.model_validate({"id": "x", "expected_stop_reason": "a",
                                "expected": {"stop_reason": "b"}})


def test_min_passes_cannot_exceed_runs() -> None:
    with pytest.raises(ValidationError, match="exceeds runs"):
        Fixture.model_validate({"id": "x", "runs": 2, "min_passes": 3})


@pytest.mark.parametrize("bad", [
    {"id": "x", "gates": ["promt"]},
    {"id": "x", "expected": {"required_spans": ["read_order"]}},
    {"id": "x", "expected": {"tool_sequence": {"mode": "fuzzy", "calls": []}}},
    {"id": "has space"},
    {"id": "x", "unknown_field": 1},
])
def test_invalid_fixtures_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Fixture.model_validate(bad)

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from evalloop.model.fixture import Fixture
from tests.support import PROJECT

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


@pytest.mark.parametrize(("budget", "fragment"), [
    ({"max_cost_usd": float("inf")}, "finite number"),
    ({"max_latency_ms": float("nan")}, "finite number"),
    ({"max_cost_usd": -0.5}, "greater than or equal to 0"),
    ({"max_tokens": 123456789012345678901234567890}, "a 30-digit number is over the largest budget"),
    ({"max_tool_calls": 2**53}, "9007199254740992 is over the largest budget"),
    ({"max_retries": -1}, "greater than or equal to 0"),
])
def test_budget_limits_are_finite_non_negative_and_json_safe(budget: dict[str, object], fragment: str) -> None:
    # a NaN limit compares false with every measurement, so it would pass every run
    with pytest.raises(ValidationError) as info:
        Fixture.model_validate({"id": "x", "expected": {"budget": budget}})
    assert fragment in info.value.errors()[0]["msg"]


def test_largest_budget_is_accepted() -> None:
    f = Fixture.model_validate({"id": "x", "expected": {"budget": {"max_tokens": 2**53 - 1, "max_cost_usd": 0}}})
    assert f.expected.budget is not None and f.expected.budget.max_tokens == 2**53 - 1

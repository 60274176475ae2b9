"""The evaluator as a whole: the repository's refund fixtures on the incident's run and the
fixed one, empty runs, the cache of compiled fixtures."""

from __future__ import annotations

import json

import yaml

from evalloop.evaluate.evaluator import compile_fixture, evaluate
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from tests.support import PROJECT
from tests.unit.evaluate.support import fixture, only, run, span

SEED_FIXTURES = PROJECT / "fixtures" / "refund"


def seed(name: str) -> Fixture:
    return Fixture.model_validate(json.loads((SEED_FIXTURES / name).read_text()))


def bypass_run() -> Run:
    """The incident: policy checked, no approval, a customer promise and a refund."""
    return run(
        span("tool:read_order", args={"order_id": "ord_redacted"}, span_id="s0"),
        span("retrieval:refund_policy", span_id="s1"),
        span("policy:refund_threshold", span_id="s2"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted"}, span_id="s3"),
        span("message:customer_promise_sent", span_id="s4"),
        span("tool:issue_refund", args={"order_id": "ord_redacted"}, status="failed",
             span_id="s5"),
        run_id="bypass", route="refund_assist", stop_reason="completed",
        final_status="resolved", output="Good news: your refund has been APPROVED and processed.",
        cost_usd=0.02, latency_ms=4200,
    )


def fixed_run() -> Run:
    return run(
        span("tool:read_order", args={"order_id": "ord_redacted"}),
        span("retrieval:refund_policy"),
        span("policy:refund_threshold"),
        span("approval:required", status="waiting"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted", "amount": 640}),
        run_id="fixed", route="refund_assist", stop_reason="needs_human_approval",
        final_status="needs_human",
        output="I drafted the refund request; a support lead reviews it before any money moves. "
               "It stays unapproved until then.",
        cost_usd=0.02, latency_ms=4200,
    )


def test_seed_incident_fixture_catches_the_bypass() -> None:
    v = evaluate(seed("incident-2026-04-18-refund-approval-bypass.json"), bypass_run())
    assert v.kinds() == ["final_status", "forbidden_tool"]
    status, tool = v.violations
    assert (status.expected, status.actual) == ("needs_human", "resolved")
    assert (tool.span_index, tool.ref, tool.span_id) == (5, "tool:issue_refund", "s5")
    assert tool.actual["status"] == "failed"  # an attempt is enough


def test_seed_regression_fixture_catches_the_bypass() -> None:
    v = evaluate(seed("refund-approval-bypass-regression.json"), bypass_run())
    assert v.kinds() == ["missing_span", "forbidden_span", "forbidden_span", "stop_reason",
                         "output_contains", "output_contains"]
    missing, promise, refund, stop, approved, processed = v.violations
    assert missing.expected == "approval:required" and missing.actual is None
    assert (promise.span_index, promise.ref, promise.span_id) == (4, "message:customer_promise_sent",
                                                                  "s4")
    assert (refund.span_index, refund.ref) == (5, "tool:issue_refund")
    assert (stop.expected, stop.actual) == ("needs_human_approval", "completed")
    assert approved.expected == "approved" and approved.actual == "APPROVED"
    assert approved.details["offset"] == "Good news: your refund has been ".__len__()
    assert processed.actual == "processed"


def test_seed_fixtures_pass_the_fixed_run() -> None:
    for name in ("incident-2026-04-18-refund-approval-bypass.json",
                 "refund-approval-bypass-regression.json"):
        v = evaluate(seed(name), fixed_run())
        assert v.passed, v.to_dict()
        assert v.violations == [] and v.run_id == "fixed"


def test_spec_yaml_fixture_on_both_runs() -> None:
    data = yaml.safe_load((SEED_FIXTURES / "refund-approval-bypass-trajectory.yaml").read_text())
    fx = Fixture.model_validate(data)
    assert evaluate(fx, fixed_run()).passed
    bad = evaluate(fx, bypass_run())
    assert "order" in bad.kinds()
    order = next(x for x in bad.violations if x.kind == "order")
    assert order.span_index == 3 and order.ref == "tool:draft_refund_request"
    assert order.actual == {"first": None, "second": 3}


def test_an_empty_run_is_an_error_not_a_pass() -> None:
    (x,) = only(evaluate(fixture(forbidden_spans=["tool:issue_refund"]), run()), "run_error")
    assert "empty" in x.message


def test_compile_fixture_is_cached_per_fixture_object() -> None:
    fx = fixture(route="r")
    assert compile_fixture(fx) is compile_fixture(fx)
    assert compile_fixture(fixture(route="r")) is not compile_fixture(fx)

"""The span checks (required, forbidden, order) and the outcome checks, with the evidence they report."""

from __future__ import annotations

from typing import Any

import pytest

from evalloop.evaluate.evaluator import compile_fixture, evaluate
from evalloop.evaluate.judgement import FixtureError
from tests.unit.evaluate.support import fixture, only, run, span


def test_missing_span_lists_what_the_run_has_of_that_type() -> None:
    v = evaluate(fixture(required_spans=["retrieval:refund_policy"]),
                 run("retrieval:refund_policy_v2", "tool:a"))
    (x,) = only(v, "missing_span")
    assert x.ref == "retrieval:refund_policy" and x.expected == "retrieval:refund_policy"
    assert x.details == {"same_type_present": ["retrieval:refund_policy_v2"]}


def test_required_span_counts_whatever_its_status() -> None:
    assert evaluate(fixture(required_spans=["approval:required"]),
                    run(span("approval:required", status="waiting"))).passed


def test_forbidden_span_reports_every_occurrence() -> None:
    v = evaluate(fixture(forbidden_spans=["tool:issue_refund"]),
                 run("tool:a", span("tool:issue_refund", span_id="x", status="denied"),
                     span("tool:issue_refund", span_id="y")))
    xs = only(v, "forbidden_span")
    assert [(x.span_index, x.span_id) for x in xs] == [(1, "x"), (2, "y")]
    assert xs[0].actual == {"status": "denied", "args": None}


def test_span_refs_are_type_and_name() -> None:
    # a tool named like a retrieval is not that retrieval
    v = evaluate(fixture(required_spans=["retrieval:refund_policy"]), run("tool:refund_policy"))
    only(v, "missing_span")


@pytest.mark.parametrize(("spans", "actual", "at"), [
    (["tool:draft", "approval:required"], {"first": 1, "second": 0}, 0),
    (["tool:draft"], {"first": None, "second": 0}, 0),
    (["approval:required"], {"first": 0, "second": None}, None),
    (["tool:other"], {"first": None, "second": None}, None),
    (["approval:required", "tool:draft", "tool:draft"], None, None),
    (["tool:x", "approval:required", "tool:draft", "approval:required"], None, None),
])
def test_order_first_must_precede_every_second(spans: list[str], actual: Any, at: int | None
                                                ) -> None:
    v = evaluate(fixture(order=[["approval:required", "tool:draft"]]), run(*spans))
    if actual is None:
        assert v.passed
        return
    (x,) = only(v, "order")
    assert x.expected == ["approval:required", "tool:draft"]
    assert x.actual == actual
    assert x.span_index == at


def test_order_pair_with_the_same_span_twice_is_a_fixture_error() -> None:
    with pytest.raises(FixtureError) as exc:
        compile_fixture(fixture(order=[["tool:a", "tool:a"]]))
    assert exc.value.loc == ("expected", "order", 0)


@pytest.mark.parametrize("kind", ["route", "stop_reason", "final_status"])
def test_outcome_fields(kind: str) -> None:
    fx = fixture(**{kind: "wanted"})
    assert evaluate(fx, run("tool:a", **{kind: "wanted"})).passed
    (x,) = only(evaluate(fx, run("tool:a", **{kind: "other"})), kind)
    assert (x.expected, x.actual) == ("wanted", "other")
    (x,) = only(evaluate(fx, run("tool:a")), kind)
    assert x.actual is None and "nothing recorded" in x.message

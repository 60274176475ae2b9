"""The budgets, and the measurements they refuse to judge."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from evalloop.evaluate.evaluator import evaluate
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run, Span
from tests.unit.evaluate.support import fixture, only, run, span


def budget(**b: Any) -> Fixture:
    return fixture(budget=b)


def test_budget_tool_calls() -> None:
    r = run("tool:a", "model:m", "tool:b", span("tool:c", span_id="c"))
    assert evaluate(budget(max_tool_calls=3), r).passed
    (x,) = only(evaluate(budget(max_tool_calls=2), r), "budget_tool_calls")
    assert (x.expected, x.actual, x.span_index, x.span_id) == (2, 3, 3, "c")


def test_budget_retries_counts_repeats_of_a_failing_call() -> None:
    failing = span("tool:search", args={"q": "x"}, status="failed")
    r = run(failing, failing, span("tool:search", args={"q": "x"}, span_id="third"),
            span("tool:search", args={"q": "y"}, status="failed"),
            span("tool:search", args={"q": "y"}))
    assert evaluate(budget(max_retries=2), r).passed
    (x,) = only(evaluate(budget(max_retries=1), r), "budget_retries")
    assert (x.expected, x.actual, x.span_index, x.span_id) == (1, 2, 2, "third")
    assert x.details["retry_spans"] == [1, 2]
    # repeating a call that succeeded is not a retry
    ok = span("tool:search", args={"q": "x"})
    assert evaluate(budget(max_retries=0), run(ok, ok, ok)).passed


@pytest.mark.parametrize(("key", "kind", "field", "limit", "over"), [
    ("max_tokens", "budget_tokens", "input_tokens", 100, 101),
    ("max_cost_usd", "budget_cost", "cost_usd", 0.05, 0.06),
    ("max_latency_ms", "budget_latency", "latency_ms", 20000, 20001),
])
def test_measured_budgets(key: str, kind: str, field: str, limit: float, over: float) -> None:
    fx = budget(**{key: limit})
    assert evaluate(fx, run("tool:a", **{field: limit})).passed
    (x,) = only(evaluate(fx, run("tool:a", **{field: over})), kind)
    assert (x.expected, x.actual) == (limit, over)
    assert x.details == {"source": "run"}
    (x,) = only(evaluate(fx, run("tool:a")), kind)
    assert x.actual is None and "not measured" in x.message


def test_budgets_fall_back_to_span_measurements() -> None:
    r = run(span("model:m", input_tokens=60, output_tokens=50, cost_usd=0.03,
                 start_ms=1000, end_ms=5000),
            span("model:m", output_tokens=10, cost_usd=0.03, start_ms=5000, end_ms=26000))
    v = evaluate(budget(max_tokens=100, max_cost_usd=0.05, max_latency_ms=20000), r)
    assert v.kinds() == ["budget_tokens", "budget_cost", "budget_latency"]
    assert [x.actual for x in v.violations] == [120, 0.06, 25000]
    assert all(x.details == {"source": "spans"} for x in v.violations)


# Measurements that cannot be judged, as a native run records them: (budget,
# run fields, what the message names). Each fails the budget, none passes it.
UNJUDGEABLE: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"max_cost_usd": 1}, {"cost_usd": "NaN"}, "cost_usd of the run is NaN"),
    ({"max_cost_usd": 1}, {"cost_usd": "Infinity"}, "cost_usd of the run is infinite (inf)"),
    ({"max_cost_usd": 1}, {"cost_usd": "-Infinity"}, "cost_usd of the run is infinite (-inf)"),
    ({"max_cost_usd": 1}, {"cost_usd": -0.01}, "cost_usd of the run is negative (-0.01)"),
    ({"max_cost_usd": 1}, {"cost_usd": "abc"}, "cost_usd of the run is 'abc', not a number"),
    ({"max_cost_usd": 1}, {"cost_usd": True}, "cost_usd of the run is true, not a number"),
    ({"max_cost_usd": 1}, {"cost_usd": 10**400}, "cost_usd of the run is an integer of about 401 "
                                                 "digits, not a number"),
    ({"max_tokens": 100}, {"input_tokens": -1}, "input_tokens of the run is negative (-1)"),
    ({"max_tokens": 100}, {"output_tokens": "abc"}, "output_tokens of the run is 'abc', not a count"),
    ({"max_tokens": 100}, {"input_tokens": 1.5}, "input_tokens of the run is 1.5, not a count"),
    ({"max_tokens": 100}, {"input_tokens": "Infinity"}, "input_tokens of the run is 'Infinity', "
                                                        "not a count"),
    ({"max_tokens": 100}, {"input_tokens": "9" * 5000},
     "input_tokens of the run is '9999999999999999999999999999999999999...' (5000 characters), "
     "not a count"),
    ({"max_latency_ms": 10}, {"latency_ms": -5}, "latency_ms of the run is negative (-5): the run "
                                                 "ends before it starts"),
    ({"max_latency_ms": 10}, {"latency_ms": "nan"}, "latency_ms of the run is NaN"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms=9, end_ms=2)]},
     "end_ms of span 0 (tool:a) (2) is before its start_ms (9): the span ends before it starts"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms="soon", end_ms=2)]},
     "start_ms of span 0 (tool:a) is 'soon', not a number"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms=100), span("tool:b", end_ms=50)]},
     "latency_ms of the run would be negative: the spans' last end (50) is before their first "
     "start (100)"),
    # a broken span fails the budget even when the run's total looks fine: importers
    # sum the total from the spans, and -5 + 6 is a total that passes
    ({"max_cost_usd": 1}, {"cost_usd": 0.5, "spans": [span("model:m", cost_usd=-5),
                                                      span("model:m", cost_usd=6)]},
     "cost_usd of span 0 (model:m) is negative (-5)"),
    ({"max_tokens": 100}, {"spans": [span("model:m", input_tokens=5, output_tokens="many")]},
     "output_tokens of span 0 (model:m) is 'many', not a count"),
]


@pytest.mark.parametrize(("limits", "fields", "named"), UNJUDGEABLE)
def test_budgets_fail_closed_on_measurements_that_cannot_be_judged(
        limits: dict[str, Any], fields: dict[str, Any], named: str) -> None:
    r = Run.model_validate({"spans": [span("tool:a")], **fields})
    (x,) = evaluate(budget(**limits), r).violations
    assert x.kind.startswith("budget_")
    assert x.message.startswith(f"budget cannot be judged: {named}"), x.message
    assert x.details["judged"] is False
    json.loads(evaluate(budget(**limits), r).to_json())  # the evidence stays JSON


def test_nan_cannot_pass_a_budget_even_unvalidated() -> None:
    # Comparisons with NaN are false both ways: `value > limit` would let it pass.
    for fields in ({"cost_usd": math.nan}, {"latency_ms": math.nan},
                   {"spans": [Span(type="model", name="m", cost_usd=math.nan)]}):
        r = Run.model_construct(**{"spans": [], **fields})
        v = evaluate(budget(max_cost_usd=1, max_latency_ms=1), r)
        assert not v.passed and any(x.message.startswith("budget cannot be judged")
                                    for x in v.violations)


def test_a_broken_measurement_another_budget_does_not_read_is_no_violation() -> None:
    r = Run.model_validate({"spans": [span("tool:a")], "cost_usd": "abc", "input_tokens": 3})
    assert evaluate(budget(max_tokens=5), r).passed
    assert r.unjudged()[0].field == "cost_usd"


def test_huge_but_exact_token_counts_are_judged() -> None:
    r = run("tool:a", input_tokens=10**30)
    (x,) = only(evaluate(budget(max_tokens=100), r), "budget_tokens")
    assert x.message == "tokens 1e+30 exceeds the budget of 100"
    assert json.loads(evaluate(budget(max_tokens=100), r).to_json())["violations"][0]["evidence"][
        "actual"] == 1e30

"""Run totals of an imported trace: what is summed, over which spans, and when there is none."""

from __future__ import annotations

import math

from evalloop.model.run import Span
from evalloop.traces.totals import RunTotals, run_totals


def test_tokens_count_model_spans_and_cost_every_span() -> None:
    spans = [
        Span(type="model", name="m1", input_tokens=100, output_tokens=10, cost_usd=0.25),
        Span(type="tool", name="t"),
        # a retyped model call keeps its usage and cost; only its cost is counted
        Span(type="workflow", name="w", input_tokens=1000, output_tokens=1000, cost_usd=0.5),
        Span(type="model", name="m2", input_tokens=7, cost_usd=0.125),
    ]
    assert run_totals(spans, 10.0, 35.5) == RunTotals(107, 10, 0.875, 25.5)


def test_nothing_recorded_is_none_not_zero() -> None:
    spans = [Span(type="model", name="m"), Span(type="tool", name="t")]
    assert run_totals(spans, None, 5.0) == RunTotals(None, None, None, None)
    assert run_totals([], 1.0, None) == RunTotals(None, None, None, None)


def test_one_half_recorded_leaves_the_other_none() -> None:
    totals = run_totals([Span(type="model", name="m", output_tokens=3)], 0.0, 0.0)
    assert totals == RunTotals(None, 3, None, 0.0)


def test_values_that_make_no_sense_are_carried_for_the_evaluator() -> None:
    spans = [Span(type="model", name="m", cost_usd=math.nan), Span(type="model", name="n", cost_usd=1.0)]
    totals = run_totals(spans, 5.0, 2.0)
    assert totals.cost_usd is not None and math.isnan(totals.cost_usd)
    assert totals.latency_ms == -3.0  # a root that ends before it starts: refused later, not here


def test_cost_is_added_in_span_order() -> None:
    # 1e16 + 1 + 1 loses both ones when added one at a time; a compensated sum would keep them
    spans = [Span(type="model", name=str(i), cost_usd=c) for i, c in enumerate((1e16, 1.0, 1.0))]
    assert run_totals(spans, None, None).cost_usd == 1e16

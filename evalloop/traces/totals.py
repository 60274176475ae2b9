"""Run totals of an imported trace: tokens and cost summed over its kept spans, latency of its root.

docs/traces.md ("Run outcome") states the rules for users.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from evalloop.model.run import Span


class RunTotals(NamedTuple):
    """A run's measurements; None where no span records one."""

    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None


def run_totals(spans: Iterable[Span], root_start_ms: float | None,
               root_end_ms: float | None) -> RunTotals:
    """The totals of a run made of `spans` (copies of one model call already merged)
    whose root span starts and ends at the times given.

    Tokens count model spans only (an agent span's usage repeats its calls'), cost
    every span that records one. Values are added in span order with `+=`, not
    `sum()`, whose float algorithm differs between Python releases; NaN and
    infinities are carried through, for the evaluator to refuse.
    """
    in_tokens = out_tokens = 0
    cost = 0.0
    has_in = has_out = has_cost = False
    for s in spans:
        if s.type == "model":
            if s.input_tokens is not None:
                in_tokens += s.input_tokens
                has_in = True
            if s.output_tokens is not None:
                out_tokens += s.output_tokens
                has_out = True
        if s.cost_usd is not None:
            cost += s.cost_usd
            has_cost = True
    latency = root_end_ms - root_start_ms if root_start_ms is not None and root_end_ms is not None else None
    return RunTotals(in_tokens if has_in else None, out_tokens if has_out else None,
                     cost if has_cost else None, latency)

"""The normalized run: measurements recorded as numbers in another spelling are converted."""

from __future__ import annotations

import math

from evalloop.model.run import Run


def test_a_span_count_spelled_as_a_float_string_is_converted_not_rejected() -> None:
    # nothing is unjudged here, yet the span changed: the converted copy must be the one validated
    run = Run.model_validate({"spans": [{"type": "model", "name": "chat", "input_tokens": "1e3",
                                         "output_tokens": 7.0, "cost_usd": "0.5"}]})
    span = run.spans[0]
    assert (span.input_tokens, span.output_tokens, span.cost_usd) == (1000, 7, 0.5)
    assert run.unjudged() == ()


def test_a_span_count_that_is_not_a_count_is_kept_as_unjudged() -> None:
    run = Run.model_validate({"input_tokens": "12", "spans": [
        {"type": "model", "name": "chat", "input_tokens": "1e3"},
        {"type": "model", "name": "chat", "output_tokens": "many", "start_ms": "soon"}]})
    assert run.input_tokens == 12
    assert run.spans[0].input_tokens == 1000 and run.spans[1].output_tokens is None
    assert math.isnan(run.spans[1].start_ms or 0.0)
    assert [(u.field, u.span_index) for u in run.unjudged()] == [("start_ms", 1),
                                                                  ("output_tokens", 1)]

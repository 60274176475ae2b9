"""Tool calls validated against their tools' argument schemas."""

from __future__ import annotations

from evalloop.evaluate.evaluator import evaluate
from tests.unit.evaluate.support import fixture, only, run, span


def test_tool_args_schema() -> None:
    schemas = {"draft": {"type": "object", "required": ["order_id"],
                         "properties": {"order_id": {"type": "string", "pattern": "^ord_"},
                                        "amount": {"type": "number", "maximum": 500}}}}
    r = run(span("tool:draft", args={"order_id": "ord_1", "amount": 640}, span_id="d"),
            span("tool:draft", args={"order_id": "ord_2"}),
            span("tool:draft"),
            span("tool:other", args={"anything": 1}))
    v = evaluate(fixture(), r, tool_schemas=schemas)
    xs = only(v, "tool_args_schema")
    assert [x.span_index for x in xs] == [0, 2]
    assert xs[0].details["path"] == "/amount" and xs[0].actual == 640
    assert xs[0].expected == {"validator": "maximum", "schema": 500}
    assert xs[0].span_id == "d"
    assert xs[1].expected["validator"] == "required"


def test_tool_schemas_accept_function_definitions() -> None:
    schemas = {"draft": {"name": "draft", "parameters": {"type": "object",
                                                          "required": ["order_id"]}}}
    only(evaluate(fixture(), run("tool:draft"), tool_schemas=schemas), "tool_args_schema")

"""`evalloop.span.args` / `evalloop.span.result`: a marked span's arguments and result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalloop.errors import EvalloopError
from evalloop.model.run import Span
from evalloop.traces.load import load_runs
from tests.unit.traces.test_load import TRACE_A, kv, otlp, otlp_span, write

ROOT = "a000000000000001"


def spans_of(tmp_path: Path, *children: dict[str, Any]) -> list[Span]:
    root = otlp_span(TRACE_A, ROOT, None, name="invoke_agent support", end_ms=100,
                     attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"})
    (run,) = load_runs(write(tmp_path, otlp(root, *children)))
    return [s for s in run.spans if s.span_id != ROOT]


def child(n: int, attrs: dict[str, Any], name: str = "step") -> dict[str, Any]:
    return otlp_span(TRACE_A, f"b00000000000000{n}", ROOT, name=name, start_ms=n, end_ms=n + 1,
                     attrs=attrs)


def test_json_text_args_and_result_of_a_policy_span(tmp_path: Path) -> None:
    (span,) = spans_of(tmp_path, child(1, {
        "evalloop.span.type": "policy", "evalloop.span.name": "refund_threshold",
        "evalloop.span.args": json.dumps({"amount": 812, "threshold": 500, "customer_status": None}),
        "evalloop.span.result": json.dumps({"requires_approval": True, "reasons": ["amount over 500"]})}))
    assert span.ref == "policy:refund_threshold"
    assert span.args == {"amount": 812, "threshold": 500, "customer_status": None}
    assert span.result == {"requires_approval": True, "reasons": ["amount over 500"]}


def test_structured_values_are_taken_as_they_are(tmp_path: Path) -> None:
    sp = child(1, {"evalloop.span.type": "approval", "evalloop.span.name": "required"})
    sp["attributes"] += [
        {"key": "evalloop.span.args", "value": {"kvlistValue": {"values": [
            kv("order_id", "ord_1"), kv("amount", 812.5)]}}},
        {"key": "evalloop.span.result", "value": {"arrayValue": {"values": [
            {"stringValue": "pending"}, {"intValue": "2"}]}}}]
    (span,) = spans_of(tmp_path, sp)
    assert span.args == {"order_id": "ord_1", "amount": 812.5}
    assert span.result == ["pending", 2]


def test_marked_args_and_result_win_over_inferred_ones(tmp_path: Path) -> None:
    tool, model = spans_of(tmp_path, child(1, {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_order",
        "gen_ai.tool.call.arguments": json.dumps({"order_id": "raw"}),
        "gen_ai.tool.call.result": json.dumps({"amount": 1}),
        "evalloop.span.args": json.dumps({"order_id": "ord_1"}),
        "evalloop.span.result": json.dumps({"amount": 640})}), child(2, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "m1",
            "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 7,
            "gen_ai.usage.cost": 0.0002, "evalloop.span.args": json.dumps({"purpose": "route"})}))
    assert (tool.ref, tool.args, tool.result) == ("tool:read_order", {"order_id": "ord_1"}, {"amount": 640})
    # the override adds what the conventions cannot say; the usage stays as inferred
    assert (model.ref, model.args) == ("model:m1", {"purpose": "route"})
    assert (model.input_tokens, model.output_tokens, model.cost_usd) == (120, 7, 0.0002)


def test_text_results_and_args_that_are_not_objects(tmp_path: Path) -> None:
    plain, encoded, listed, cleared = spans_of(
        tmp_path,
        child(1, {"evalloop.span.type": "message", "evalloop.span.name": "a",
                  "evalloop.span.result": "Your refund is on its way."}),
        # a text written as JSON stays a text even when it reads like a number
        child(2, {"evalloop.span.type": "message", "evalloop.span.name": "b",
                  "evalloop.span.result": json.dumps("42")}),
        child(3, {"evalloop.span.type": "policy", "evalloop.span.name": "c",
                  "evalloop.span.args": json.dumps([1, 2])}),
        child(4, {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t",
                  "gen_ai.tool.call.arguments": json.dumps({"x": 1}),
                  "evalloop.span.args": "null"}))
    assert plain.result == "Your refund is on its way."
    assert encoded.result == "42"
    assert listed.args == {"input": [1, 2]}
    assert cleared.ref == "tool:t" and cleared.args is None


def test_args_on_a_span_of_unknown_type_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, otlp(otlp_span(TRACE_A, ROOT, None, name="n",
                                          attrs={"evalloop.span.args": "{}"})))
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert "evalloop.span.args/result without evalloop.span.type" in err.value.message
    assert ROOT in err.value.message and err.value.path == str(path)

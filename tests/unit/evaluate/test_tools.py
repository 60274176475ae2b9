"""The tool checks by name and arguments, with the evidence they report."""

from __future__ import annotations

from evalloop.evaluate.evaluator import evaluate
from tests.unit.evaluate.support import fixture, only, run, span


def test_tool_not_called() -> None:
    (x,) = only(evaluate(fixture(tools_called=["draft"]), run("tool:read", "model:m")),
                "tool_not_called")
    assert x.expected == "draft" and x.actual == ["read"] and x.ref == "tool:draft"


def test_a_span_of_another_type_is_not_a_tool_call() -> None:
    only(evaluate(fixture(tools_called=["draft"]), run("workflow:draft")), "tool_not_called")


def test_forbidden_tool() -> None:
    v = evaluate(fixture(tools_not_called=["issue_refund"]),
                 run("tool:read", span("tool:issue_refund", args={"amount": 5}, span_id="z")))
    (x,) = only(v, "forbidden_tool")
    assert (x.span_index, x.ref, x.span_id) == (1, "tool:issue_refund", "z")
    assert x.actual == {"status": "succeeded", "args": {"amount": 5}}


def test_tool_args_some_call_carries_them() -> None:
    fx = fixture(tool_args={"draft": {"order_id": "o1", "amount": 5}})
    ok = run(span("tool:draft", args={"order_id": "o2"}),
             span("tool:draft", args={"order_id": "o1", "amount": 5, "note": "x"}))
    assert evaluate(fx, ok).passed
    bad = run(span("tool:draft", args={"order_id": "o2", "amount": 5}),
              span("tool:draft", args={"order_id": "o1", "amount": True}, span_id="d2"),
              span("tool:draft", args=None))
    (x,) = only(evaluate(fx, bad), "tool_args")
    assert x.expected == {"order_id": "o1", "amount": 5}
    assert x.span_index == 0 and x.actual == {"order_id": "o2", "amount": 5}
    assert x.details == {"calls": 3, "missing_or_different": ["order_id"]}


def test_tool_args_when_never_called() -> None:
    (x,) = only(evaluate(fixture(tool_args={"draft": {"a": 1}}), run("tool:read")), "tool_args")
    assert x.actual is None and x.ref == "tool:draft"


def test_tool_args_nested_objects_are_contained() -> None:
    fx = fixture(tool_args={"search": {"filter": {"status": "open"}}})
    assert evaluate(fx, run(span("tool:search", args={"filter": {"status": "open", "n": 1}}))).passed
    only(evaluate(fx, run(span("tool:search", args={"filter": {"status": "closed"}}))), "tool_args")

"""The mocked toolbox: answers from the fixture, records every call, keeps intent apart from effects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from evalloop.harness.manifest import ToolManifest, load_manifest
from evalloop.harness.toolbox import Toolbox, agent_context, measure_problem, unknown_tool_calls
from evalloop.model.fixture import Context
from tests.support import write

MANIFEST = """\
version: 1
tools:
  - name: read_order
    parameters:
      type: object
      properties: {order_id: {type: string}}
      required: [order_id]
      additionalProperties: false
  - name: issue_refund
    side_effect: true
    parameters:
      type: object
      properties: {order_id: {type: string}, amount: {type: number}}
      required: [order_id, amount]
  - name: send_customer_email
    side_effect: true
"""


@pytest.fixture
def manifest(tmp_path: Path) -> ToolManifest:
    return load_manifest(write(tmp_path / "tools.yaml", MANIFEST))


def box(manifest: ToolManifest | None, **context: Any) -> Toolbox:
    return Toolbox(Context.model_validate(context), manifest)


def test_answers_from_tool_outputs_and_records_the_call(manifest: ToolManifest) -> None:
    tb = box(manifest, tool_outputs={"read_order": [{"amount": 1}, {"amount": 2}]})
    answers = [tb.call("read_order", {"order_id": "o1"}).result for _ in range(3)]
    assert answers == [{"amount": 1}, {"amount": 2}, {"amount": 2}]  # successive, then the last repeats
    assert [(s.ref, s.args, s.status) for s in tb.spans] == [("tool:read_order", {"order_id": "o1"}, "succeeded")] * 3
    assert [s.attributes["evalloop.call"] for s in tb.spans] == [1, 2, 3]
    assert all(s.start_ms is not None and s.end_ms is not None for s in tb.spans)


def test_side_effect_tool_is_an_intent_never_executed(manifest: ToolManifest) -> None:
    tb = box(manifest)
    reply = tb.call("issue_refund", {"order_id": "o1", "amount": 640})
    assert reply.ok and reply.result == {"intent_recorded": True, "executed": False}
    span = tb.spans[0]
    assert span.ref == "tool:issue_refund" and span.args == {"order_id": "o1", "amount": 640}
    assert span.attributes["evalloop.intent"] is True and span.attributes["evalloop.executed"] is False
    # a mocked answer for a side-effect tool is returned, the call still only an intent
    tb = box(manifest, tool_outputs={"send_customer_email": {"queued": True}})
    assert tb.call("send_customer_email", {"body": "hi"}).result == {"queued": True}
    assert tb.spans[0].attributes["evalloop.intent"] is True


def test_unknown_tool_and_schema_violations_are_recorded_and_answered_with_errors(manifest: ToolManifest) -> None:
    tb = box(manifest, tool_outputs={"read_order": {"amount": 1}})
    unknown = tb.call("delete_account", {"id": 1})
    bad = tb.call("read_order", {"order_id": 7})
    missing = tb.call("read_order", {})
    assert (unknown.ok, unknown.error_kind) == (False, "unknown_tool")
    assert "read_order" in (unknown.message or "")
    assert (bad.ok, bad.error_kind) == (False, "invalid_args") and "/order_id" in (bad.message or "")
    assert missing.error_kind == "invalid_args" and "required" in (missing.message or "")
    assert [(s.ref, s.status) for s in tb.spans] == [("tool:delete_account", "failed"),
                                                     ("tool:read_order", "failed"), ("tool:read_order", "failed")]
    assert tb.spans[1].args == {"order_id": 7} and tb.spans[1].error == bad.message
    # an invalid call of a side-effect tool is not an intent either
    tb.call("issue_refund", {"order_id": "o1"})
    assert "evalloop.intent" not in tb.spans[-1].attributes


def test_arguments_must_be_an_object(manifest: ToolManifest) -> None:
    tb = box(manifest, tool_outputs={"read_order": {"amount": 1}})
    reply = tb.call("read_order", ["o1"])
    assert (reply.ok, reply.error_kind) == (False, "invalid_args")
    assert tb.spans[0].args is None and tb.spans[0].attributes["evalloop.raw_args"] == ["o1"]


def test_no_mocked_output_is_an_error(manifest: ToolManifest) -> None:
    reply = box(manifest).call("read_order", {"order_id": "o1"})
    assert (reply.ok, reply.error_kind) == (False, "no_mock")


def test_without_a_manifest_any_tool_is_answered_from_the_fixture() -> None:
    tb = box(None, tool_outputs={"anything": 5})
    assert tb.call("anything", None).result == 5
    assert tb.call("other", {}).error_kind == "no_mock"


@pytest.mark.parametrize(("fault", "expected"), [
    ({"kind": "error", "message": "503 from orders"}, (False, "tool_error", "503 from orders")),
    ({"kind": "timeout"}, (False, "timeout", "read_order timed out (injected fault)")),
    ({"kind": "malformed"}, (True, None, '{"order_id": "o1')),  # its JSON cut in half
    ({"kind": "malformed", "data": "<html>502</html>"}, (True, None, "<html>502</html>")),
    ({"kind": "partial"}, (True, None, {"order_id": "o1"})),
    ({"kind": "partial", "data": {"amount": None}}, (True, None, {"amount": None})),
])
def test_injected_faults(manifest: ToolManifest, fault: dict[str, Any], expected: tuple[Any, ...]) -> None:
    tb = box(manifest, tool_outputs={"read_order": {"order_id": "o1", "amount": 640}},
             tool_faults=[{"tool": "read_order", **fault}])
    reply = tb.call("read_order", {"order_id": "o1"})
    ok, kind, payload = expected
    assert reply.ok is ok
    if ok:
        assert reply.result == payload
    else:
        assert (reply.error_kind, reply.message) == (kind, payload)
    assert tb.spans[0].attributes["evalloop.fault"] == fault["kind"]


def test_fault_on_a_given_call_number_lets_a_retry_succeed(manifest: ToolManifest) -> None:
    tb = box(manifest, tool_outputs={"read_order": {"amount": 640}},
             tool_faults=[{"tool": "read_order", "kind": "timeout", "call": 2}])
    oks = [tb.call("read_order", {"order_id": "o1"}).ok for _ in range(3)]
    assert oks == [True, False, True]
    assert [s.status for s in tb.spans] == ["succeeded", "failed", "succeeded"]


def test_retrieval_memory_and_approval() -> None:
    tb = box(None, retrieved_documents=[{"index": "refund_policy", "text": "over 500 needs approval"},
                                        {"index": "faq", "text": "x"}, "loose note"],
             memory=[{"key": "tone", "value": "formal"}, {"key": "lang", "value": "en"}],
             approvals={"manager": "approved"})
    assert tb.retrieve("refund_policy", "threshold").result == [
        {"index": "refund_policy", "text": "over 500 needs approval"}, "loose note"]
    assert tb.memory("read", "tone").result == [{"key": "tone", "value": "formal"}]
    write_reply = tb.memory("write", "tone", "casual")
    assert write_reply.result == {"intent_recorded": True, "executed": False}
    assert tb.memory("read", "tone").result == [{"key": "tone", "value": "formal"}]  # the write was not stored
    assert tb.approval("required").result == {"decision": "pending"}
    assert tb.approval("manager").result == {"decision": "approved"}
    assert [(s.ref, s.status) for s in tb.spans] == [
        ("retrieval:refund_policy", "succeeded"), ("memory:tone", "succeeded"), ("memory:tone", "succeeded"),
        ("memory:tone", "succeeded"), ("approval:required", "waiting"), ("approval:manager", "succeeded")]
    assert tb.spans[2].attributes == {"evalloop.intent": True, "evalloop.executed": False}


def test_record_checks_what_the_agent_reports() -> None:
    tb = box(None)
    span = tb.record("policy", "refund_threshold", status="succeeded", args={"amount": 640}, duration_ms=5)
    assert span.ref == "policy:refund_threshold" and span.end_ms is not None and span.start_ms is not None
    assert span.end_ms - span.start_ms == pytest.approx(5)
    tb.record("model", "m1", input_tokens=10, output_tokens=2, cost_usd=0.001)
    for bad in ({"span_type": "tool", "name": "issue_refund"}, {"span_type": "vibe", "name": "x"},
                {"span_type": "policy", "name": " a"}, {"span_type": "policy", "name": "a\nb"},
                {"span_type": "policy", "name": ":a"}, {"span_type": "policy", "name": "x", "status": "ok"}):
        with pytest.raises(ValueError):
            tb.record(**bad)
    # a name with spaces is one a fixture can require (`workflow:Agent workflow`)
    assert tb.record("workflow", "Agent workflow").ref == "workflow:Agent workflow"
    assert len(tb.spans) == 3


def test_the_agent_sees_the_context_without_what_the_toolbox_hands_out() -> None:
    ctx = Context.model_validate({"policy_version": "p1", "customer_status": "standard", "state": {"step": 2},
                                  "tool_outputs": {"a": 1}, "tool_faults": [{"tool": "a", "kind": "error"}],
                                  "retrieved_documents": ["d"], "memory": ["m"], "approvals": {"required": "approved"}})
    assert agent_context(ctx) == {"policy_version": "p1", "customer_status": "standard", "state": {"step": 2}}


def test_unknown_tool_calls_name_each_tool_with_its_spans_and_call_positions(manifest: ToolManifest) -> None:
    tb = box(manifest, tool_outputs={"read_order": {"amount": 1}})
    tb.call("read_order", {"order_id": "o1"})
    tb.record("policy", "threshold")
    tb.call("wipe_disk", {})
    tb.call("read_order", {"order_id": "o1"})
    tb.call("wipe_disk", {"again": True})
    tb.call("launch", None)
    found = unknown_tool_calls(tb.spans)
    assert [(c.name, c.spans, c.positions) for c in found] == [("wipe_disk", [2, 4], [2, 4]), ("launch", [5], [5])]
    # the same run without a manifest: nothing is unknown
    open_box = box(None, tool_outputs={"wipe_disk": {}})
    open_box.call("wipe_disk", {})
    assert unknown_tool_calls(open_box.spans) == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cost_usd", float("nan"), "cost_usd is NaN"),
    ("cost_usd", float("inf"), "cost_usd is infinite"),
    ("input_tokens", -1, "input_tokens is negative (-1)"),
    ("output_tokens", -(10 ** 400), "output_tokens is negative (-1000000000"),
    ("duration_ms", -3.5, "duration_ms is negative (-3.5)"),
])
def test_measurements_a_budget_cannot_judge_are_refused(field: str, value: float, message: str) -> None:
    tb = box(None)
    with pytest.raises(ValueError, match=re.escape(message)):
        tb.record("model", "m1", **{field: value})  # type: ignore[arg-type]
    assert tb.spans == []  # refused, not recorded with a made-up value


def test_measure_problem() -> None:
    assert [measure_problem(v) for v in (None, 0, 0.0, 3, 1e300)] == [None] * 5
    assert [measure_problem(v) for v in (float("nan"), float("-inf"), -0.5)] == ["NaN", "infinite", "negative (-0.5)"]

"""Jaeger query-API JSON: where a span's parent is read from.

A Jaeger span names its parent in `references` (the first `CHILD_OF`), in the
legacy `parentSpanID` field older exporters write, or only by a `FOLLOWS_FROM`
reference; each must attach the span to that parent, not leave it a root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalloop.model.run import Run
from evalloop.traces.load import load_runs

TRACE = "3e289017fe03ffd7c4145316d2eb3d0d"
# Jaeger writes ids without their leading zeros.
WORKFLOW, AGENT, TOOL = "a1", "b2", "c3"
T0 = 1_771_237_536_000_000  # us


def tag(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "type": "string", "value": value}


def ref(kind: str, span: str) -> dict[str, Any]:
    return {"refType": kind, "traceID": TRACE, "spanID": span}


def jaeger_span(span: str, name: str, start_us: int, tags: dict[str, str],
                **parent: Any) -> dict[str, Any]:
    sp: dict[str, Any] = {"traceID": TRACE, "spanID": span, "operationName": name,
                          "startTime": T0 + start_us, "duration": 1_000, "processID": "p1",
                          "tags": [tag(k, v) for k, v in tags.items()], "logs": []}
    sp.update(parent)  # references=[...] and / or parentSpanID=...
    return sp


def import_with_tool_parent(tmp_path: Path, **parent: Any) -> Run:
    """A workflow > agent > tool trace whose tool span names its parent as given."""
    spans = [
        jaeger_span(WORKFLOW, "invoke_workflow support", 0,
                    {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "support"}),
        jaeger_span(AGENT, "invoke_agent helper", 10,
                    {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
                    references=[ref("CHILD_OF", WORKFLOW)]),
        jaeger_span(TOOL, "execute_tool read_order", 20,
                    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_order"},
                    **parent),
    ]
    doc = {"data": [{"traceID": TRACE, "spans": spans,
                     "processes": {"p1": {"serviceName": "agent", "tags": []}}}]}
    path = tmp_path / "jaeger.json"
    path.write_text(json.dumps(doc))
    (run,) = load_runs(path)
    return run


def parent_name(run: Run, child: str) -> str | None:
    by_id = {s.span_id: s for s in run.spans}
    (span,) = [s for s in run.spans if s.name == child]
    return None if span.parent_id is None else by_id[span.parent_id].name


@pytest.mark.parametrize("parent", [
    pytest.param({"references": [ref("CHILD_OF", AGENT)]}, id="child-of-reference"),
    pytest.param({"references": [ref("FOLLOWS_FROM", WORKFLOW), ref("CHILD_OF", AGENT)]},
                 id="child-of-after-a-follows-from"),
    pytest.param({"parentSpanID": AGENT}, id="legacy-parentSpanID"),
    pytest.param({"parentSpanID": AGENT, "references": []}, id="legacy-parentSpanID-empty-references"),
    pytest.param({"references": [ref("FOLLOWS_FROM", AGENT)]}, id="follows-from-only"),
    pytest.param({"references": [ref("CHILD_OF", AGENT)], "parentSpanID": WORKFLOW},
                 id="child-of-wins-over-parentSpanID"),
    pytest.param({"references": [ref("FOLLOWS_FROM", WORKFLOW)], "parentSpanID": AGENT},
                 id="parentSpanID-wins-over-follows-from"),
])
def test_span_is_attached_to_the_parent_it_names(tmp_path: Path, parent: dict[str, Any]) -> None:
    run = import_with_tool_parent(tmp_path, **parent)
    assert [s.ref for s in run.spans] == ["workflow:support", "workflow:helper", "tool:read_order"]
    assert parent_name(run, "read_order") == "helper"
    assert parent_name(run, "helper") == "support"
    assert parent_name(run, "support") is None


def test_span_naming_no_parent_is_a_root(tmp_path: Path) -> None:
    run = import_with_tool_parent(tmp_path)
    assert parent_name(run, "read_order") is None


def test_parent_ids_are_padded_like_span_ids(tmp_path: Path) -> None:
    run = import_with_tool_parent(tmp_path, parentSpanID=AGENT)
    (call,) = run.tool_calls()
    assert call.span_id == TOOL.zfill(16)
    assert call.parent_id == AGENT.zfill(16)

"""Trace import sees every tool call real instrumentations record.

Real files (tests/data/traces/<framework>/, sources and ground truth in
tests/data/traces/SOURCES-issue10.md) are imported and checked against that
ground truth: the exact ordered tool calls, the agent workflows, the answer and
the token and cost totals. A dropped tool call fails these tests, and
`evalloop check` with `tools_not_called` naming a tool that ran must exit 1 on
each real file: a tool call the import drops would let the gate pass.

Markers no real file here carries are tested on minimal synthetic spans; each
such test says so and names the documentation its attribute names come from.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from evalloop.model.fixture import SPAN_REF_PATTERN
from evalloop.model.run import Run
from evalloop.traces.load import detect_format, load_runs
from tests.support import DATA as TEST_DATA
from tests.support import invoke, write

DATA = TEST_DATA / "traces"
KOOG = DATA / "koog" / "koog-2025-08-26.langfuse.json"
MSAF = DATA / "microsoft_agent_framework" / "microsoft-agent-2025-10-14.langfuse.json"
LANGGRAPH = DATA / "langgraph" / "langgraph-2025-08-22.langfuse.json"
PYDANTIC = DATA / "pydantic_ai" / "pydantic_ai_live_spans.strands-evals.json"
OAI_AGENTS = DATA / "openai_agents_openinference" \
    / "openai_agents_openinference_live_spans.strands-evals.json"
SMOL = DATA / "smolagents_openinference" / "smolagents_live_spans.strands-evals.json"
VERCEL = DATA / "vercel_ai_sdk" / "ai-generateText.json"
VERCEL_STEP = DATA / "vercel_ai_sdk" / "ai-generateText-doGenerate.json"


def tools(run: Run) -> list[str]:
    return [s.name for s in run.spans if s.type == "tool"]


def workflows(run: Run) -> list[str]:
    return [s.name for s in run.spans if s.type == "workflow"]


def only(path: Path, fmt: str | None = None) -> Run:
    (run,) = load_runs(path, fmt)
    return run


# --- real files: ground truth --------------------------------------------------------------

def test_koog_langfuse() -> None:
    run = only(KOOG)
    assert run.source is not None and run.source.startswith("langfuse:")
    # Both tool spans start at the same millisecond; HelloTool ended first (and was
    # called first).
    assert [(s.name, s.args, s.result) for s in run.spans if s.type == "tool"] == [
        ("HelloTool", {"name": "Bob"}, "Hello my darling Bob!"),
        ("ByeTool", {"name": "Bob"}, "Bye my dear Bob!")]
    assert workflows(run) == ["agent.f9f77d1a-437f-4ba6-890e-b592a50cbd21",
                              "run.6f8d2449-33ed-4c7c-82e7-5410e34ee4e6"]
    assert run.output == "Hello my darling Bob! And, bye my dear Bob!"
    assert (run.input_tokens, run.output_tokens) == (215, 125)
    assert run.cost_usd == pytest.approx(0.0017875)
    # the first call only called tools: no reply text
    assert [s.result for s in run.spans if s.type == "model"] == [
        None, "Hello my darling Bob! And, bye my dear Bob!"]


def test_microsoft_agent_framework_langfuse() -> None:
    run = only(MSAF)
    assert [(s.name, s.args) for s in run.spans if s.type == "tool"] == [
        ("get_weather", {"location": "Portland"})]
    assert workflows(run) == ["99981f6a-abd1-4d09-9fba-00e2ab172193"]
    assert run.output == ("The weather in Portland is currently stormy with a high "
                          "temperature of 19°C.")
    # the AGENT's usage repeats the second chat's: counted once, from the GENERATIONs
    assert (run.input_tokens, run.output_tokens) == (25 + 631, 70 + 35)
    assert run.cost_usd == pytest.approx(0.00269)


def test_langgraph_langfuse_callback() -> None:
    run = only(LANGGRAPH)
    (tool,) = [s for s in run.spans if s.type == "tool"]
    assert (tool.name, tool.args) == ("Web-Search", {"query": "example"})
    assert tool.result == [{"url": "https://example.com", "title": "Example Result",
                            "q": "example"}]
    assert workflows(run) == []
    assert run.output is not None and run.output.startswith(
        'The search for "example" primarily leads to the website [example.com]')
    assert (run.input_tokens, run.output_tokens) == (168, 66)
    assert run.cost_usd == pytest.approx(0.000234)


def test_pydantic_ai() -> None:
    run = only(PYDANTIC)
    assert run.source is not None and run.source.startswith("spans:")
    assert [(s.name, s.args, s.result) for s in run.spans if s.type == "tool"] == [
        ("get_weather", {"city": "Seattle"}, "62°F, cloudy with light rain")]
    assert workflows(run) == ["agent"]
    assert run.output == ("The current weather in Seattle is 62°F and cloudy with light rain. "
                          "Pretty typical Seattle weather!")
    assert (run.input_tokens, run.output_tokens) == (1251, 78)
    assert run.cost_usd == pytest.approx(0.0054153)


def test_openai_agents_openinference() -> None:
    run = only(OAI_AGENTS)
    assert [(s.name, s.args) for s in run.spans if s.type == "tool"] == [
        ("ask_math_specialist", {"query": "42 multiplied by 17, then divided by 3"}),
        ("multiply_numbers", {"a": 42, "b": 17}),
        ("divide_numbers", {"a": 0, "b": 3}),
        ("divide_numbers", {"a": 714, "b": 3})]
    names = workflows(run)
    assert "coordinator" in names and "math_specialist" in names
    assert names.index("coordinator") < names.index("math_specialist")
    assert run.output == ("The result of \\( 42 \\) multiplied by \\( 17 \\), then divided "
                          "by \\( 3 \\), is **238**.")
    assert (run.input_tokens, run.output_tokens) == (1228, 194)
    assert run.cost_usd is None
    # a response that only calls tools is no reply; content parts are
    texts = [s.result for s in run.spans if s.type == "model"]
    assert texts[:3] == [None, None, None]
    assert texts[3] is not None and texts[3].startswith("First, I calculated")


def test_smolagents_openinference() -> None:
    run = only(SMOL)
    assert tools(run) == ["web_search", "final_answer"]
    assert workflows(run)[0] == "CodeAgent.run"
    assert run.output is not None and run.output.startswith(
        "The population of Tokyo is approximately 14 million people as of 2023.")
    # the root AGENT repeats the LLM spans' sums; each call counts once
    assert (run.input_tokens, run.output_tokens) == (2366 + 3890, 52 + 111)


@pytest.mark.parametrize("path", [VERCEL, VERCEL_STEP], ids=["generateText", "doGenerate"])
def test_vercel_ai_sdk(path: Path) -> None:
    runs = load_runs(path)
    assert [tools(r) for r in runs] == [[], []]
    assert [r.output for r in runs] == [
        "Lines of code align,  \nLogic dances through the night—  \nDreams in data flow.",
        "3 + 3 equals 6."]
    assert [(r.input_tokens, r.output_tokens) for r in runs] == [(14, 20), (50, 9)]
    assert [s.name for r in runs for s in r.spans] == ["gpt-4o-mini", "gpt-4o-mini"]


@pytest.mark.parametrize("path, tool", [
    (KOOG, "ByeTool"), (MSAF, "get_weather"), (LANGGRAPH, "Web-Search"),
    (PYDANTIC, "get_weather"), (OAI_AGENTS, "divide_numbers"), (SMOL, "web_search")],
    ids=lambda v: v.parent.name if isinstance(v, Path) else v)
def test_check_fails_when_a_forbidden_tool_ran(tmp_path: Path, path: Path, tool: str) -> None:
    """The tool ran, so the gate must fail: a dropped tool call must not let it pass."""
    fixture = write(tmp_path / "f.json", json.dumps(
        {"id": "no-tool", "expected": {"tools_not_called": [tool]}}))
    r = invoke("check", str(fixture), str(path))
    assert r.exit_code == 1, r.output
    assert f"forbidden tool {tool} was called" in r.output
    budget = write(tmp_path / "b.json", json.dumps(
        {"id": "budget", "expected": {"budget": {"max_tool_calls": 0}}}))
    assert invoke("check", str(budget), str(path)).exit_code == 1


def test_check_required_workflow_with_spaces(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.json", json.dumps(
        {"id": "wf", "expected": {"required_spans": ["workflow:Agent workflow",
                                                     "tool:ask_math_specialist"]}}))
    r = invoke("check", str(fixture), str(OAI_AGENTS))
    assert r.exit_code == 0, r.output
    r = invoke("check", str(fixture), str(OAI_AGENTS), "--trace-format", "spans")
    assert r.exit_code == 0, r.output


def test_span_ref_pattern() -> None:

    good = ["workflow:Strands Agents", "workflow:Agent workflow", "tool:a", "tool:a:b"]
    bad = ["tool: a", "tool::a", "tool:a ", "tool:a\nb", "Tool:a", "agent:x", "tool:"]
    assert all(re.match(SPAN_REF_PATTERN, g) for g in good)
    assert not any(re.match(SPAN_REF_PATTERN, b) for b in bad)


# --- synthetic spans for markers no real file here carries ---------------------------------

def flat(span_id: str, name: str, attrs: dict[str, Any], parent: str | None = None,
         start: int = 0, end: int = 1, events: list[dict[str, Any]] | None = None,
         ) -> dict[str, Any]:
    """A span in the strands-evals flat form (times in ms from an epoch)."""
    t0 = 1_790_000_000_000_000_000
    return {"trace_id": "ab" * 16, "span_id": span_id, "parent_span_id": parent,
            "name": name, "start_time": t0 + start * 1_000_000,
            "end_time": t0 + end * 1_000_000, "attributes": attrs,
            "status": {"code": "UNSET"}, "span_events": events or []}


def load(tmp_path: Path, *spans: dict[str, Any]) -> Run:
    return only(write(tmp_path / "t.json", json.dumps(list(spans))))


def test_vercel_tool_call_span(tmp_path: Path) -> None:
    """Synthetic: attribute names from the AI SDK telemetry docs
    (ai-sdk.dev/docs/ai-sdk-core/telemetry, "Tool call spans"): span `ai.toolCall`
    with `ai.toolCall.name`, `ai.toolCall.id`, `ai.toolCall.args`,
    `ai.toolCall.result`."""
    run = load(tmp_path,
               flat("a" * 16, "ai.generateText", {"ai.operationId": "ai.generateText",
                                                  "ai.model.id": "gpt-4o"}, end=10),
               flat("b" * 16, "ai.toolCall", {"ai.operationId": "ai.toolCall",
                                              "ai.toolCall.name": "weather",
                                              "ai.toolCall.id": "call_1",
                                              "ai.toolCall.args": '{"city": "Paris"}',
                                              "ai.toolCall.result": '{"temp": 20}'},
                    parent="a" * 16, start=2, end=3))
    (tool,) = [s for s in run.spans if s.type == "tool"]
    assert (tool.name, tool.args, tool.result) == ("weather", {"city": "Paris"}, {"temp": 20})


def test_openllmetry_tool_span(tmp_path: Path) -> None:
    """Synthetic: OpenLLMetry's `traceloop.span.kind = tool`, `traceloop.entity.name`,
    `traceloop.entity.input` / `output` (traceloop/openllmetry semantic conventions,
    `SpanAttributes.TRACELOOP_*`)."""
    run = load(tmp_path, flat("a" * 16, "search.tool", {
        "traceloop.span.kind": "tool", "traceloop.entity.name": "search",
        "traceloop.entity.input": '{"q": "x"}', "traceloop.entity.output": '"found"'}))
    assert [(s.name, s.args, s.result) for s in run.spans] == [("search", {"q": "x"}, "found")]


def test_pydantic_ai_legacy_tool_span(tmp_path: Path) -> None:
    """Synthetic: pydantic-ai < 1.0 wrote `running tool` spans with `gen_ai.tool.name`,
    `tool_arguments` and `tool_response` and no operation name (pydantic-ai docs,
    "Debugging and Monitoring", instrumentation version 1)."""
    run = load(tmp_path, flat("a" * 16, "running tool", {
        "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "c1",
        "tool_arguments": '{"city": "Oslo"}', "tool_response": "cold"}))
    assert [(s.type, s.name, s.args, s.result) for s in run.spans] == [
        ("tool", "get_weather", {"city": "Oslo"}, "cold")]


def test_tool_call_id_alone_marks_a_tool(tmp_path: Path) -> None:
    """Synthetic: a span carrying only `gen_ai.tool.call.id` (OpenTelemetry GenAI
    semantic conventions, gen-ai-spans.md "Execute tool span") with the GenAI
    `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result`."""
    run = load(tmp_path, flat("a" * 16, "execute_tool lookup", {
        "gen_ai.tool.call.id": "c1", "gen_ai.tool.call.arguments": {"id": 1},
        "gen_ai.tool.call.result": "ok"}))
    assert [(s.type, s.name, s.args, s.result) for s in run.spans] == [
        ("tool", "lookup", {"id": 1}, "ok")]


def test_agent_name_without_operation_is_a_workflow(tmp_path: Path) -> None:
    """Synthetic: `gen_ai.agent.name` with usage but no operation (GenAI semantic
    conventions, gen-ai-agent-spans.md); the model call and the tool under it stay
    siblings under the agent, never re-parented under each other."""
    agent = flat("a" * 16, "Strands Agents", {"gen_ai.agent.name": "Strands Agents",
                                              "gen_ai.usage.input_tokens": 10,
                                              "gen_ai.usage.output_tokens": 2}, end=10)
    wrapper = flat("b" * 16, "cycle", {"gen_ai.usage.input_tokens": 10,
                                       "gen_ai.usage.output_tokens": 2},
                   parent="a" * 16, start=1, end=9)
    model = flat("c" * 16, "chat m", {"gen_ai.operation.name": "chat",
                                      "gen_ai.request.model": "m",
                                      "gen_ai.usage.input_tokens": 10,
                                      "gen_ai.usage.output_tokens": 2},
                 parent="b" * 16, start=1, end=4)
    tool = flat("d" * 16, "execute_tool t", {"gen_ai.operation.name": "execute_tool",
                                             "gen_ai.tool.name": "t"},
                parent="b" * 16, start=5, end=6)
    run = load(tmp_path, agent, wrapper, model, tool)
    assert [(s.ref, s.parent_id) for s in run.spans] == [
        ("workflow:Strands Agents", None), ("model:m", "a" * 16), ("tool:t", "a" * 16)]
    assert (run.input_tokens, run.output_tokens) == (10, 2)


def test_event_forms(tmp_path: Path) -> None:
    """Synthetic: the event forms of the GenAI conventions (gen-ai-events.md:
    `gen_ai.choice`, `gen_ai.tool.message`, `gen_ai.user.message`; the older
    `gen_ai.content.completion` with `gen_ai.completion`; the current
    `gen_ai.client.inference.operation.details`) on spans that did not fail, as
    Strands records them."""
    choice = {"name": "gen_ai.choice",
              "attributes": {"message": '[{"text": "It is sunny."}]', "finish_reason": "end"}}
    user = {"name": "gen_ai.user.message", "attributes": {"content": '[{"text": "Weather?"}]'}}
    tool_events = [{"name": "gen_ai.tool.message",
                    "attributes": {"role": "tool", "content": '{"city": "Rome"}', "id": "t1"}},
                   {"name": "gen_ai.choice", "attributes": {"message": '[{"text": "sunny"}]',
                                                            "id": "t1"}}]
    tool_use = {"name": "gen_ai.choice",
                "attributes": {"message": '[{"toolUse": {"name": "weather"}}]'}}
    run = load(tmp_path,
               flat("a" * 16, "invoke_agent A", {"gen_ai.operation.name": "invoke_agent",
                                                 "gen_ai.agent.name": "A"}, end=10,
                    events=[user, choice]),
               flat("b" * 16, "chat", {"gen_ai.operation.name": "chat",
                                       "gen_ai.request.model": "m1"}, parent="a" * 16,
                    start=1, end=2, events=[user, tool_use]),
               flat("c" * 16, "execute_tool weather", {"gen_ai.operation.name": "execute_tool",
                                                       "gen_ai.tool.name": "weather"},
                    parent="a" * 16, start=3, end=4, events=tool_events),
               flat("d" * 16, "chat", {"gen_ai.operation.name": "chat",
                                       "gen_ai.request.model": "m2"}, parent="a" * 16,
                    start=5, end=6, events=[{"name": "gen_ai.content.completion",
                                             "attributes": {"gen_ai.completion": "Sunny!"}}]),
               flat("e" * 16, "chat", {"gen_ai.operation.name": "chat",
                                       "gen_ai.request.model": "m3"}, parent="a" * 16,
                    start=7, end=8, events=[{
                        "name": "gen_ai.client.inference.operation.details",
                        "attributes": {"gen_ai.output.messages": json.dumps(
                            [{"role": "assistant",
                              "parts": [{"type": "text", "content": "Sunny, 25C"}]}])}}]))
    assert run.output == "It is sunny."
    results = {s.name: (s.args, s.result) for s in run.spans if s.type != "workflow"}
    assert results == {"m1": (None, None), "weather": ({"city": "Rome"}, [{"text": "sunny"}]),
                       "m2": (None, "Sunny!"), "m3": (None, "Sunny, 25C")}


def test_costs_from_real_attribute_names(tmp_path: Path) -> None:
    """Synthetic: any-agent's `cost_prompt` / `cost_completion`, pydantic-ai's
    `operation.cost` and OpenInference's `llm.cost.total` / `llm.cost.prompt` /
    `llm.cost.completion` (openinference semantic conventions)."""
    run = load(tmp_path,
               flat("a" * 16, "call_llm", {"gen_ai.operation.name": "call_llm",
                                           "cost_prompt": 0.1, "cost_completion": 0.2}),
               flat("b" * 16, "chat", {"gen_ai.operation.name": "chat", "operation.cost": 1.0},
                    start=2, end=3),
               flat("c" * 16, "llm", {"openinference.span.kind": "LLM", "llm.cost.total": 10.0},
                    start=4, end=5),
               flat("d" * 16, "llm", {"openinference.span.kind": "LLM", "llm.cost.prompt": 100.0,
                                      "llm.cost.completion": 200.0}, start=6, end=7))
    assert [s.cost_usd for s in run.spans] == pytest.approx([0.3, 1.0, 10.0, 300.0])
    assert run.cost_usd == pytest.approx(311.3)


def test_aws_spans_lines(tmp_path: Path) -> None:
    """Synthetic: CloudWatch `aws/spans` records (AWS docs, "Transaction Search",
    span format: one OTel span JSON per line, flat `attributes`,
    `resource.attributes`)."""
    def line(span_id: str, parent: str | None, name: str, attrs: dict[str, Any],
             start: int) -> str:
        return json.dumps({"resource": {"attributes": {"service.name": "agent"}},
                           "scope": {"name": "strands.telemetry.tracer"},
                           "traceId": "cd" * 16, "spanId": span_id, "parentSpanId": parent,
                           "flags": 256, "name": name, "kind": "INTERNAL",
                           "startTimeUnixNano": 1_790_000_000_000_000_000 + start,
                           "endTimeUnixNano": 1_790_000_000_000_000_000 + start + 1000,
                           "durationNano": 1000, "attributes": attrs,
                           "status": {"code": "ERROR" if name == "bad" else "UNSET"}})
    path = write(tmp_path / "spans.jsonl", "\n".join([
        line("a" * 16, None, "invoke_agent Strands Agents",
             {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Strands Agents"}, 0),
        line("b" * 16, "a" * 16, "execute_tool calc",
             {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "calc"}, 10),
        line("c" * 16, "a" * 16, "bad", {"gen_ai.tool.name": "fail"}, 20)]) + "\n")
    assert detect_format(json.loads(path.read_text().splitlines()[0])) == "aws"
    run = only(path)
    assert run.source is not None and run.source.startswith("aws:")
    assert [(s.ref, s.status) for s in run.spans] == [
        ("workflow:Strands Agents", "succeeded"), ("tool:calc", "succeeded"),
        ("tool:fail", "failed")]
    assert only(path, "aws").spans[1].ref == "tool:calc"


def test_langfuse_tool_and_agent_types(tmp_path: Path) -> None:
    """Synthetic: Langfuse observation types TOOL / AGENT / GENERATION / EVENT without
    OpenTelemetry attributes (Langfuse docs, "Observation types"; public API
    `GET /api/public/traces/{traceId}` returns the observations inside the trace)."""
    doc = {"id": "t1", "timestamp": "2025-01-01T00:00:00Z", "output": None, "observations": [
        {"id": "o1", "type": "AGENT", "name": "planner", "startTime": "2025-01-01T00:00:00Z",
         "endTime": "2025-01-01T00:00:09Z"},
        {"id": "o2", "type": "GENERATION", "name": "llm", "parentObservationId": "o1",
         "model": "gpt-x", "startTime": "2025-01-01T00:00:01Z",
         "endTime": "2025-01-01T00:00:02Z", "usage": {"input": 5, "output": 3},
         "calculatedTotalCost": 0.5, "output": {"role": "assistant", "content": "Done."}},
        {"id": "o3", "type": "TOOL", "name": "lookup", "parentObservationId": "o1",
         "startTime": "2025-01-01T00:00:03Z", "endTime": "2025-01-01T00:00:04Z",
         "input": {"k": 1}, "output": "v", "level": "ERROR", "statusMessage": "boom"},
        {"id": "o4", "type": "EVENT", "name": "note", "parentObservationId": "o1",
         "startTime": "2025-01-01T00:00:05Z"}]}
    path = write(tmp_path / "lf.json", json.dumps(doc))
    run = only(path)
    assert [s.ref for s in run.spans] == ["workflow:planner", "model:gpt-x", "tool:lookup"]
    tool = run.spans[2]
    assert (tool.args, tool.result, tool.status, tool.error) == ({"k": 1}, "v", "failed", "boom")
    assert (run.input_tokens, run.output_tokens, run.cost_usd, run.output) == (5, 3, 0.5, "Done.")
    assert only(path, "langfuse").trace_id == "t1"


def test_openinference_content_parts_and_no_tool_call_text(tmp_path: Path) -> None:
    """Synthetic: OpenInference multi-part output
    (`llm.output_messages.N.message.contents.M.message_content.text`) joined; a
    response with only `tool_calls` has no text (openinference semantic conventions)."""
    run = load(tmp_path,
               flat("a" * 16, "response", {
                   "openinference.span.kind": "LLM", "llm.model_name": "m",
                   "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "f"}),
               flat("b" * 16, "response", {
                   "openinference.span.kind": "LLM", "llm.model_name": "m",
                   "llm.output_messages.0.message.contents.0.message_content.text": "Hello ",
                   "llm.output_messages.0.message.contents.1.message_content.text": "world"},
                    start=2, end=3))
    assert [s.result for s in run.spans] == [None, "Hello world"]
    assert run.output == "Hello world"


def test_vercel_outer_call_merges_with_its_step(tmp_path: Path) -> None:
    """Synthetic: AI SDK `ai.generateText` (usage `ai.usage.promptTokens` /
    `completionTokens`) around one `ai.generateText.doGenerate` (ai-sdk.dev telemetry
    docs): one call, counted once, with the step's model."""
    run = load(tmp_path,
               flat("a" * 16, "ai.generateText", {"ai.operationId": "ai.generateText",
                                                  "ai.model.id": "gpt-4o",
                                                  "ai.usage.promptTokens": 7,
                                                  "ai.usage.completionTokens": 3,
                                                  "ai.response.text": "Hi"}, end=10),
               flat("b" * 16, "ai.generateText.doGenerate", {
                   "ai.operationId": "ai.generateText.doGenerate",
                   "gen_ai.request.model": "gpt-4o-2024", "gen_ai.usage.input_tokens": 7,
                   "gen_ai.usage.output_tokens": 3, "ai.response.text": "Hi"},
                    parent="a" * 16, start=1, end=9))
    assert [(s.ref, s.input_tokens, s.result) for s in run.spans] == [
        ("model:gpt-4o-2024", 7, "Hi")]
    assert (run.input_tokens, run.output_tokens, run.output) == (7, 3, "Hi")
    assert not math.isnan(run.latency_ms or 0)


def test_otlp_events_on_spans_that_did_not_fail(tmp_path: Path) -> None:
    """Synthetic: OTLP/JSON span events (`gen_ai.choice`, GenAI conventions
    gen-ai-events.md) are read on a span with status OK, and an unknown operation
    with `gen_ai.agent.name` is still the agent's workflow."""
    from tests.unit.traces.test_load import kv, otlp, otlp_span

    agent = otlp_span("ef" * 16, "a" * 16, name="agent run", end_ms=5,
                      attrs={"gen_ai.operation.name": "agent_run", "gen_ai.agent.name": "bot"},
                      status={"code": 1})
    model = otlp_span("ef" * 16, "b" * 16, "a" * 16, name="chat", start_ms=1, end_ms=2,
                      attrs={"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"},
                      events=[{"name": "gen_ai.choice",
                               "attributes": [kv("message", '{"content": "Bonjour"}')]}])
    run = only(write(tmp_path / "o.json", json.dumps(otlp(agent, model))))
    assert [(s.ref, s.result) for s in run.spans] == [("workflow:bot", None),
                                                      ("model:m", "Bonjour")]
    assert run.output == "Bonjour"


# --- done-when fixtures: written from the raw files, passed through the real CLI ----------

FIXTURES = [
    (KOOG, "koog-greets-bob", None), (MSAF, "portland-weather", None),
    (LANGGRAPH, "web-search-example", None), (PYDANTIC, "seattle-weather", None),
    (OAI_AGENTS, "math-handoff", None), (SMOL, "tokyo-population", None),
    (VERCEL, "haiku", "#0"), (VERCEL_STEP, "haiku", "#0"),
    (VERCEL, "three-plus-three", "#1"), (VERCEL_STEP, "three-plus-three", "#1")]


@pytest.mark.parametrize("path, name, run", FIXTURES,
                         ids=[f"{p.parent.name}-{n}" for p, n, _ in FIXTURES])
def test_done_when_fixture_passes(path: Path, name: str, run: str | None) -> None:
    fixture = path.parent / "fixtures" / f"{name}.yaml"
    r = invoke("check", str(fixture), str(path), *(["--run", run] if run else []))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS ")
    r = invoke("check", str(fixture), str(path), "--format", "json",
               *(["--run", run] if run else []))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["passed"] is True


def test_done_when_fixture_fails_on_the_other_run() -> None:
    fixture = VERCEL.parent / "fixtures" / "haiku.yaml"
    r = invoke("check", str(fixture), str(VERCEL), "--run", "#1")
    assert r.exit_code == 1, r.output


# --- nothing dropped silently: unrecognised spans and trace_mapping -----------------------

def _custom_tool_trace(tmp_path: Path) -> Path:
    """Synthetic: a framework no importer knows, marking its tool calls only with
    `my_framework.tool`, under a GenAI `invoke_agent` span."""
    from tests.unit.traces.test_load import otlp, otlp_span

    agent = otlp_span("12" * 16, "a" * 16, name="invoke_agent bot", end_ms=5,
                      attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "bot"})
    call = otlp_span("12" * 16, "b" * 16, "a" * 16, name="step", start_ms=1, end_ms=2,
                     attrs={"my_framework.tool": "delete_user", "my_framework.user_id": 7})
    return write(tmp_path / "t.json", json.dumps(otlp(agent, call)))


def test_unrecognised_tool_span_fails_closed(tmp_path: Path) -> None:
    path = _custom_tool_trace(tmp_path)
    fixture = write(tmp_path / "f.json", json.dumps(
        {"id": "no-delete", "expected": {"tools_not_called": ["delete_user"]}}))
    r = invoke("check", str(fixture), str(path))
    assert r.exit_code == 1, r.output
    assert "cannot judge: 1 span looks like tool calls but were not recognised (step)" in r.output
    assert "note: spans not recognised: 1 look like tools (step)" in r.output
    r = invoke("check", str(fixture), str(path), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["unrecognised"] == [{"looks_like": "tool", "name": "step", "span_id": "b" * 16,
                                    "attribute_keys": ["my_framework.tool",
                                                       "my_framework.user_id"]}]
    assert doc["violations"][0]["kind"] == "unrecognised_spans"
    # without tool expectations the run is judged; the spans are still listed
    plain = write(tmp_path / "p.json", json.dumps(
        {"id": "plain", "expected": {"required_spans": ["workflow:bot"]}}))
    r = invoke("check", str(plain), str(path))
    assert r.exit_code == 0, r.output
    assert "note: spans not recognised" in r.output


def test_trace_mapping_recognises_the_span(tmp_path: Path) -> None:
    path = _custom_tool_trace(tmp_path)
    write(tmp_path / "evalloop.yaml",
          "trace_mapping:\n  - {attribute: my_framework.tool, type: tool}\n")
    fixture = write(tmp_path / "f.json", json.dumps(
        {"id": "no-delete", "expected": {"tools_not_called": ["delete_user"]}}))
    r = invoke("check", str(fixture), str(path))
    assert r.exit_code == 1, r.output
    assert "forbidden tool delete_user was called" in r.output
    assert "cannot judge" not in r.output and "not recognised" not in r.output
    called = write(tmp_path / "c.json", json.dumps(
        {"id": "deletes", "expected": {"tools_called": ["delete_user"]}}))
    assert invoke("check", str(called), str(path)).exit_code == 0


@pytest.mark.parametrize("path", [KOOG, MSAF, LANGGRAPH, PYDANTIC, OAI_AGENTS, SMOL, VERCEL,
                                  VERCEL_STEP], ids=lambda p: p.parent.name + "-" + p.stem)
def test_real_files_have_no_unrecognised_tools(path: Path) -> None:
    from evalloop.traces.load import load_runs_report

    _runs, unrecognised = load_runs_report(path)
    assert [u.name for us in unrecognised.values() for u in us if u.kind == "tool"] == []


# --- every run of a multi-run file judged in one call -------------------------------------

def test_check_judges_every_run_of_a_real_multi_run_file(tmp_path: Path) -> None:
    fixture = VERCEL.parent / "fixtures" / "haiku.yaml"
    r = invoke("check", str(fixture), str(VERCEL))
    assert r.exit_code == 1, r.output
    rows = [line.split() for line in r.output.splitlines()[2:4]]
    assert [row[:2] for row in rows] == [["700d5f98fe2420adcf6ab0822f7a323c", "pass"],
                                         ["673a889f59126f8b4c90dce5a1f99368", "FAIL"]]
    r = invoke("check", str(fixture), str(VERCEL), "--format", "json")
    assert [d["passed"] for d in json.loads(r.output)] == [True, False]
    assert invoke("check", str(fixture), str(VERCEL), "--run", "#0").exit_code == 0
    # a fixture every run meets passes the whole file
    no_tools = write(tmp_path / "n.json", json.dumps(
        {"id": "no-tools", "expected": {"budget": {"max_tool_calls": 0, "max_tokens": 60}}}))
    r = invoke("check", str(no_tools), str(VERCEL))
    assert r.exit_code == 0, r.output
    assert "2 runs, 0 failed" in r.output


@pytest.mark.parametrize("doc", [
    {"trace": {"id": "t"}, "observations": [{"id": "o", "type": "GENERATION", "startTime": "2026-01-01T00:00:00Z"}, 7]},
    {"spans": [{"context": {"trace_id": "0x1", "span_id": "0x2"}, "name": "x", "attributes": 5}],
     "final_output": "ok"},
])
def test_a_malformed_span_is_one_line_naming_its_position(tmp_path: Path, doc: dict[str, Any]) -> None:
    trace = write(tmp_path / "trace.json", json.dumps(doc))
    fixture = write(tmp_path / "f.yaml", "id: x\nowner: a\ninput: {}\nexpected: {tools_not_called: [t]}\n")
    result = invoke("check", str(fixture), str(trace))
    assert result.exit_code == 2, result.output
    [line] = [ln for ln in result.output.splitlines() if ln]
    assert "malformed span at " in line and "[" in line and "Traceback" not in result.output

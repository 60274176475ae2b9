"""Trace import: real recordings against their ground truth, and each format detail."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from evalloop.errors import EvalloopError
from evalloop.model.run import Run, Span
from evalloop.traces.load import FORMATS, detect_format, load_runs
from tests.support import DATA as TEST_DATA

DATA = TEST_DATA / "traces"
ADK = DATA / "adk_otlp"
TEMPO = DATA / "agentevals" / "tempo_export_with_batches.json"
JAEGER = DATA / "agentevals" / "helm.json"
ANY_AGENT = DATA / "any_agent"

TRACE_A = "0af7651916cd43dd8448eb211c80319c"
TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_790_000_000_000_000_000  # ns


# --- helpers ----------------------------------------------------------------------------

def kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def otlp_span(trace: str, span: str, parent: str | None = None, *, name: str = "s",
              start_ms: float = 0, end_ms: float = 1, attrs: dict[str, Any] | None = None,
              kind: Any = 1, status: dict[str, Any] | None = None,
              events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    sp: dict[str, Any] = {
        "traceId": trace, "spanId": span, "name": name, "kind": kind,
        "startTimeUnixNano": str(T0 + int(start_ms * 1_000_000)),
        "endTimeUnixNano": str(T0 + int(end_ms * 1_000_000)),
        "attributes": [kv(k, v) for k, v in (attrs or {}).items()],
        "status": status or {},
    }
    if parent:
        sp["parentSpanId"] = parent
    if events:
        sp["events"] = events
    return sp


def otlp(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [kv("service.name", "t")]},
                               "scopeSpans": [{"scope": {"name": "test"},
                                               "spans": list(spans)}]}]}


def write(tmp_path: Path, data: Any, name: str = "trace.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def tool(trace: str, span: str, parent: str | None, name: str, args: dict[str, Any],
         start_ms: float, **kw: Any) -> dict[str, Any]:
    return otlp_span(trace, span, parent, name=f"execute_tool {name}", start_ms=start_ms,
                     end_ms=start_ms + 1, attrs={
                         "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                         "gen_ai.tool.call.arguments": json.dumps(args)}, **kw)


def agent(trace: str, span: str, name: str = "agent", start_ms: float = 0,
          **attrs: Any) -> dict[str, Any]:
    return otlp_span(trace, span, None, name=f"invoke_agent {name}", start_ms=start_ms,
                     end_ms=start_ms + 100, attrs={"gen_ai.operation.name": "invoke_agent",
                                                   "gen_ai.agent.name": name, **attrs})


def truth(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((ADK / f"{name}.truth.json").read_text())
    return result


def only(runs: list[Run]) -> Run:
    assert len(runs) == 1
    return runs[0]


def refs(run: Run) -> list[str]:
    return [s.ref for s in run.spans]


# --- real recordings against ground truth -----------------------------------------------

def check_turn(run: Run, turn: dict[str, Any]) -> None:
    calls = run.tool_calls()
    assert [c.name for c in calls] == [t["name"] for t in turn["tool_calls"]]
    assert [c.args for c in calls] == [t["args"] for t in turn["tool_calls"]]
    for call, expected in zip(calls, turn["tool_calls"], strict=True):
        assert (call.status == "failed") is expected["is_error"]
        if expected["is_error"]:
            assert call.error is not None and expected["error_type"] in call.error
        else:
            assert call.result == expected["result"]
    assert (run.input_tokens, run.output_tokens) == (turn["tokens"]["input"],
                                                      turn["tokens"]["output"])
    assert run.output == turn["final_text"]
    agents = {s.name for s in run.spans if s.type == "workflow"}
    assert set(turn["agents"]) <= agents


@pytest.mark.parametrize("name", ["S1", "S2", "S4a", "S4b", "S5", "S6a", "S6b"])
def test_adk_recording_matches_truth(name: str) -> None:
    expected = truth(name)
    run = only(load_runs(ADK / f"{name}.json"))
    check_turn(run, expected["turns"][0])
    assert run.trace_id is not None and re.fullmatch(r"[0-9a-f]{32}", run.trace_id)
    assert run.run_id == run.trace_id
    assert run.source == f"otlp:{ADK / (name + '.json')}"


def test_adk_multi_turn_conversation_is_one_run_per_turn() -> None:
    expected = truth("S3")
    runs = load_runs(ADK / "S3.json")
    assert len(runs) == len(expected["turns"]) == 3
    for run, turn in zip(runs, expected["turns"], strict=True):
        check_turn(run, turn)
    assert [r.output for r in runs] == [
        "Nice to meet you, Ada! How can I help?", "It is cloudy and 17C in Rome.",
        "Goodbye, Ada!"]
    starts = [r.spans[0].start_ms for r in runs]
    assert starts == sorted(starts)
    assert sum(r.input_tokens or 0 for r in runs) == expected["tokens"]["input"] == 160


def test_adk_spans_keep_the_tree_and_order() -> None:
    run = only(load_runs(ADK / "S2.json"))
    assert refs(run) == [
        "workflow:weather_agent", "workflow:weather_agent", "model:gemini-2.5-flash",
        "tool:get_weather", "model:gemini-2.5-flash", "tool:get_time", "model:gemini-2.5-flash"]
    starts = [s.start_ms for s in run.spans]
    assert starts == sorted(starts)
    workflow, agent_span = run.spans[0], run.spans[1]
    assert workflow.parent_id is None and agent_span.parent_id == workflow.span_id
    # every model call is one span (call_llm and generate_content merged), under the agent
    models = [s for s in run.spans if s.type == "model"]
    assert [(m.input_tokens, m.output_tokens) for m in models] == [(20, 5), (40, 5), (60, 14)]
    assert all(m.parent_id == agent_span.span_id for m in models)
    # the text ADK records on the call_llm wrapper lands on the kept span
    assert [m.result for m in models] == [
        "Let me look that up.", None, "It is sunny and 21C in Paris; local time is 14:05."]
    assert run.latency_ms == pytest.approx(10.598, abs=0.001)
    assert run.spans[3].start_ms == pytest.approx(1790607510404.1218)


def test_adk_merged_tool_span_is_not_a_tool_call() -> None:
    run = only(load_runs(ADK / "S5.json"))
    assert [c.args for c in run.tool_calls()] == [{"city": "Paris"}, {"city": "London"}]
    assert not any("merged" in s.name for s in run.spans)


def test_adk_raised_tool_error_fails_the_run() -> None:
    run = only(load_runs(ADK / "S6a.json"))
    failed = [s for s in run.spans if s.status == "failed"]
    assert [s.ref for s in failed] == ["workflow:stock_agent", "workflow:stock_agent",
                                       "tool:get_stock_price"]
    assert failed[-1].error == "ValueError: ticker not found: XYZ"
    assert failed[-1].result is None  # ADK's "<not specified>" placeholder
    assert run.final_status == "error"
    assert run.output is None


def test_adk_handled_tool_error_keeps_the_run() -> None:
    run = only(load_runs(ADK / "S6b.json"))
    (call,) = run.tool_calls()
    assert call.status == "failed" and call.error == "TOOL_ERROR"
    assert call.result == {"error": "ValueError: ticker not found: XYZ"}
    assert call.attributes["error.type"] == "TOOL_ERROR"
    assert run.final_status is None
    assert run.output == "Sorry, I could not find a stock with ticker XYZ."


def test_tempo_export_with_legacy_keys_counts_each_model_call_once() -> None:
    assert detect_format(json.loads(TEMPO.read_text())) == "otlp"
    run = only(load_runs(TEMPO))
    assert run.trace_id == "dd547580319ab0312cee07f1def50dad"
    assert [c.name for c in run.tool_calls()] == ["helm_list_releases"]
    assert run.tool_calls()[0].args == {}
    models = [s for s in run.spans if s.type == "model"]
    assert [(m.name, m.input_tokens, m.output_tokens) for m in models] == [
        ("gpt-4.1-mini", 2256, 13), ("gpt-4.1-mini", 2392, 116)]
    # the generate_content span is the one kept, not call_llm or openai.chat
    assert all(m.attributes["gen_ai.operation.name"] == "generate_content" for m in models)
    assert (run.input_tokens, run.output_tokens) == (4648, 129)
    assert refs(run) == ["workflow:helm-agent", "workflow:helm_agent", "model:gpt-4.1-mini",
                         "tool:helm_list_releases", "model:gpt-4.1-mini"]
    assert run.output is not None
    assert run.output.startswith("There are two Helm releases currently deployed")
    assert run.latency_ms == pytest.approx(4661.316, abs=0.001)
    assert run.spans[0].attributes["span.kind"] == "server"  # from "SPAN_KIND_SERVER"


def test_jaeger_export() -> None:
    assert detect_format(json.loads(JAEGER.read_text())) == "jaeger"
    run = only(load_runs(JAEGER))
    assert run.source == f"jaeger:{JAEGER}"
    assert run.trace_id == "3e289017fe03ffd7c4145316d2eb3d0d"
    (call,) = run.tool_calls()
    assert call.name == "helm_list_releases"
    # startTime and duration are microseconds
    assert call.start_ms == 1771237536879.614
    assert call.end_ms == pytest.approx(1771237536879.614 + 57.091)
    assert isinstance(call.result, dict) and "content" in call.result
    models = [s for s in run.spans if s.type == "model"]
    assert [(m.input_tokens, m.output_tokens) for m in models] == [(1820, 13), (1956, 117)]
    assert (run.input_tokens, run.output_tokens) == (3776, 130)
    assert run.latency_ms == pytest.approx(4180.457)
    assert run.output is not None and run.output.startswith("There are two Helm releases")
    # the failed HTTP GET (error=true) is plumbing, not a run failure
    assert run.final_status is None
    assert all(s.status == "succeeded" for s in run.spans)


@pytest.mark.parametrize(("name", "tokens", "cost"), [
    ("OPENAI_trace.json", (1020, 76), 0.0001248),
    ("LANGCHAIN_trace.json", (1262, 125), 0.0001637),
])
def test_any_agent_trace(name: str, tokens: tuple[int, int], cost: float) -> None:
    path = ANY_AGENT / name
    data = json.loads(path.read_text())
    assert detect_format(data) == "any_agent"
    run = only(load_runs(path))
    assert [(c.name, c.args) for c in run.tool_calls()] == [
        ("get_current_time", {"timezone": "America/New_York"}), ("write_file", {"text": "2025"})]
    assert (run.input_tokens, run.output_tokens) == tokens
    assert run.cost_usd == pytest.approx(cost)
    trace_id = data["spans"][0]["context"]["trace_id"]
    assert run.trace_id == format(trace_id, "032x")  # 128-bit decimal, not rounded
    assert run.output is not None and json.loads(run.output) == data["final_output"]
    assert refs(run)[0] == "workflow:any_agent"
    assert run.tool_calls()[0].result["timezone"] == "America/New_York"


@pytest.mark.parametrize("path", [*sorted(ADK.glob("S?.json")), *sorted(ADK.glob("S??.json")),
                                  TEMPO, JAEGER, *sorted(ANY_AGENT.glob("*.json"))],
                         ids=lambda p: p.name)
def test_imported_runs_are_valid_models(path: Path) -> None:
    # spans are built without validation for speed: they must still be valid
    for run in load_runs(path):
        again = Run.model_validate(json.loads(run.model_dump_json()))
        assert again == run
        assert all(isinstance(s, Span) for s in run.spans)


def test_imported_models_stay_independent() -> None:
    # imported spans share internals for speed; editing one must not touch another
    run = only(load_runs(ADK / "S2.json"))
    first, second = run.spans[0], run.spans[1]
    first.name = "changed"
    assert second.name == "weather_agent"
    copy = second.model_copy(update={"name": "copy"})
    assert (copy.name, second.name) == ("copy", "weather_agent")
    assert first.model_fields_set == set(Span.model_fields)
    run.output = "edited"
    assert only(load_runs(ADK / "S2.json")).output != "edited"


# --- OTLP details -----------------------------------------------------------------------

def test_jsonl_of_several_otlp_documents(tmp_path: Path) -> None:
    lines = [
        otlp(tool(TRACE_A, "a000000000000002", "a000000000000001", "read_order",
                  {"order_id": "1"}, 5)),
        otlp(agent(TRACE_B, "b000000000000001", "late", start_ms=50),
             tool(TRACE_B, "b000000000000002", "b000000000000001", "send", {}, 55)),
        "",  # blank lines are allowed
        otlp(agent(TRACE_A, "a000000000000001", "early", start_ms=0)),
    ]
    path = write(tmp_path, "\n".join(json.dumps(d) if d else "" for d in lines) + "\n",
                 "spans.jsonl")
    runs = load_runs(path)
    assert [r.trace_id for r in runs] == [TRACE_A, TRACE_B]  # by start time, not file order
    assert refs(runs[0]) == ["workflow:early", "tool:read_order"]
    assert runs[0].spans[1].parent_id == "a000000000000001"  # parent from a later line
    assert refs(runs[1]) == ["workflow:late", "tool:send"]


def test_array_crlf_lines_and_trailing_blank_lines(tmp_path: Path) -> None:
    first = otlp(agent(TRACE_A, "a000000000000001", "first"))
    second = otlp(agent(TRACE_B, "b000000000000001", "second", start_ms=5))
    expected = [["workflow:first"], ["workflow:second"]]
    as_array = write(tmp_path, [first, second], "array.json")
    assert detect_format([first, second]) == "otlp"
    assert [refs(r) for r in load_runs(as_array)] == expected
    crlf = write(tmp_path, f"{json.dumps(first)}\r\n{json.dumps(second)}\r\n", "crlf.jsonl")
    assert [refs(r) for r in load_runs(crlf)] == expected
    one_line = write(tmp_path, f"\n{json.dumps(first)}\n\n\n", "one.json")
    assert [refs(r) for r in load_runs(one_line)] == expected[:1]


def test_jsonl_error_names_the_line(tmp_path: Path) -> None:
    good = json.dumps(otlp(agent(TRACE_A, "a000000000000001")))
    path = write(tmp_path, f"{good}\n{good}\n{{\"resourceSpans\": [\n", "bad.jsonl")
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.path == str(path) and err.value.line == 3
    assert str(err.value).startswith(f"{path}:3:")


@pytest.mark.parametrize(("kind", "code"), [(3, 2), ("SPAN_KIND_CLIENT", "STATUS_CODE_ERROR")])
def test_integer_and_named_enums(tmp_path: Path, kind: Any, code: Any) -> None:
    sp = tool(TRACE_A, "a000000000000002", None, "charge", {}, 0, kind=kind,
              status={"code": code, "message": "card declined"})
    run = only(load_runs(write(tmp_path, otlp(sp))))
    (call,) = run.tool_calls()
    assert call.status == "failed" and call.error == "card declined"
    assert call.attributes["span.kind"] == "client"
    assert run.final_status == "error"  # the failed tool is the root here


@pytest.mark.parametrize("code", [0, 1, "STATUS_CODE_OK", "STATUS_CODE_UNSET"])
def test_non_error_status_codes(tmp_path: Path, code: Any) -> None:
    sp = tool(TRACE_A, "a000000000000002", None, "charge", {}, 0, status={"code": code})
    assert only(load_runs(write(tmp_path, otlp(sp)))).spans[0].status == "succeeded"


def test_exception_event_is_the_error_text(tmp_path: Path) -> None:
    event = {"timeUnixNano": str(T0), "name": "exception",
             "attributes": [kv("exception.type", "TimeoutError"),
                            kv("exception.message", "upstream took 30s")]}
    sp = tool(TRACE_A, "a000000000000002", None, "lookup", {}, 0,
              status={"code": 2, "message": "ignored"}, events=[event])
    call = only(load_runs(write(tmp_path, otlp(sp)))).spans[0]
    assert call.error == "TimeoutError: upstream took 30s"


def test_attribute_value_unions(tmp_path: Path) -> None:
    sp = tool(TRACE_A, "a000000000000002", None, "t", {}, 0)
    sp["attributes"] += [
        {"key": "arr", "value": {"arrayValue": {"values": [
            {"stringValue": "a"}, {"intValue": 2}, {"boolValue": True}]}}},
        {"key": "empty_arr", "value": {"arrayValue": {}}},
        {"key": "kv", "value": {"kvlistValue": {"values": [
            {"key": "x", "value": {"doubleValue": 1.5}},
            {"key": "nested", "value": {"kvlistValue": {"values": [
                {"key": "y", "value": {"intValue": "7"}}]}}}]}}},
        {"key": "int_str", "value": {"intValue": "9007199254740993"}},
        {"key": "int_num", "value": {"intValue": 42}},
        {"key": "dbl", "value": {"doubleValue": 0.25}},
        {"key": "flag", "value": {"boolValue": False}},
        {"key": "raw", "value": {"bytesValue": "AAEC"}},
        {"key": "unset", "value": {}},
    ]
    attrs = only(load_runs(write(tmp_path, otlp(sp)))).spans[0].attributes
    assert attrs["arr"] == ["a", 2, True]
    assert attrs["empty_arr"] == []
    assert attrs["kv"] == {"x": 1.5, "nested": {"y": 7}}
    assert attrs["int_str"] == 9007199254740993
    assert attrs["int_num"] == 42
    assert attrs["dbl"] == 0.25 and attrs["flag"] is False
    assert attrs["raw"] == "AAEC"
    assert attrs["unset"] is None


def test_odd_value_types_in_mapped_attributes(tmp_path: Path) -> None:
    weird = otlp_span(TRACE_A, "a000000000000001", None, name="w", attrs={})
    weird["attributes"] = [
        {"key": "gen_ai.operation.name", "value": {"arrayValue": {"values": [
            {"stringValue": "execute_tool"}]}}},
        {"key": "gen_ai.usage.input_tokens", "value": {"kvlistValue": {}}}]
    fine = tool(TRACE_A, "a000000000000002", None, "t", {}, 1)
    fine["attributes"].append({"key": "error.type", "value": {"arrayValue": {}}})
    run = only(load_runs(write(tmp_path, otlp(weird, fine))))
    # an operation that is no string is none we know: the span is dropped, not a crash
    assert [(s.ref, s.status) for s in run.spans] == [("tool:t", "succeeded")]


def test_structured_tool_arguments_and_unknown_fields(tmp_path: Path) -> None:
    sp = otlp_span(TRACE_A, "a000000000000002", None, name="execute_tool refund", attrs={
        "gen_ai.operation.name": "execute_tool"})
    sp["attributes"].append({"key": "gen_ai.tool.call.arguments", "value": {"kvlistValue": {
        "values": [{"key": "order_id", "value": {"stringValue": "42"}}]}}})
    sp["attributes"].append(kv("gen_ai.tool.call.result", "refunded"))
    sp["droppedAttributesCount"] = 0
    sp["someFutureField"] = {"x": 1}
    doc = otlp(sp)
    doc["resourceSpans"][0]["schemaUrl"] = "https://opentelemetry.io/schemas/1.36.0"
    (call,) = only(load_runs(write(tmp_path, doc))).tool_calls()
    assert call.name == "refund"  # from the span name: execute_tool {name}
    assert call.args == {"order_id": "42"}
    assert call.result == "refunded"


def test_base64_ids_match_hex_ids(tmp_path: Path) -> None:
    parent, child = "a000000000000001", "a000000000000002"

    def b64(hex_id: str) -> str:
        return base64.b64encode(bytes.fromhex(hex_id)).decode()

    hex_doc = otlp(agent(TRACE_A, parent), tool(TRACE_A, child, parent, "t", {}, 1))
    b64_doc = otlp(agent(b64(TRACE_A), b64(parent)),
                   tool(b64(TRACE_A), b64(child), b64(parent), "t", {}, 1))
    assert b64(TRACE_A) != TRACE_A and len(b64(TRACE_A)) == 24
    from_hex = only(load_runs(write(tmp_path, hex_doc, "hex.json")))
    from_b64 = only(load_runs(write(tmp_path, b64_doc, "b64.json")))
    assert from_b64.trace_id == from_hex.trace_id == TRACE_A
    assert [(s.span_id, s.parent_id) for s in from_b64.spans] == [
        (parent, None), (child, parent)]


def test_numeric_timestamps_and_proto_field_names(tmp_path: Path) -> None:
    sp = {"trace_id": TRACE_A, "span_id": "a000000000000001", "name": "execute_tool x",
          "start_time_unix_nano": T0, "end_time_unix_nano": T0 + 2_500_000,
          "attributes": [{"key": "gen_ai.operation.name",
                          "value": {"string_value": "execute_tool"}}]}
    doc = {"resource_spans": [{"scope_spans": [{"spans": [sp]}]}]}
    (call,) = only(load_runs(write(tmp_path, doc))).tool_calls()
    assert call.name == "x"
    assert call.start_ms == T0 / 1e6 and call.end_ms == pytest.approx(T0 / 1e6 + 2.5)


def test_several_trace_ids_give_several_runs(tmp_path: Path) -> None:
    doc = otlp(agent(TRACE_B, "b000000000000001", "second", start_ms=10),
               agent(TRACE_A, "a000000000000001", "first", start_ms=0),
               tool(TRACE_B, "b000000000000002", "b000000000000001", "t2", {}, 12),
               tool(TRACE_A, "a000000000000002", "a000000000000001", "t1", {}, 2))
    runs = load_runs(write(tmp_path, doc))
    assert [(r.run_id, refs(r)) for r in runs] == [
        (TRACE_A, ["workflow:first", "tool:t1"]), (TRACE_B, ["workflow:second", "tool:t2"])]


def test_plumbing_spans_are_dropped_and_parents_skip_them(tmp_path: Path) -> None:
    doc = otlp(
        otlp_span(TRACE_A, "a000000000000001", None, name="POST /chat", kind=2, end_ms=100,
                  attrs={"http.request.method": "POST", "http.response.status_code": 200,
                         "evalloop.route": "refund_assist"}),
        agent(TRACE_A, "a000000000000003", start_ms=2),
        otlp_span(TRACE_A, "a000000000000004", "a000000000000003", name="GET", kind=3,
                  start_ms=3, attrs={"http.request.method": "GET"}),
        tool(TRACE_A, "a000000000000005", "a000000000000004", "inner", {}, 4))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["parentSpanId"] = "a000000000000002"
    run = only(load_runs(write(tmp_path, doc)))
    assert refs(run) == ["workflow:agent", "tool:inner"]
    # the agent's parent is missing from the file, the tool's is an HTTP span
    assert [s.parent_id for s in run.spans] == [None, "a000000000000003"]
    assert run.route == "refund_assist"  # read from the dropped root span
    assert run.latency_ms == pytest.approx(100)


def test_root_of_a_trace_cut_out_of_a_larger_one(tmp_path: Path) -> None:
    # no span lacks a parent: the earliest span whose parent is missing is the root
    doc = otlp(
        otlp_span(TRACE_A, "a000000000000002", "ffffffffffffffff", name="later orphan",
                  start_ms=5, end_ms=6, attrs={"http.request.method": "GET"}),
        otlp_span(TRACE_A, "a000000000000001", "eeeeeeeeeeeeeeee", name="invoke_agent a",
                  start_ms=1, end_ms=41, attrs={"gen_ai.operation.name": "invoke_agent",
                                                "gen_ai.output": "done"},
                  status={"code": 2, "message": "boom"}),
        tool(TRACE_A, "a000000000000003", "a000000000000001", "t", {}, 2))
    run = only(load_runs(write(tmp_path, doc)))
    assert refs(run) == ["workflow:a", "tool:t"]
    assert run.latency_ms == pytest.approx(40)
    assert (run.final_status, run.output) == ("error", "done")


def test_cycles_in_the_span_tree_do_not_hang(tmp_path: Path) -> None:
    a, b, c = "a000000000000001", "a000000000000002", "a000000000000003"
    doc = otlp(model_span(TRACE_A, a, b, start_ms=0, tokens=(1, 1)),
               model_span(TRACE_A, b, a, start_ms=1, tokens=(1, 1)),
               otlp_span(TRACE_A, c, c, name="loop", start_ms=2,
                         attrs={"evalloop.span.type": "policy"}))
    run = only(load_runs(write(tmp_path, doc)))
    assert sorted(s.ref for s in run.spans) == ["model:chat", "policy:loop"]
    assert all(s.parent_id != s.span_id for s in run.spans)


# --- model call deduplication -------------------------------------------------------------

def model_span(trace: str, span: str, parent: str | None, *, start_ms: float,
               tokens: tuple[int, int] | None, op: str | None = "chat",
               **attrs: Any) -> dict[str, Any]:
    a: dict[str, Any] = dict(attrs)
    if op:
        a["gen_ai.operation.name"] = op
    if tokens:
        a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"] = tokens
    return otlp_span(trace, span, parent, name=f"{op or 'call_llm'}", start_ms=start_ms,
                     end_ms=start_ms + 10, attrs=a)


def test_wrapper_and_provider_copies_of_one_call_are_merged(tmp_path: Path) -> None:
    doc = otlp(
        agent(TRACE_A, "a000000000000001"),
        model_span(TRACE_A, "a000000000000002", "a000000000000001", start_ms=1, tokens=(100, 7),
                   op=None, **{"gen_ai.request.model": "m"}),
        model_span(TRACE_A, "a000000000000003", "a000000000000002", start_ms=2, tokens=(100, 7),
                   **{"gen_ai.request.model": "m"}),
        model_span(TRACE_A, "a000000000000004", "a000000000000003", start_ms=3, tokens=(100, 7),
                   op=None, **{"llm.request.type": "chat", "gen_ai.response.model": "m-2025",
                               "gen_ai.completion.0.content": "hello",
                               "gen_ai.prompt.0.content": "hi"}),
        tool(TRACE_A, "a000000000000005", "a000000000000004", "t", {}, 4))
    run = only(load_runs(write(tmp_path, doc)))
    assert refs(run) == ["workflow:agent", "model:m", "tool:t"]
    model = run.spans[1]
    assert model.span_id == "a000000000000003"  # the gen_ai.operation.name span
    assert (model.input_tokens, model.output_tokens, model.result) == (100, 7, "hello")
    assert model.parent_id == "a000000000000001"
    assert run.spans[2].parent_id == "a000000000000003"  # seen through the dropped copy
    assert (run.input_tokens, run.output_tokens, run.output) == (100, 7, "hello")


def test_surviving_provider_span_keeps_all_attributes(tmp_path: Path) -> None:
    doc = otlp(model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=(5, 1),
                          op=None, **{"llm.request.type": "chat",
                                      "gen_ai.request.model": "gpt",
                                      "gen_ai.prompt.0.content": "hi"}))
    (model,) = only(load_runs(write(tmp_path, doc))).spans
    assert model.ref == "model:gpt"
    assert model.attributes["gen_ai.prompt.0.content"] == "hi"


def test_usage_total_on_a_wrapper_is_not_a_call(tmp_path: Path) -> None:
    doc = otlp(
        model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=(30, 3), op=None),
        model_span(TRACE_A, "a000000000000002", "a000000000000001", start_ms=1, tokens=(10, 1)),
        model_span(TRACE_A, "a000000000000003", "a000000000000001", start_ms=2, tokens=(20, 2)))
    run = only(load_runs(write(tmp_path, doc)))
    assert [s.span_id for s in run.spans] == ["a000000000000002", "a000000000000003"]
    assert (run.input_tokens, run.output_tokens) == (30, 3)


def test_nested_calls_with_different_usage_are_separate(tmp_path: Path) -> None:
    doc = otlp(
        model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=(10, 1)),
        model_span(TRACE_A, "a000000000000002", "a000000000000001", start_ms=1, tokens=(20, 2)))
    run = only(load_runs(write(tmp_path, doc)))
    assert len(run.spans) == 2 and (run.input_tokens, run.output_tokens) == (30, 3)


# --- evalloop.* overrides ---------------------------------------------------------------------

def test_evalloop_span_attributes_override_inference(tmp_path: Path) -> None:
    doc = otlp(
        agent(TRACE_A, "a000000000000001", **{
            "evalloop.stop_reason": "needs_human_approval",
            "evalloop.final_status": "needs_human", "evalloop.route": "refund_assist"}),
        otlp_span(TRACE_A, "a000000000000002", "a000000000000001", name="check threshold",
                  start_ms=1, attrs={"evalloop.span.type": "policy",
                                     "evalloop.span.name": "refund_threshold",
                                     "evalloop.span.status": "denied"}),
        otlp_span(TRACE_A, "a000000000000003", "a000000000000001", name="POST /approvals",
                  start_ms=2, kind=3, attrs={"http.request.method": "POST",
                                             "evalloop.span.type": "approval",
                                             "evalloop.span.name": "required",
                                             "evalloop.span.status": "waiting"}),
        otlp_span(TRACE_A, "a000000000000004", "a000000000000001", name="execute_tool email",
                  start_ms=3, attrs={"gen_ai.operation.name": "execute_tool",
                                     "gen_ai.tool.name": "send_email",
                                     "gen_ai.tool.call.arguments": '{"to": "c"}',
                                     "evalloop.span.type": "message",
                                     "evalloop.span.name": "customer_promise_sent"}),
        otlp_span(TRACE_A, "a000000000000005", "a000000000000001", name="execute_tool x",
                  start_ms=4, attrs={"gen_ai.operation.name": "execute_tool",
                                     "gen_ai.tool.name": "lookup",
                                     "evalloop.span.name": "read_order"}))
    run = only(load_runs(write(tmp_path, doc)))
    assert [(s.ref, s.status) for s in run.spans] == [
        ("workflow:agent", "succeeded"), ("policy:refund_threshold", "denied"),
        ("approval:required", "waiting"), ("message:customer_promise_sent", "succeeded"),
        ("tool:read_order", "succeeded")]
    assert run.spans[3].args == {"to": "c"}  # what the span recorded is kept
    assert (run.stop_reason, run.final_status, run.route) == (
        "needs_human_approval", "needs_human", "refund_assist")


def test_outcome_attributes_on_a_later_span(tmp_path: Path) -> None:
    doc = otlp(agent(TRACE_A, "a000000000000001", **{"evalloop.route": "root_route"}),
               otlp_span(TRACE_A, "a000000000000002", "a000000000000001", start_ms=5,
                         attrs={"evalloop.stop_reason": "early", "evalloop.route": "child"}),
               otlp_span(TRACE_A, "a000000000000003", "a000000000000001", start_ms=9,
                         attrs={"evalloop.stop_reason": "late"}))
    run = only(load_runs(write(tmp_path, doc)))
    assert (run.stop_reason, run.route) == ("late", "root_route")


@pytest.mark.parametrize(("attrs", "message"), [
    ({"evalloop.span.type": "polcy"}, "evalloop.span.type 'polcy' is not one of model, tool"),
    ({"evalloop.span.type": "policy", "evalloop.span.status": "ok"},
     "evalloop.span.status 'ok' is not one of succeeded"),
    ({"evalloop.span.name": "x"}, "evalloop.span.name/status without evalloop.span.type"),
])
def test_bad_evalloop_attributes_are_errors(tmp_path: Path, attrs: dict[str, Any],
                                            message: str) -> None:
    path = write(tmp_path, otlp(otlp_span(TRACE_A, "a000000000000001", None, name="n",
                                          attrs=attrs)))
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.path == str(path)
    assert message in err.value.message and "a000000000000001" in err.value.message


# --- OpenInference ---------------------------------------------------------------------------

def oi_doc() -> dict[str, Any]:
    return otlp(
        otlp_span(TRACE_A, "a000000000000001", None, name="agent", end_ms=50, attrs={
            "openinference.span.kind": "AGENT", "agent.name": "support",
            "output.value": "Refund requested.", "output.mime_type": "text/plain"}),
        otlp_span(TRACE_A, "a000000000000002", "a000000000000001", name="ChatOpenAI",
                  start_ms=1, attrs={"openinference.span.kind": "LLM",
                                     "llm.model_name": "gpt-4o", "llm.token_count.prompt": 50,
                                     "llm.token_count.completion": 5, "llm.cost.total": 0.01,
                                     "llm.output_messages.0.message.content": "calling"}),
        otlp_span(TRACE_A, "a000000000000003", "a000000000000001", name="read_order",
                  start_ms=2, attrs={"openinference.span.kind": "TOOL",
                                     "tool.name": "read_order", "input.value": '{"id": "7"}',
                                     "output.value": '{"amount": 640}'}),
        otlp_span(TRACE_A, "a000000000000004", "a000000000000001", name="kb", start_ms=3,
                  attrs={"openinference.span.kind": "RETRIEVER", "input.value": "refunds"}),
        otlp_span(TRACE_A, "a000000000000005", "a000000000000001", name="pii_check",
                  start_ms=4, attrs={"openinference.span.kind": "GUARDRAIL"}),
        otlp_span(TRACE_A, "a000000000000006", "a000000000000001", name="rerank",
                  start_ms=5, attrs={"openinference.span.kind": "RERANKER"}),
        otlp_span(TRACE_A, "a000000000000007", "a000000000000001", name="fmt",
                  start_ms=6, attrs={"openinference.span.kind": "CHAIN"}))


def test_openinference_spans(tmp_path: Path) -> None:
    doc = oi_doc()
    assert detect_format(doc) == "openinference"
    run = only(load_runs(write(tmp_path, doc)))
    assert refs(run) == ["workflow:support", "model:gpt-4o", "tool:read_order",
                         "retrieval:kb", "policy:pii_check", "retrieval:rerank", "workflow:fmt"]
    assert run.source is not None and run.source.startswith("openinference:")
    assert run.spans[2].args == {"id": "7"} and run.spans[2].result == {"amount": 640}
    assert run.spans[3].args == {"query": "refunds"}
    assert (run.input_tokens, run.output_tokens, run.cost_usd) == (50, 5, 0.01)
    assert run.spans[1].result == "calling"
    assert run.output == "Refund requested."  # the agent's output, not the model's text


def test_forced_openinference_prefers_its_attributes(tmp_path: Path) -> None:
    sp = otlp_span(TRACE_A, "a000000000000001", None, name="both", attrs={
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "genai_name",
        "openinference.span.kind": "TOOL", "tool.name": "oi_name"})
    path = write(tmp_path, otlp(sp))
    assert refs(only(load_runs(path, fmt="otlp"))) == ["tool:genai_name"]
    assert refs(only(load_runs(path, fmt="openinference"))) == ["tool:oi_name"]


# --- native runs ------------------------------------------------------------------------------

NATIVE = {"run_id": "r1", "spans": [
    {"type": "tool", "name": "read_order", "args": {"order_id": "o1"}, "result": {"a": 1}},
    {"type": "approval", "name": "required", "status": "waiting"}],
    "stop_reason": "needs_human_approval", "final_status": "needs_human", "output": "ok"}


@pytest.mark.parametrize("shape", ["object", "list", "runs"])
def test_native_runs(tmp_path: Path, shape: str) -> None:
    data: Any = {"object": NATIVE, "list": [NATIVE, NATIVE],
                 "runs": {"runs": [NATIVE, {"spans": []}]}}[shape]
    assert detect_format(data) == "native"
    path = write(tmp_path, data)
    runs = load_runs(path)
    assert runs[0] == Run.model_validate({**NATIVE, "source": f"native:{path}"})
    assert refs(runs[0]) == ["tool:read_order", "approval:required"]
    if shape == "runs":
        assert runs[1].run_id == "trace#2" and runs[1].spans == []


def test_native_json_lines(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(NATIVE) + "\n" + json.dumps({**NATIVE, "run_id": "r2"}),
                 "runs.jsonl")
    assert [r.run_id for r in load_runs(path)] == ["r1", "r2"]


def test_native_round_trip_of_an_imported_run(tmp_path: Path) -> None:
    run = only(load_runs(ADK / "S2.json"))
    path = write(tmp_path, run.model_dump_json())
    again = only(load_runs(path))
    assert again == run


@pytest.mark.parametrize(("data", "where"), [
    ({"runs": [NATIVE, {"spans": [{"type": "tool", "name": "a"}, {"type": "nope", "name": "b"}]}]},
     "$.runs[1].spans[1].type"),
    ([NATIVE, {**NATIVE, "extra_key": 1}], "$[1].extra_key"),
    ({"spans": [{"type": "tool"}]}, "$.spans[0].name"),
])
def test_native_errors_name_the_json_path(tmp_path: Path, data: Any, where: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.path == str(path)
    assert f"invalid run at {where}:" in err.value.message
    assert "\n" not in str(err.value)


def test_native_json_lines_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(NATIVE) + "\n" + json.dumps({"spans": [{"type": "x"}]}),
                 "runs.jsonl")
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.line == 2 and "invalid run at $.spans[0]" in err.value.message


# --- unusable input ---------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file"),
    ("  \n\n", "empty file"),
    ("{\"resourceSpans\": [", "not JSON"),
    ("not json at all", "not JSON"),
    ("{\"hello\": \"world\"}", "unknown trace format: an object with keys hello"),
    ("[1, 2]", "unknown trace format: a list whose first item is a JSON int"),
    ("42", "unknown trace format: a JSON int"),
    ("[]", "unknown trace format: an empty list"),
    ("{\"resourceSpans\": []}", "no spans found"),
    ("{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": []}]}]}", "no spans found"),
    ("{\"batches\": [{\"instrumentationLibrarySpans\": []}]}", "no spans found"),
    ("{\"resourceLogs\": [{\"scopeLogs\": []}]}", "no spans found"),
    ("{\"data\": []}", "no spans found: the Jaeger data holds no spans"),
    ("{\"resourceSpans\": {\"not\": \"a list\"}}", "malformed OTLP span data at resourceSpans"),
])
def test_unusable_input_is_an_error_with_the_path(tmp_path: Path, content: str,
                                                  message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.path == str(path)
    assert message in err.value.message, err.value.message
    assert str(err.value).startswith(str(path))


def test_not_json_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "resourceSpans": [\n    oops\n  ]\n}\n')
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert (err.value.line, err.value.col) == (3, 5)


def test_only_plumbing_spans_is_no_spans_found(tmp_path: Path) -> None:
    doc = otlp(otlp_span(TRACE_A, "a000000000000001", None, name="GET /health", kind=2,
                         attrs={"http.request.method": "GET"}))
    with pytest.raises(EvalloopError) as err:
        load_runs(write(tmp_path, doc))
    assert err.value.message.startswith("no spans found: 1 span(s) in 1 trace(s), none with")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EvalloopError) as err:
        load_runs(tmp_path / "missing.json")
    assert err.value.path == str(tmp_path / "missing.json")
    assert err.value.message.startswith("cannot read file")
    with pytest.raises(EvalloopError, match="cannot read file"):
        load_runs(tmp_path)  # a directory


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert err.value.path == str(path)


def test_forced_format_that_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(EvalloopError) as err:
        load_runs(JAEGER, fmt="otlp")
    assert "not an OTLP/JSON document" in err.value.message and err.value.path == str(JAEGER)
    with pytest.raises(EvalloopError, match="unknown trace format 'zipkin'"):
        load_runs(JAEGER, fmt="zipkin")
    with pytest.raises(EvalloopError, match="not a Jaeger JSON document"):
        load_runs(TEMPO, fmt="jaeger")


def test_formats_tuple() -> None:
    assert FORMATS == ("native", "otlp", "openinference", "jaeger", "any_agent", "langfuse",
                       "aws", "spans")


# --- measurements that are not numbers, numbers no reader takes -------------------------------

def _budget_messages(run: Run, **limits: Any) -> list[str]:
    from evalloop.evaluate.evaluator import evaluate
    from evalloop.model.fixture import Fixture
    fx = Fixture.model_validate({"id": "b", "expected": {"budget": limits}})
    return [v.message for v in evaluate(fx, run).violations]


@pytest.mark.parametrize(("value", "raw"), [
    ({"stringValue": "Infinity"}, "'Infinity'"),
    ({"stringValue": "NaN"}, "'NaN'"),
    ({"stringValue": "abc"}, "'abc'"),
    ({"doubleValue": 1.5}, "1.5"),
    ({"intValue": "9" * 5000}, "'9999999999999999999999999999999999999...' (5000 characters)"),
])
def test_token_counts_that_are_not_counts_cannot_be_judged(tmp_path: Path, value: dict[str, Any],
                                                           raw: str) -> None:
    sp = model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=None)
    sp["attributes"] += [{"key": "gen_ai.usage.input_tokens", "value": value},
                         kv("gen_ai.usage.output_tokens", 7)]
    (run,) = load_runs(write(tmp_path, otlp(sp)))
    assert run.spans[0].input_tokens is None and run.spans[0].output_tokens == 7
    assert [tuple(u) for u in run.unjudged()] == [("input_tokens", 0, raw)]
    (msg,) = _budget_messages(run, max_tokens=100)
    assert msg.startswith(f"budget cannot be judged: input_tokens of span 0 (model:chat) is {raw}, not a "
                          "count"), msg


@pytest.mark.parametrize(("value", "why"), [
    ({"stringValue": "Infinity"}, "is infinite (inf)"),
    ({"stringValue": "NaN"}, "is NaN"),
    ({"doubleValue": -0.25}, "is negative (-0.25)"),
    ({"stringValue": "abc"}, "is 'abc', not a number"),
])
def test_costs_that_are_not_costs_cannot_be_judged(tmp_path: Path, value: dict[str, Any],
                                                   why: str) -> None:
    sp = model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=(1, 1))
    cheap = model_span(TRACE_A, "a000000000000002", None, start_ms=20, tokens=(1, 1),
                       **{"gen_ai.usage.cost": 0.01})
    sp["attributes"].append({"key": "gen_ai.usage.cost", "value": value})
    (run,) = load_runs(write(tmp_path, otlp(sp, cheap)))
    # never a passing number, neither on the span nor in the run's total
    msgs = _budget_messages(run, max_cost_usd=1)
    assert len(msgs) == 1 and msgs[0].startswith("budget cannot be judged: cost_usd of ")
    assert msgs[0].startswith(f"budget cannot be judged: cost_usd of span 0 (model:chat) {why}"), msgs


@pytest.mark.parametrize(("start", "end", "why"), [
    ("abc", str(T0 + 5_000_000), "latency_ms of the run is NaN"),
    (str(T0 + 5_000_000), str(T0), "latency_ms of the run is negative (-5): the run ends before it starts"),
    ("9" * 5000, str(T0), "latency_ms of the run is infinite (-inf)"),
    ([1, 2], str(T0), "latency_ms of the run is NaN"),
])
def test_span_times_that_cannot_be_read_import_and_fail_the_latency_budget(
        tmp_path: Path, start: Any, end: str, why: str) -> None:
    sp = model_span(TRACE_A, "a000000000000001", None, start_ms=0, tokens=(1, 1))
    sp["startTimeUnixNano"], sp["endTimeUnixNano"] = start, end
    (run,) = load_runs(write(tmp_path, otlp(sp)))
    assert run.input_tokens == 1  # the rest of the span still counts
    (msg,) = _budget_messages(run, max_latency_ms=1000)
    assert msg.startswith(f"budget cannot be judged: {why}"), msg


def test_jaeger_and_any_agent_times_that_cannot_be_read(tmp_path: Path) -> None:
    jaeger = {"data": [{"traceID": "t1", "spans": [{
        "traceID": "t1", "spanID": "s1", "operationName": "chat m", "startTime": "soon",
        "duration": 5, "tags": [{"key": "gen_ai.operation.name", "type": "string", "value": "chat"},
                                {"key": "gen_ai.usage.input_tokens", "type": "int64", "value": "9" * 5000}]}]}]}
    (run,) = load_runs(write(tmp_path, jaeger, "jaeger.json"))
    msgs = _budget_messages(run, max_latency_ms=10, max_tokens=10)
    assert [m.split(":")[0] for m in msgs] == ["budget cannot be judged"] * 2, msgs
    any_agent = {"spans": [{"name": "call_llm m", "context": {"trace_id": 1, "span_id": 2},
                            "start_time": "yesterday", "end_time": 5_000_000,
                            "attributes": {"gen_ai.operation.name": "call_llm",
                                           "gen_ai.usage.input_cost": "free",
                                           "gen_ai.usage.output_cost": 0.01}}],
                 "final_output": "x"}
    (run,) = load_runs(write(tmp_path, any_agent, "any.json"))
    assert math.isnan(run.spans[0].start_ms or 0.0) and math.isnan(run.spans[0].cost_usd or 0.0)
    msgs = _budget_messages(run, max_cost_usd=1)
    # (the one more: the run's total, summed from it, is NaN too)
    assert msgs == ["budget cannot be judged: cost_usd of span 0 (model:m) is 'free', not a number "
                    "(and 1 more); the budget is cost_usd <= 1"]


def test_nan_and_infinity_as_python_writes_them_are_read(tmp_path: Path) -> None:
    # json.dumps writes NaN and Infinity; orjson refuses them. Such a run is read,
    # and its budget cannot be judged, rather than the file being "not JSON".
    text = json.dumps({**NATIVE, "cost_usd": float("nan"), "latency_ms": float("inf")})
    (run,) = load_runs(write(tmp_path, text))
    assert math.isnan(run.cost_usd or 0.0) and run.latency_ms == math.inf
    lines = write(tmp_path, json.dumps(NATIVE) + "\n" + text + "\n", "runs.jsonl")
    assert len(load_runs(lines)) == 2
    # ... and only them: a lone surrogate is still refused with orjson's message
    with pytest.raises(EvalloopError, match="not JSON"):
        load_runs(write(tmp_path, '{"output": "\\ud800", "cost_usd": NaN}'))


@pytest.mark.parametrize("text", [
    '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "startTimeUnixNano": '
    + "9" * 5000 + "}]}]}]}",
    '{"output": "x", "cost_usd": NaN, "input_tokens": ' + "9" * 5000 + "}",
    '{"spans": [{"name": "x", "context": {"trace_id": 1}}], "final_output": "x"}\n'
    '{"spans": [{"name": "x", "context": {"trace_id": ' + "9" * 5000 + "}}], \"final_output\": \"x\"}\n",
])
def test_a_5000_digit_number_is_a_one_line_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(EvalloopError) as err:
        load_runs(path)
    assert "not JSON" in err.value.message and "\n" not in str(err.value)
    assert err.value.path == str(path)

"""The example agent's OpenTelemetry instrumentation: the exporter's lines, and traces that
import as the spans the harness records for the same request."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalloop.harness.manifest import load_manifest
from evalloop.harness.protocol import Session
from evalloop.harness.toolbox import agent_context
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from evalloop.repo import fixtures
from evalloop.repo.config import load_config
from evalloop.traces.load import load_runs
from tests.support import DATA
from tests.unit.examples import EXAMPLE, example_module

telemetry = example_module("refund_agent.telemetry")
simulate = example_module("simulate")
MANIFEST = load_manifest(EXAMPLE / "tools" / "refund.yaml")
HEX32, HEX16 = re.compile(r"[0-9a-f]{32}"), re.compile(r"[0-9a-f]{16}")


def traced(requests: list[tuple[dict[str, Any], Any]], tmp_path: Path, bypass: bool = False,
           max_batch: int = 512) -> tuple[list[Run], list[dict[str, Any]]]:
    """Each (request, backend context) through the instrumented agent: the imported runs and the lines."""
    buf = io.StringIO()
    provider = telemetry.tracer_provider(telemetry.OtlpJsonLinesExporter(buf), max_batch=max_batch)
    tracer = provider.get_tracer(telemetry.SCOPE)
    for request, context in requests:
        tools, _ = simulate.local_tools(context, MANIFEST)
        telemetry.traced_run(request, tools, tracer=tracer, artifacts=simulate.revision("baseline", bypass))
    provider.shutdown()
    path = tmp_path / "traces.jsonl"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return load_runs(path), [json.loads(line) for line in buf.getvalue().splitlines()]


def spans(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for r in doc["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]]


# --- the file -----------------------------------------------------------------------------

def test_lines_are_otlp_json_as_the_collector_writes_them(tmp_path: Path) -> None:
    order = {"order_id": "ord_1", "amount": 640}
    runs, lines = traced([
        ({"input": {"user_message": "Refund this order.", "order_id": "ord_1"}, "context": {}},
         {"tool_outputs": {"read_order": order, "draft_refund_request": {"draft_id": "d1"}},
          "tool_faults": [{"tool": "read_order", "kind": "timeout", "call": 1}]}),
    ], tmp_path, max_batch=4)
    assert len(runs) == 1
    n = len(runs[0].spans)
    assert n > 4 and [len(spans(doc)) for doc in lines] == [4] * (n // 4) + ([n % 4] if n % 4 else [])
    assert all(list(doc) == ["resourceSpans"] for doc in lines)
    resource = {a["key"]: a["value"] for a in lines[0]["resourceSpans"][0]["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "refund-support-agent"}
    assert lines[0]["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] == "refund_agent"
    every = [s for doc in lines for s in spans(doc)]
    # the same keys as a span the Python SDK exported through OTLP (tests/data/traces/adk_otlp)
    real = spans(json.loads((DATA / "traces" / "adk_otlp" / "S1.json").read_text()))[0]
    assert all(set(s) == set(real) for s in every), (set(every[0]), set(real))
    root = next(s for s in every if s["parentSpanId"] == "")
    assert root["name"] == "invoke_agent refund-support-agent"
    for s in every:
        assert HEX32.fullmatch(s["traceId"]) and HEX16.fullmatch(s["spanId"])
        assert s is root or HEX16.fullmatch(s["parentSpanId"])
        assert s["startTimeUnixNano"].isdigit() and int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"])
        assert isinstance(s["kind"], int)
    chat = next(s for s in every if s["name"].startswith("chat "))
    values = {a["key"]: a["value"] for a in chat["attributes"]}
    assert chat["kind"] == 3 and values["gen_ai.usage.input_tokens"]["intValue"].isdigit()
    assert isinstance(values["gen_ai.usage.cost"]["doubleValue"], float)
    timeout = next(s for s in every if s["name"] == "execute_tool read_order")
    assert timeout["status"] == {"code": 2, "message": "read_order timed out (injected fault)"}
    attrs = {a["key"]: a["value"]["stringValue"] for a in timeout["attributes"] if "stringValue" in a["value"]}
    assert attrs["error.type"] == "timeout" and attrs["gen_ai.tool.call.id"].startswith("call_")


def test_the_agent_runs_without_opentelemetry() -> None:
    # an import of any opentelemetry module fails, as where the package is not installed
    code = ("import sys; sys.modules['opentelemetry'] = None; sys.path.insert(0, sys.argv[1]);"
            "import simulate;"
            "from evalloop.harness.manifest import load_manifest;"
            "manifest = load_manifest(simulate.HOME / 'tools' / 'refund.yaml');"
            "tools, box = simulate.local_tools({'tool_outputs': {'read_order': {'amount': 120}}}, manifest);"
            "import refund_agent;"
            "print(refund_agent.run({'input': {'user_message': 'refund please', 'order_id': 'o1'}}, tools)"
            "['stop_reason']);"
            "sys.exit(simulate.main(['--out', sys.argv[2]]))")
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLE), os.devnull], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.strip() == "refund_issued"
    assert proc.stderr.strip() == ("simulate.py: needs opentelemetry-sdk and "
                                   "opentelemetry-exporter-otlp-proto-common: pip install 'evalloop[otel]'")


# --- the same spans as the harness -----------------------------------------------------------

def essence(run: Run) -> list[tuple[Any, ...]]:
    return [(s.ref, s.status, s.args, s.result, s.error, s.input_tokens, s.output_tokens, s.cost_usd)
            for s in run.spans]


def outcome(run: Run) -> tuple[Any, ...]:
    return (run.route, run.stop_reason, run.final_status, run.output, run.input_tokens, run.output_tokens,
            pytest.approx(run.cost_usd, rel=1e-9))


Want = Callable[[Any], bool]
# Simulated requests picked for what they exercise: every branch of both workflows,
# every fault kind, every approval decision.
WANTED: dict[str, Want] = {
    "above threshold": lambda c: c.labels["amount"] > 500 and c.labels["topic"] == "refund",
    "approved": lambda c: c.backend["approvals"]["required"] == "approved" and c.labels["amount"] > 500,
    "denied": lambda c: c.backend["approvals"]["required"] == "denied" and c.labels["amount"] > 500,
    "flagged": lambda c: c.labels["customer_status"] == "flagged" and c.labels["amount"] < 500,
    "shipping without eta": lambda c: c.labels["topic"] == "shipping" and not
    c.backend["tool_outputs"]["track_shipment"]["eta"],
    "no order id": lambda c: "order_id" not in c.request["input"],
    **{f"{tool} {kind}": (lambda c, t=tool, k=kind: any(
        (f["tool"], f["kind"], f["call"]) == (t, k, 1) for f in c.backend["tool_faults"]))
       for tool, kind in (("read_order", "timeout"), ("read_order", "error"), ("read_order", "malformed"),
                          ("read_order", "partial"))},
    "track_shipment timeout": lambda c: c.labels["topic"] == "shipping" and any(
        (f["tool"], f["kind"]) == ("track_shipment", "timeout") for f in c.backend["tool_faults"]),
    "issue_refund error": lambda c: c.labels["topic"] == "refund" and c.labels["amount"] <= 500
    and c.labels["customer_status"] == "standard" and any(
        (f["tool"], f["kind"]) == ("issue_refund", "error") for f in c.backend["tool_faults"]),
}


def chosen_cases() -> list[Any]:
    cases: dict[str, Any] = {}
    for i in range(5000):
        case = simulate.make_case(i, 7, 0, 500.0)
        for what, want in WANTED.items():
            if what not in cases and want(case):
                cases[what] = case
    assert set(cases) == set(WANTED), set(WANTED) - set(cases)
    return list(cases.values())


@pytest.mark.parametrize("bypass", [False, True], ids=["current workflow", "bypass workflow"])
def test_traces_import_as_the_harness_records_the_same_requests(tmp_path: Path, bypass: bool) -> None:
    root = tmp_path / "refund-support"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    if bypass:
        shutil.copyfile(root / "revisions/bypass/workflows/refund.yaml", root / "workflows/refund.yaml")
    config = load_config(root)
    assert config.agent is not None
    cases = [fixtures.load_file(root, config, p, p.name).fixture
             for p in sorted((root / "fixtures").glob("*.yaml"))]
    cases += [Fixture.model_validate({"id": f"sim-{i}", "input": c.request["input"],
                                      "context": {**c.request["context"], **c.backend}})
              for i, c in enumerate(chosen_cases())]
    with Session(root, config.agent) as session:
        recorded = [session.run(f) for f in cases]
    imported, _ = traced([({"input": f.input, "context": agent_context(f.context)}, f.context) for f in cases],
                         tmp_path, bypass=bypass)
    assert len(imported) == len(recorded) == len(cases) > 15
    for fixture, want, got in zip(cases, recorded, imported, strict=True):
        # the root invoke_agent span is one span more: the agent itself
        assert got.spans[0].ref == "workflow:refund-support-agent" and got.spans[0].parent_id is None
        assert essence(got)[1:] == essence(want), fixture.id
        assert all(s.parent_id == got.spans[0].span_id for s in got.spans[1:])
        assert outcome(got) == outcome(want), fixture.id
    kinds = {s.ref for r in recorded for s in r.spans}
    # what the comparison covered
    assert {"message:customer_promise_sent", "approval:required", "tool:issue_refund",
            "tool:send_customer_email", "tool:track_shipment", "message:shipping_status"} <= kinds
    assert {s.status for r in recorded for s in r.spans} >= {"failed", "waiting", "succeeded", "denied"}

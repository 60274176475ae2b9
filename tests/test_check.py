"""`evalloop check FIXTURE TRACE` through the real command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import PROJECT, invoke, run_evalloop, write

SEED = PROJECT / "fixtures" / "refund"
REGRESSION = SEED / "refund-approval-bypass-regression.json"
TRAJECTORY = SEED / "refund-approval-bypass-trajectory.yaml"


def span(ref: str, **kw: Any) -> dict[str, Any]:
    kind, name = ref.split(":", 1)
    return {"type": kind, "name": name, **kw}


BYPASS: dict[str, Any] = {
    "run_id": "bypass-1",
    "route": "refund_assist",
    "spans": [
        span("tool:read_order", args={"order_id": "ord_redacted"}, span_id="a1"),
        span("retrieval:refund_policy"),
        span("policy:refund_threshold"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted"}, span_id="a4"),
        span("message:customer_promise_sent", span_id="a5"),
    ],
    "stop_reason": "completed",
    "final_status": "resolved",
    "output": "Your refund has been approved.",
    "cost_usd": 0.01,
    "latency_ms": 1500,
}

FIXED: dict[str, Any] = {
    **BYPASS,
    "run_id": "fixed-1",
    "spans": [
        span("tool:read_order", args={"order_id": "ord_redacted"}),
        span("retrieval:refund_policy"),
        span("policy:refund_threshold"),
        span("approval:required", status="waiting"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted"}),
    ],
    "stop_reason": "needs_human_approval",
    "final_status": "needs_human",
    "output": "A support lead will review your refund request.",
}


def trace(tmp_path: Path, *runs: dict[str, Any], name: str = "trace.json") -> Path:
    doc: Any = runs[0] if len(runs) == 1 else {"runs": list(runs)}
    return write(tmp_path / name, json.dumps(doc))


def test_fixed_run_passes(tmp_path: Path) -> None:
    r = invoke("check", str(TRAJECTORY), str(trace(tmp_path, FIXED)))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS refund-approval-bypass-trajectory run fixed-1")
    assert r.output.count("\n") == 1


def test_bypass_fails_with_evidence(tmp_path: Path) -> None:
    r = invoke("check", str(TRAJECTORY), str(trace(tmp_path, BYPASS)))
    assert r.exit_code == 1
    lines = r.output.splitlines()
    assert lines[0].startswith("FAIL refund-approval-bypass-trajectory run bypass-1")
    assert lines[0].endswith(": 6 violations")
    kinds = [m.group(1) for m in re.finditer(r"^  (\w+): ", r.output, re.M)]
    assert kinds == ["missing_span", "forbidden_span", "order", "stop_reason", "final_status",
                     "output_contains"]
    assert "      at: span 4 message:customer_promise_sent id a5" in lines
    assert "      at: span 3 tool:draft_refund_request id a4" in lines
    assert "      expected: needs_human_approval" in lines
    assert "      actual: completed" in lines


def test_json_format_is_the_verdict(tmp_path: Path) -> None:
    r = invoke("check", str(REGRESSION), str(trace(tmp_path, BYPASS)), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["fixture_id"] == "refund-approval-bypass-regression"
    assert doc["run_id"] == "bypass-1" and doc["passed"] is False
    kinds = [v["kind"] for v in doc["violations"]]
    assert kinds == ["missing_span", "forbidden_span", "stop_reason", "output_contains"]
    forbidden = doc["violations"][1]["evidence"]
    assert forbidden["span_index"] == 4 and forbidden["span_id"] == "a5"
    assert forbidden["ref"] == "message:customer_promise_sent"


def test_seed_fixtures_through_a_subprocess(tmp_path: Path) -> None:
    bypass, fixed = trace(tmp_path, BYPASS, name="b.json"), trace(tmp_path, FIXED, name="f.json")
    for fixture in ("incident-2026-04-18-refund-approval-bypass.json",
                    "refund-approval-bypass-regression.json"):
        fail = run_evalloop("check", str(SEED / fixture), str(bypass), cwd=tmp_path)
        assert fail.returncode == 1, fail.stderr
        assert fail.stdout.startswith("FAIL ") and fail.stderr == ""
        ok = run_evalloop("check", str(SEED / fixture), str(fixed), cwd=tmp_path)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.startswith("PASS ")


def test_several_runs_need_a_choice(tmp_path: Path) -> None:
    path = trace(tmp_path, BYPASS, FIXED)
    r = invoke("check", str(REGRESSION), str(path))
    assert r.exit_code == 2
    assert "holds 2 runs; choose one with --run: bypass-1, fixed-1" in r.output
    assert invoke("check", str(REGRESSION), str(path), "--run", "fixed-1").exit_code == 0
    assert invoke("check", str(REGRESSION), str(path), "--run", "bypass-1").exit_code == 1
    r = invoke("check", str(REGRESSION), str(path), "--run", "nope")
    assert r.exit_code == 2 and "no run 'nope'" in r.output


def test_runs_without_ids_are_listed_by_the_ids_the_importer_gives(tmp_path: Path) -> None:
    a, b = {**BYPASS, "run_id": None}, {**FIXED, "run_id": None}
    path = trace(tmp_path, a, b)
    r = invoke("check", str(REGRESSION), str(path))
    assert r.exit_code == 2
    ids = r.output.rsplit("--run: ", 1)[1].strip().split(", ")
    assert len(ids) == 2
    assert invoke("check", str(REGRESSION), str(path), "--run", ids[1]).exit_code == 0
    assert invoke("check", str(REGRESSION), str(path), "--run", ids[0]).exit_code == 1


def test_forced_trace_format(tmp_path: Path) -> None:
    path = trace(tmp_path, FIXED)
    assert invoke("check", str(REGRESSION), str(path), "--trace-format", "native").exit_code == 0
    r = invoke("check", str(REGRESSION), str(path), "--trace-format", "otlp")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_schema_error_points_at_the_value(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.yaml", "id: x\nexpected:\n  tool_sequence:\n"
                    "    mode: sideways\n    calls: []\n")
    r = run_evalloop("check", str(fixture), str(trace(tmp_path, FIXED)), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"evalloop: error: {fixture}:4:11: invalid fixture: "
                               "expected.tool_sequence.mode: ")


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.yaml", "id: x\nexpected:\n  forbiden_spans: [tool:a]\n")
    r = invoke("check", str(fixture), str(trace(tmp_path, FIXED)))
    assert r.exit_code == 2
    assert f"{fixture}:3:3: invalid fixture: expected.forbiden_spans" in r.output


def test_malformed_fixture(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.json", '{"id": "x", "expected": {')
    r = invoke("check", str(fixture), str(trace(tmp_path, FIXED)))
    assert r.exit_code == 2 and f"{fixture}:1:" in r.output and "invalid JSON" in r.output


def test_invalid_regex_points_at_it(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.yaml", "id: x\nexpected:\n  output_must_contain:\n"
                    "    - fine\n    - {regex: '(unclosed'}\n")
    r = invoke("check", str(fixture), str(trace(tmp_path, FIXED)))
    assert r.exit_code == 2
    assert f"{fixture}:5:15: invalid fixture: invalid regex '(unclosed'" in r.output


def test_missing_and_unusable_files(tmp_path: Path) -> None:
    good = trace(tmp_path, FIXED)
    r = invoke("check", str(tmp_path / "nope.yaml"), str(good))
    assert r.exit_code == 2 and "no such fixture file" in r.output
    r = invoke("check", str(REGRESSION), str(tmp_path / "nope.json"))
    assert r.exit_code == 2 and "no such trace file" in r.output
    junk = write(tmp_path / "junk.json", '{"hello": "world"}')
    p = run_evalloop("check", str(REGRESSION), str(junk), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr and str(junk) in p.stderr
    assert p.stderr.count("\n") == 1


def test_hostile_strings_are_defused(tmp_path: Path) -> None:
    hostile = {
        **BYPASS,
        "run_id": "r\x1b[2J1",
        "spans": [span("message:customer_promise_sent", span_id="\x1b]0;owned\x07id\u202e")],
        "output": "approved\x1b[31m red \x07\rover",
    }
    r = run_evalloop("check", str(REGRESSION), str(trace(tmp_path, hostile)), cwd=tmp_path)
    assert r.returncode == 1
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\r" not in r.stdout
    assert "\u202e" not in r.stdout and "\\u202e" in r.stdout
    assert "id id\\u202e" in r.stdout
    j = run_evalloop("check", str(REGRESSION), str(trace(tmp_path, hostile)), "--format", "json",
                     cwd=tmp_path)
    assert "\x1b" not in j.stdout
    assert json.loads(j.stdout)["run_id"] == "r\x1b[2J1"  # JSON keeps the value, escaped


def test_hostile_keys_in_a_fixture_are_defused(tmp_path: Path) -> None:
    fixture = write(tmp_path / "f.json", json.dumps({"id": "x", "expected": {"\x1b[2Jbad": 1}}))
    r = run_evalloop("check", str(fixture), str(trace(tmp_path, FIXED)), cwd=tmp_path)
    assert r.returncode == 2 and "\x1b" not in r.stderr and "expected.bad: Extra inputs" in r.stderr

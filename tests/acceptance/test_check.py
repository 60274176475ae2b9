"""`evalloop check FIXTURE TRACE` through the real command line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support import PROJECT, invoke, run_evalloop, write

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


def test_several_runs_are_each_judged(tmp_path: Path) -> None:
    path = trace(tmp_path, BYPASS, FIXED)
    r = invoke("check", str(REGRESSION), str(path))
    assert r.exit_code == 1, r.output
    rows = [line.split() for line in r.output.splitlines()[2:4]]
    assert [row[:2] for row in rows] == [["bypass-1", "FAIL"], ["fixed-1", "pass"]]
    assert int(rows[0][2]) > 0 and rows[1][2] == "0"
    assert "2 runs, 1 failed" in r.output.splitlines()[0]
    r = invoke("check", str(REGRESSION), str(path), "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert [(d["run_id"], d["passed"]) for d in doc] == [("bypass-1", False), ("fixed-1", True)]
    assert all(d["unrecognised"] == [] for d in doc)
    only_fixed = trace(tmp_path, FIXED, FIXED, name="fixed.json")
    assert invoke("check", str(REGRESSION), str(only_fixed)).exit_code == 0
    assert invoke("check", str(REGRESSION), str(path), "--run", "fixed-1").exit_code == 0
    assert invoke("check", str(REGRESSION), str(path), "--run", "bypass-1").exit_code == 1
    r = invoke("check", str(REGRESSION), str(path), "--run", "nope")
    assert r.exit_code == 2 and "no run 'nope'" in r.output


def test_runs_without_ids_are_listed_by_the_ids_the_importer_gives(tmp_path: Path) -> None:
    a, b = {**BYPASS, "run_id": None}, {**FIXED, "run_id": None}
    path = trace(tmp_path, a, b)
    r = invoke("check", str(REGRESSION), str(path))
    assert r.exit_code == 1
    ids = [line.split()[0] for line in r.output.splitlines()[2:4]]
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


# --- fail closed on numbers that cannot be judged; nothing hangs ------------------------------

BUDGETS = "id: b\nexpected:\n  budget: {max_tokens: 1000, max_cost_usd: 1, max_latency_ms: 60000}\n"

# Native runs whose measurements cannot be judged, and the budget each one fails.
# Written with Python's json.dumps, which spells a float NaN as NaN, as a run
# recorded by a Python agent would be.
BROKEN: list[tuple[str, dict[str, Any], str]] = [
    ("nan", {"cost_usd": float("nan")}, "budget_cost: budget cannot be judged: cost_usd of the run is NaN"),
    ("nan-string", {"cost_usd": "NaN"}, "budget_cost: budget cannot be judged: cost_usd of the run is NaN"),
    ("infinity", {"cost_usd": float("inf")},
     "budget_cost: budget cannot be judged: cost_usd of the run is infinite (inf)"),
    ("negative-cost", {"cost_usd": -0.5},
     "budget_cost: budget cannot be judged: cost_usd of the run is negative (-0.5)"),
    ("unparseable-cost", {"cost_usd": "abc"},
     "budget_cost: budget cannot be judged: cost_usd of the run is 'abc', not a number"),
    ("negative-tokens", {"input_tokens": -3},
     "budget_tokens: budget cannot be judged: input_tokens of the run is negative (-3)"),
    ("nan-tokens", {"output_tokens": float("nan")},
     "budget_tokens: budget cannot be judged: output_tokens of the run is NaN, not a count"),
    ("unparseable-tokens", {"input_tokens": "abc"},
     "budget_tokens: budget cannot be judged: input_tokens of the run is 'abc', not a count"),
    ("negative-latency", {"latency_ms": -1},
     "budget_latency: budget cannot be judged: latency_ms of the run is negative (-1): the run ends "
     "before it starts"),
    ("span-ends-first", {"latency_ms": None, "spans": [span("tool:read_order", start_ms=50, end_ms=10)]},
     "budget_latency: budget cannot be judged: end_ms of span 0 (tool:read_order) (10) is before its "
     "start_ms (50): the span ends before it starts"),
    ("span-cost", {"spans": [span("model:m", cost_usd=float("-inf"))]},
     "budget_cost: budget cannot be judged: cost_usd of span 0 (model:m) is infinite (-inf)"),
]


def test_broken_measurements_fail_their_budget_through_the_command_line(tmp_path: Path) -> None:
    fixture = write(tmp_path / "budget.yaml", BUDGETS)
    fine = {**FIXED, "input_tokens": 10, "output_tokens": 5}
    r = invoke("check", str(fixture), str(trace(tmp_path, fine)))
    assert r.exit_code == 0, r.output
    for name, fields, line in BROKEN:
        path = write(tmp_path / f"{name}.json", json.dumps({**fine, **fields}))
        r = invoke("check", str(fixture), str(path))
        assert r.exit_code == 1, (name, r.output)
        assert r.output.splitlines()[1].startswith(f"  {line}; the budget is "), (name, r.output)
        assert r.output.splitlines()[0].endswith(": 1 violation"), (name, r.output)
        j = invoke("check", str(fixture), str(path), "--format", "json")
        (v,) = json.loads(j.output)["violations"]
        assert v["evidence"]["details"]["judged"] is False


def test_huge_numbers_neither_pass_nor_crash(tmp_path: Path) -> None:
    fixture = write(tmp_path / "budget.yaml", BUDGETS)
    # 30 digits: a valid, absurd count, judged exactly; its evidence stays JSON
    path = write(tmp_path / "t.json", json.dumps({**FIXED, "input_tokens": 10**30}))
    r = invoke("check", str(fixture), str(path))
    assert r.exit_code == 1 and "  budget_tokens: tokens 1e+30 exceeds the budget of 1000" in r.output
    assert json.loads(invoke("check", str(fixture), str(path), "--format", "json").output)["passed"] is False
    # 5000 digits: no JSON reader here takes it; one line, exit 2, no traceback
    for name, text in (
            ("native.json", '{"output": "x", "input_tokens": ' + "9" * 5000 + "}"),
            ("otlp.json", '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb'
                          '211c80319c", "spanId": "a000000000000001", "name": "chat m", "startTimeUnixNano": '
                          + "9" * 5000 + "}]}]}]}"),
            ("anyagent.jsonl", '{"spans": [{"name": "x", "context": {"trace_id": 1, "span_id": 1}, '
                               '"attributes": {}}], "final_output": "x"}\n'
                               '{"spans": [{"name": "x", "context": {"trace_id": ' + "9" * 5000
                               + ', "span_id": 1}, "attributes": {}}], "final_output": "x"}\n')):
        path = write(tmp_path / name, text)
        p = run_evalloop("check", str(fixture), str(path), cwd=tmp_path)
        assert p.returncode == 2, (name, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1, (name, p.stderr)
        assert p.stderr.startswith(f"evalloop: error: {path}:") and "not JSON" in p.stderr, p.stderr


CATASTROPHIC_RULES = "    - {regex: '(a+)+$'}\n"


def test_a_catastrophic_regex_is_refused_by_check_and_validate(repo: Path) -> None:
    text = ("id: rx\nowner: my-team\nseverity: warning\ncreated_at: 2026-01-01\ninput: {user_message: hi}\n"
            "expected:\n  output_must_not_contain:\n" + CATASTROPHIC_RULES)
    fixture = write(repo / "fixtures/rx.yaml", text)
    r = invoke("check", str(fixture), str(trace(repo, {**FIXED, "output": "a" * 40 + "b"})))
    assert r.exit_code == 2
    assert r.output.startswith(f"evalloop: error: {fixture}:8:15: invalid fixture: regex '(a+)+$' can take "
                               "exponential time: a quantifier inside a quantifier")
    assert r.output.count("\n") == 1
    out = [ln for ln in invoke("validate").output.splitlines() if "SCH002" in ln]
    assert len(out) == 1 and out[0].startswith(
        "fixtures/rx.yaml:8:15: SCH002 expected.output_must_not_contain.0.regex: regex '(a+)+$' can take "
        "exponential time")


def test_a_slow_regex_the_check_misses_times_out_as_a_violation(tmp_path: Path) -> None:
    # A backreference hides the ambiguity from the compile-time check; the
    # search is stopped after 1 s and the rule fails instead of passing or hanging.
    fixture = write(tmp_path / "slow.yaml", "id: slow\nexpected:\n  output_must_not_contain:\n"
                    "    - {regex: '^(a)(?:\\1|a)+$'}\n")
    r = invoke("check", str(fixture), str(trace(tmp_path, {**FIXED, "output": "a" * 40 + "b"})))
    assert r.exit_code == 1, r.output
    assert "  output_contains: regex '^(a)(?:\\\\1|a)+$' did not finish within 1 s: cannot be judged" \
        in r.output.splitlines()


def test_tool_arguments_are_held_to_the_manifest_the_harness_uses(tmp_path: Path) -> None:
    """The schemas come from the tool manifest of the fixture's evalloop.yaml, as in `evalloop run`."""
    root = tmp_path / "repo"
    write(root / "evalloop.yaml", "version: 1\nagent:\n  command: [agent]\n  tools: tools/refund.yaml\n")
    write(root / "tools/refund.yaml", json.dumps([{"type": "function", "function": {
        "name": "read_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                                             "required": ["order_id"]}}}]))
    fixture = write(root / "fixtures/reads.yaml", "id: reads\nexpected:\n  tools_called: [read_order]\n")
    good = {**FIXED, "spans": [span("tool:read_order", args={"order_id": "ord_1"})]}
    bad = {**FIXED, "spans": [span("tool:read_order", args={"order_id": 42}, span_id="c1")]}
    assert invoke("check", str(fixture), str(trace(tmp_path, good, name="good.json"))).exit_code == 0
    r = run_evalloop("check", str(fixture), str(trace(tmp_path, bad, name="bad.json")), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].endswith(": 1 violation")
    assert lines[1] == "  tool_args_schema: arguments of read_order at span 0 break its schema at /order_id: " \
                       "42 is not of type 'string'"
    assert "      at: span 0 tool:read_order id c1" in lines
    doc = json.loads(invoke("check", str(fixture), str(trace(tmp_path, bad, name="bad.json")), "--format",
                            "json").output)
    (v,) = doc["violations"]
    assert v["kind"] == "tool_args_schema" and v["evidence"]["details"] == {"path": "/order_id",
                                                                           "args": {"order_id": 42}}
    # a manifest that cannot be read leaves nothing to hold the arguments to: unusable input, not a pass
    (root / "tools/refund.yaml").unlink()
    r = run_evalloop("check", str(fixture), str(trace(tmp_path, good, name="good.json")), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == "evalloop: error: tools/refund.yaml: tool manifest not found\n", r.stderr


def test_a_recorded_call_of_a_tool_the_manifest_does_not_list_fails_check(tmp_path: Path) -> None:
    # the harness fails such a run (unknown_tool); a saved or recorded one is held to the same
    write(tmp_path / "evalloop.yaml", "version: 1\nagent: {entrypoint: 'a:run', tools: tools.yaml}\n")
    write(tmp_path / "tools.yaml", "tools:\n  - {name: read_order}\n")
    fixture = write(tmp_path / "fixtures/f.yaml", "id: f\ninput: {user_message: hi}\nexpected: {stop_reason: done}\n")
    run = {"spans": [{"type": "tool", "name": "read_order", "args": {}},
                     {"type": "tool", "name": "wipe_disk", "args": {}}], "stop_reason": "done"}
    trace = write(tmp_path / "run.json", json.dumps(run))
    out = invoke("check", str(fixture), str(trace), "--format", "json")
    assert out.exit_code == 1, out.output
    kinds = [v["kind"] for v in json.loads(out.output)["violations"]]
    assert kinds == ["unknown_tool"]

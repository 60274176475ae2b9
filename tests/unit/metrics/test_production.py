"""Trace coverage and policy-denial accuracy from a trace sample; human-override rate from signals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from evalloop.metrics import compute
from evalloop.metrics.base import Window
from tests.unit.metrics.loop import NOW, Loop, at

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), NOW)


def ms(text: str) -> float:
    return at(text).timestamp() * 1000


def run(n: int, when: str, *, route: str | None = "refund_assist", spans: list[tuple[str, str, str]] | None = None,
        stop: str | None = "done") -> dict[str, Any]:
    spans = spans if spans is not None else [("tool", "read_order", "succeeded"), ("policy", "refund", "succeeded")]
    out: dict[str, Any] = {"run_id": f"r{n}", "spans": [
        {"type": t, "name": name, "status": st, "start_ms": ms(when) + i} for i, (t, name, st) in enumerate(spans)]}
    if route:
        out["route"] = route
    if stop:
        out["stop_reason"] = stop
    return out


def test_trace_coverage_is_the_share_of_complete_risky_runs(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    runs = [run(n, f"2026-03-{n + 1:02d}") for n in range(16)]
    runs += [run(16, "2026-03-20", route=None), run(17, "2026-03-21", stop=None),
             run(18, "2026-03-22", spans=[("tool", "read_order", "succeeded")]),
             run(19, "2026-02-22", route=None)]  # before the window
    sample = loop.traces(runs)
    out = compute.outcome(loop.data(traces=[sample]), "trace_coverage", MARCH)
    inside = [r for r in runs if r["spans"][0]["start_ms"] >= ms("2026-03-01")]
    complete = [r for r in inside if r.get("route") and r.get("stop_reason")
                and {"tool", "policy"} <= {s["type"] for s in r["spans"]}]
    assert (out.numerator, out.denominator) == (len(complete), len(inside)) == (16, 19)
    assert out.status == "investigate"  # 84% < 95%
    assert out.reasons == ["1 of 19 risky runs have no route span", "1 of 19 risky runs have no policy span",
                           "1 of 19 risky runs have no stop reason span"]
    assert "release ledgers missing" in out.notes[0]
    loop.release("2026-03-15", "canary", "routes/refund.yaml", revision="r2", decision="promote")
    out = compute.outcome(loop.data(traces=[sample]), "trace_coverage", MARCH)
    assert out.status == "block" and "routes/refund.yaml was promoted in production on 2026-03-15" in out.reasons[-1]


def test_only_risky_routes_count_when_configured(tmp_path: Path) -> None:
    loop = Loop(tmp_path, config="version: 1\nmetrics:\n  trace_coverage: {risky_routes: [refund_assist]}\n")
    sample = loop.traces([run(1, "2026-03-02"), run(2, "2026-03-03", route="faq", stop=None)])
    out = compute.outcome(loop.data(traces=[sample]), "trace_coverage", MARCH)
    assert (out.value, out.numerator, out.denominator, out.status) == (1.0, 1, 1, "ok")


def test_coverage_without_a_sample_says_so(tmp_path: Path) -> None:
    out = compute.outcome(Loop(tmp_path).data(), "trace_coverage", MARCH)
    assert out.status == "no_data" and out.missing == ["trace sample (none given: --traces PATH or metrics.traces)"]


def test_policy_denial_accuracy_and_side_effects_after_a_denial(tmp_path: Path) -> None:
    loop = Loop(tmp_path, config="version: 1\nmetrics:\n"
                "  policy_denial_accuracy: {side_effect_tools: [issue_refund]}\n")
    denied = ("policy", "refund_threshold", "denied")
    runs = [run(n, "2026-03-05", spans=[denied, ("message", "explain_denial", "waiting")]) for n in range(6)]
    runs.append(run(6, "2026-03-06", spans=[denied, ("approval", "lead", "succeeded"), ("tool", "issue_refund",
                                                                                           "succeeded")]))
    runs.append(run(7, "2026-03-07", spans=[denied, ("tool", "read_order", "succeeded")]))  # a read is fine
    sample = loop.traces(runs)
    out = compute.outcome(loop.data(traces=[sample]), "policy_denial_accuracy", MARCH)
    assert (out.numerator, out.denominator) == (7, 8) and out.status == "investigate"  # 87.5% < 90%
    runs.append(run(8, "2026-03-08", spans=[denied, ("tool", "issue_refund", "succeeded")]))
    out = compute.outcome(loop.data(traces=[loop.traces(runs)]), "policy_denial_accuracy", MARCH)
    assert out.status == "block"
    assert "run r8: tool:issue_refund ran after policy:refund_threshold denied it, with no approval between" \
        in out.reasons


def test_no_denials_is_no_data(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    out = compute.outcome(loop.data(traces=[loop.traces([run(1, "2026-03-02")])]), "policy_denial_accuracy", MARCH)
    assert out.status == "no_data" and "none has a denied policy span" in out.missing[0]


def signal(n: int, when: str, kind: str = "human_correction", touches: list[str] | None = None) -> dict[str, Any]:
    return {"id": f"SIG-{n}", "kind": kind, "severity": "sev3", "time": when, "touches": touches or []}


def test_override_rate_and_a_spike_after_a_prompt_change(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.artifact("prompts/refund.md", "2026-03-10")
    loop.artifact("tools/manifest.yaml", "2026-03-20")  # not a kind overrides are compared after
    records = [signal(1, "2026-03-04T10:00:00Z")]
    records += [signal(n, f"2026-03-{10 + n}T10:00:00Z", kind="policy_override") for n in range(2, 6)]
    records.append(signal(9, "2026-03-25T10:00:00Z", kind="cost_outlier"))
    loop.signals(records)
    out = compute.outcome(loop.data(), "human_override_rate", MARCH)
    overrides = [r for r in records if r["kind"] in ("human_correction", "policy_override")]
    assert out.numerator == len(overrides) == 5
    assert out.value == len(overrides) / (31 / 7)
    assert out.status == "investigate"
    assert out.reasons == ["4 overrides in the 7 days after a prompt change (prompts/refund.md) on 2026-03-10, "
                           "1 in the 7 days before"]


def test_an_override_exposing_a_skipped_approval_blocks(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.signals([signal(1, "2026-03-04", kind="policy_override", touches=["authorization"])])
    out = compute.outcome(loop.data(), "human_override_rate", MARCH)
    assert out.status == "block" and out.reasons[0].startswith("SIG-1 (policy_override, 2026-03-04) touches")


def test_no_signals_is_no_data_but_signals_without_overrides_are_a_real_zero(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    out = compute.outcome(loop.data(), "human_override_rate", MARCH)
    assert out.status == "no_data" and out.missing[0].startswith("production signals (signals/")
    loop.signals([signal(1, "2026-03-04", kind="cost_outlier")])
    out = compute.outcome(loop.data(), "human_override_rate", MARCH)
    assert (out.value, out.status) == (0.0, "ok")

"""Rollback frequency and mean time to detect, from the release ledgers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evalloop.metrics import compute
from evalloop.metrics.base import Window
from tests.unit.metrics.loop import NOW, Loop

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), NOW)


def test_rollbacks_of_one_component_without_a_new_gate_block(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.release("2026-03-02T09:00", "canary", "prompts/refund.md", revision="good", decision="promote",
                 kind="prompt")
    loop.release("2026-03-05T09:00", "canary", "prompts/refund.md", revision="bad1", decision="hold", kind="prompt")
    loop.release("2026-03-05T15:00", "rollback", "prompts/refund.md", revision="good", kind="prompt")
    loop.release("2026-03-12T09:00", "canary", "prompts/refund.md", revision="bad2", decision="rollback",
                 kind="prompt")
    loop.release("2026-03-12T10:00", "rollback", "prompts/refund.md", revision="good", kind="prompt")
    loop.release("2026-03-20T10:00", "rollback", "policies/refund.yaml", revision="p1", kind="policy")
    loop.fixture("tools-only", committed="2026-03-08", gates=["tool_manifest"])  # gates another kind
    out = compute.outcome(loop.data(), "rollback_frequency", MARCH)
    rollbacks = [e for e in loop.truth["releases"] if e["event"] == "rollback"]
    assert out.numerator == len(rollbacks) == 3
    assert out.value == len(rollbacks) * 30 / 31
    assert out.status == "block"
    assert out.reasons == [
        "prompts/refund.md was rolled back 2 times in production: 2026-03-05, 2026-03-12",
        "prompts/refund.md: rolled back on 2026-03-05 and again on 2026-03-12 with no fixture gating prompt "
        "changes added between"]
    # a fixture gating prompt changes between the two rollbacks: a new gate, only investigate
    loop.fixture("prompt-gate", committed="2026-03-09", gates=["prompt"])
    out = compute.outcome(loop.data(), "rollback_frequency", MARCH)
    assert out.status == "investigate" and len(out.reasons) == 1


def test_mean_time_to_detect_from_canary_start_to_rollback(tmp_path: Path) -> None:
    loop = Loop(tmp_path, config="version: 1\nmetrics:\n  mean_time_to_detect: {investigate_above_hours: 10}\n")
    loop.release("2026-03-05T09:00", "canary", "prompts/refund.md", revision="bad1", decision="hold")
    loop.release("2026-03-05T21:00", "canary", "prompts/refund.md", revision="bad1", decision="hold")
    loop.release("2026-03-06T09:00", "rollback", "prompts/refund.md", revision="good")  # 24 h after bad1 began
    loop.release("2026-03-12T09:00", "canary", "routes/r.yaml", revision="bad2", decision="hold")
    loop.release("2026-03-12T15:00", "canary", "routes/r.yaml", revision="bad2", decision="rollback")  # 6 h
    loop.release("2026-03-12T15:05", "rollback", "routes/r.yaml", revision="good")  # the same detection
    out = compute.outcome(loop.data(), "mean_time_to_detect", MARCH)
    assert (out.value, out.numerator) == ((24 + 6) / 2, 2)
    assert out.status == "investigate"


def test_without_a_threshold_time_to_detect_is_information(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.release("2026-03-12T09:00", "canary", "routes/r.yaml", revision="bad", decision="rollback")
    out = compute.outcome(loop.data(), "mean_time_to_detect", MARCH)
    assert (out.value, out.status) == (0.0, "info")


def test_release_metrics_without_ledgers(tmp_path: Path) -> None:
    data = Loop(tmp_path).data()
    for metric in ("rollback_frequency", "mean_time_to_detect"):
        out = compute.outcome(data, metric, MARCH)
        assert (out.value, out.status, out.missing) == (None, "no_data", ["release ledgers (releases/*.jsonl)"])

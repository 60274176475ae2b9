"""Number of blocking evals and flaky eval rate, from the work tree, the history and the gate ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evalloop.metrics import compute
from evalloop.metrics.base import Window
from tests.unit.metrics.loop import NOW, Loop

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), NOW)
NOW_WINDOW = Window(dt.date(2026, 3, 1), NOW.date(), NOW)


def test_blocking_evals_now_and_at_the_end_of_a_past_window(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.fixture("a", committed="2026-02-02")
    loop.fixture("b", committed="2026-02-03", severity="warning")
    loop.fixture("c", committed="2026-03-05", owner=None, reason=None)
    out = compute.outcome(loop.data(), "blocking_evals", NOW_WINDOW)
    blocking = [f for f in loop.truth["fixtures"] if f["severity"] == "blocking"]
    assert (out.value, out.numerator, out.denominator) == (len(blocking), len(blocking), 3)
    # c blocks without an owner (defaults.owner fills it) but without a reason; 2 of 3 block: over half
    assert out.status == "investigate"
    assert out.reasons == ["2 of 3 fixtures block (more than 50%): when everything blocks, teams ignore the gate",
                           "c (fixtures/c.yaml): no reason"]
    february = Window(dt.date(2026, 2, 1), dt.date(2026, 2, 28), NOW)
    past = compute.outcome(loop.data(), "blocking_evals", february)
    assert (past.value, past.denominator) == (1, 2)
    assert past.status == "ok"


def test_blocking_evals_of_the_past_need_history(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    data = loop.data()
    data.history = None
    out = compute.outcome(data, "blocking_evals", Window(dt.date(2026, 2, 1), dt.date(2026, 2, 28), NOW))
    assert out.status == "no_data" and out.missing[0].startswith("git history")


def test_flaky_rate_counts_gate_runs_that_needed_a_rerun(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.fixture("a", committed="2026-02-02")
    loop.fixture("orphan-owner", committed="2026-02-02", owner=None)
    for n in range(17):  # clean runs, one per change
        loop.gate(f"2026-03-{n + 1:02d}", f"clean{n}", [("a", "blocking", "pass")])
    loop.gate("2026-03-20", "again", [("a", "blocking", "fail")])
    loop.gate("2026-03-20T02:00", "again", [("a", "blocking", "pass")])  # gated again on the same commit
    loop.gate("2026-03-21", "ci", [("a", "blocking", "pass")], attempt=2)  # CI re-run
    loop.gate("2026-03-22", "flaky", [("a", "blocking", "flaky")])  # k-of-n disagreed, owner known
    loop.gate("2026-03-23", "s", [("a", "blocking", "pass")], shard="1/2")
    loop.gate("2026-03-23", "s", [("a", "blocking", "pass")], shard="2/2")  # two shards: one run each
    out = compute.outcome(loop.data(), "flaky_eval_rate", MARCH)
    groups: dict[tuple[str, str | None], list[dict[str, object]]] = {}
    for g in loop.truth["gates"]:
        groups.setdefault((str(g["head"]), g["shard"]), []).append(g)  # type: ignore[arg-type]
    rerun = [k for k, gs in groups.items() if len(gs) > 1 or any(g["attempt"] for g in gs)
             or any(st == "flaky" for g in gs for _i, _s, st in g["results"])]  # type: ignore[attr-defined]
    assert (out.numerator, out.denominator) == (len(rerun), len(groups)) == (3, 22)
    assert out.status == "investigate"  # 3/22 > 5%
    assert "3 of 22 gate runs needed a rerun" in out.reasons[0]


def test_a_flaky_blocking_fixture_nobody_owns_blocks(tmp_path: Path) -> None:
    loop = Loop(tmp_path, config="version: 1\n")  # no defaults.owner: a fixture without owner has none
    loop.fixture("owned", committed="2026-02-02")
    loop.fixture("unowned", committed="2026-02-02", owner=None)
    loop.fixture("quarantined", committed="2026-02-02", owner=None)
    (tmp_path / "quarantine.yaml").write_text(
        "quarantine:\n  - {id: quarantined, owner: qa, reason: flaky tool mock, "
        "issue: 'https://example.com/1', expires_at: 2026-06-01}\n")
    for n, fixture in enumerate(["owned", "unowned", "quarantined", "gone"]):
        loop.gate(f"2026-03-1{n}", f"h{n}", [(fixture, "blocking", "flaky")])
    out = compute.outcome(loop.data(), "flaky_eval_rate", MARCH)
    assert out.status == "block"
    blocked = [r.split(" ")[0] for r in out.reasons if "has no quarantine entry" in r]
    assert blocked == ["unowned", "gone"]


def test_flaky_rate_without_runs_in_the_window(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    out = compute.outcome(loop.data(), "flaky_eval_rate", MARCH)
    assert out.missing == ["gate ledger (ledgers/gates.jsonl)"]
    loop.gate("2026-02-10", "h", [("a", "blocking", "pass")])
    out = compute.outcome(loop.data(), "flaky_eval_rate", MARCH)
    assert out.status == "no_data" and "the gate ledger has 1, none in the window" in out.missing[0]

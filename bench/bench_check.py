"""Trajectory evaluation throughput: evalloop vs agentevals' trajectory match evaluator.

    /work/benchenv/bin/python bench/bench_check.py [--runs 10000] [--seed 7] [--repeat 3]

Runs under a separate virtualenv holding agentevals and evalloop (editable):

    python -m venv /work/benchenv
    /work/benchenv/bin/pip install agentevals
    /work/benchenv/bin/pip install -e /work/main

agentevals is never a project dependency. Without it the script still measures
evalloop and says that the peer is missing.

Workload: 100 reference trajectories of 10-20 tool calls over a 12-tool
toolset with realistic arguments (ids, queries, amounts, flags), and 10,000
runs, 100 per reference, made from it the way agents differ from their
references: identical, reordered, with extra calls, with a call missing, with
one argument changed, with a forbidden tool swapped in. Runs interleave model,
retrieval and policy spans with the tool calls (~2.5 spans per call).

Both tools judge the same (reference, run) pairs in modes strict, unordered and
superset, arguments exact; agentevals gets OpenAI-format message lists (one
assistant message per tool call, then its tool message), evalloop gets `Run`
objects and one compiled fixture per reference. Verdicts are compared pair by
pair. A fourth comparison, superset with argument containment (evalloop
`args: subset`, agentevals `tool_args_match_mode="superset"`) against
references written with only some of each call's arguments, shows where
agentevals' greedy pairing and evalloop's maximum matching disagree.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from evalloop.evaluate.evaluator import Evaluator, compile_fixture
from evalloop.evaluate.judgement import Judgement
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run

TOOLS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "read_order": lambda r: {"order_id": f"ord_{r.randint(1000, 1015)}"},
    "lookup_customer": lambda r: {"customer_id": f"cus_{r.randint(1, 9)}", "fields": ["tier"]},
    "search_kb": lambda r: {"query": r.choice(["refund policy", "late delivery", "damaged item",
                                               "warranty"]), "top_k": r.choice([3, 5])},
    "retrieve_policy": lambda r: {"policy": r.choice(["refund", "shipping"]), "version": "2026-04"},
    "check_inventory": lambda r: {"sku": f"sku-{r.randint(1, 6)}", "warehouse": "eu-1"},
    "calculate_refund": lambda r: {"order_id": f"ord_{r.randint(1000, 1015)}",
                                   "amount": r.choice([19.99, 640, 120.5])},
    "draft_refund_request": lambda r: {"order_id": f"ord_{r.randint(1000, 1015)}",
                                       "reason": r.choice(["damaged", "late"])},
    "request_approval": lambda r: {"request_id": f"req_{r.randint(1, 5)}", "level": "lead"},
    "create_ticket": lambda r: {"subject": "Refund follow-up", "priority": r.choice(["low", "high"])},
    "update_ticket": lambda r: {"ticket_id": f"t_{r.randint(1, 4)}", "status": "pending",
                                "notify": r.choice([True, False])},
    "draft_reply": lambda r: {"template": r.choice(["refund_pending", "apology"]), "locale": "en"},
    "log_event": lambda r: {"event": r.choice(["step", "decision"]), "level": "info"},
}
FORBIDDEN = ["issue_refund", "send_customer_email"]
MODES = ("strict", "unordered", "superset")

Call = tuple[str, dict[str, Any]]


# --------------------------------------------------------------------------- workload


def reference(rng: random.Random) -> list[Call]:
    n = rng.randint(10, 20)
    names = list(TOOLS)
    # Realistic runs repeat some tools (several searches, ticket updates).
    return [(name, TOOLS[name](rng)) for name in (rng.choice(names) for _ in range(n))]


def variant(ref: list[Call], rng: random.Random) -> tuple[str, list[Call]]:
    calls = [(n, dict(a)) for n, a in ref]
    roll = rng.random()
    if roll < 0.30:
        return "identical", calls
    if roll < 0.50:
        i, j = rng.sample(range(len(calls)), 2)
        calls[i], calls[j] = calls[j], calls[i]
        return "reordered", calls
    if roll < 0.70:
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(list(TOOLS))
            calls.insert(rng.randint(0, len(calls)), (name, TOOLS[name](rng)))
        return "extra", calls
    if roll < 0.80:
        del calls[rng.randrange(len(calls))]
        return "missing", calls
    if roll < 0.90:
        i = rng.randrange(len(calls))
        name, args = calls[i]
        key = rng.choice(sorted(args))
        args[key] = "changed"
        return "arg_changed", calls
    i = rng.randrange(len(calls))
    calls[i] = (rng.choice(FORBIDDEN), {"order_id": "ord_1000"})
    return "forbidden", calls


def partial_args(ref: list[Call], rng: random.Random) -> list[Call]:
    """A reference written with only some arguments of each call (or none)."""
    out = []
    for name, args in ref:
        keys = [k for k in args if rng.random() < 0.5]
        out.append((name, {k: args[k] for k in keys}))
    return out


def to_run(calls: list[Call], i: int, rng: random.Random) -> dict[str, Any]:
    spans: list[dict[str, Any]] = [{"type": "workflow", "name": "refund_assist"}]
    t = 0.0
    for n, (name, args) in enumerate(calls):
        spans.append({"type": "model", "name": "gpt-4o", "start_ms": t, "end_ms": t + 400,
                      "input_tokens": 900, "output_tokens": 60})
        if n % 4 == 1:
            spans.append({"type": "retrieval", "name": "refund_policy"})
        spans.append({"type": "tool", "name": name, "args": args, "span_id": f"{i:x}-{n}",
                      "result": {"ok": True}, "start_ms": t + 400, "end_ms": t + 600})
        if n % 5 == 2:
            spans.append({"type": "policy", "name": "refund_threshold"})
        t += 600
    return {"run_id": f"run-{i}", "route": "refund_assist", "spans": spans,
            "stop_reason": "needs_human_approval",
            "final_status": "needs_human", "output": "A lead will review the refund.",
            "latency_ms": t, "cost_usd": 0.004 * len(calls)}


def to_messages(calls: list[Call], tag: str) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "Refund this order."}]
    for n, (name, args) in enumerate(calls):
        call_id = f"{tag}-{n}"
        msgs.append({"role": "assistant", "content": "", "tool_calls": [{
            "id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}]})
        msgs.append({"role": "tool", "content": '{"ok": true}', "tool_call_id": call_id})
    msgs.append({"role": "assistant", "content": "A lead will review the refund."})
    return msgs


def fixture(ref: list[Call], k: int, mode: str, args: str) -> Fixture:
    return Fixture.model_validate({"id": f"ref-{k}", "expected": {"tool_sequence": {
        "mode": mode, "args": args,
        "calls": [{"name": n, "args": a} for n, a in ref]}}})


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any], repeat: int, *, gc_off: bool = False) -> tuple[float, Any]:
    """Best CPU time of `repeat` calls (CPU, not wall: the machine is shared)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            t = time.process_time()
            result = fn()
            best = min(best, time.process_time() - t)
        finally:
            gc.enable()
    return best, result


def saturates(specs: list[Call], calls: list[Call]) -> bool:
    """Whether every spec can be paired with a distinct call whose arguments contain it.

    Written independently of evalloop (plain recursive augmenting paths), to
    check the verdicts where agentevals and evalloop disagree.
    """
    edges = [[k for k, (cn, ca) in enumerate(calls)
              if cn == sn and all(key in ca and ca[key] == v and type(ca[key]) is type(v)
                                  for key, v in sa.items())]
             for sn, sa in specs]
    owner: dict[int, int] = {}

    def augment(j: int, seen: set[int]) -> bool:
        for k in edges[j]:
            if k not in seen:
                seen.add(k)
                if k not in owner or augment(owner[k], seen):
                    owner[k] = j
                    return True
        return False

    return all(augment(j, set()) for j in range(len(specs)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--refs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "check.json")
    opts = ap.parse_args()
    rng = random.Random(opts.seed)

    refs = [reference(rng) for _ in range(opts.refs)]
    pairs: list[tuple[int, str, list[Call]]] = []
    for i in range(opts.runs):
        k = i % opts.refs
        kind, calls = variant(refs[k], rng)
        pairs.append((k, kind, calls))
    run_dicts = [to_run(calls, i, rng) for i, (_, _, calls) in enumerate(pairs)]
    runs = [Run.model_validate(d) for d in run_dicts]
    spans = sum(len(r.spans) for r in runs) / len(runs)
    tool_calls = sum(len(c) for _, _, c in pairs) / len(pairs)
    partial_refs = [partial_args(ref, rng) for ref in refs]

    create_trajectory_match_evaluator, peer = _peer()

    results: dict[str, Any] = {
        "runs": opts.runs, "references": opts.refs, "avg_tool_calls": round(tool_calls, 1),
        "avg_spans": round(spans, 1), "python": platform.python_version(), "peer": peer,
        "modes": {},
    }
    print(f"{opts.runs} runs, {tool_calls:.1f} tool calls and {spans:.1f} spans per run on "
          f"average; peer: {peer or 'agentevals NOT INSTALLED'}")

    # What building the runs costs (an importer's work, not the evaluator's), with
    # the collector off as `evalloop.traces.load.load_runs` does for large files.
    t_parse, _ = timed(partial(_parse_all, run_dicts), opts.repeat, gc_off=True)

    cases = [(mode, "exact", refs) for mode in MODES] + [("superset", "subset", partial_refs)]
    for mode, args, ref_set in cases:
        label = mode if args == "exact" else f"{mode}+args_subset"
        t_compile, evs = timed(partial(_compile_all, ref_set, mode, args), opts.repeat)
        work = [(evs[k], run) for (k, _, _), run in zip(pairs, runs, strict=True)]
        t_eval, judgements = timed(partial(_evaluate_all, work), opts.repeat)
        ours = [v.passed for v in judgements]
        passing = [w for w, ok in zip(work, ours, strict=True) if ok]
        t_pass, _ = timed(partial(_evaluate_all, passing), opts.repeat)
        row: dict[str, Any] = {
            "evalloop_runs_per_s": opts.runs / t_eval,
            "evalloop_passing_runs_per_s": len(passing) / t_pass if passing else None,
            "evalloop_with_parse_runs_per_s": opts.runs / (t_eval + t_parse),
            "evalloop_compile_ms_per_fixture": 1000 * t_compile / len(ref_set),
            "evalloop_pass_rate": sum(ours) / len(ours),
        }
        if create_trajectory_match_evaluator is not None:
            evaluator = create_trajectory_match_evaluator(
                trajectory_match_mode=mode,
                tool_args_match_mode="exact" if args == "exact" else "superset")
            ref_msgs = [to_messages(r, f"r{k}") for k, r in enumerate(ref_set)]
            jobs = [(ref_msgs[k], to_messages(calls, f"o{i}"))
                    for i, (k, _, calls) in enumerate(pairs)]
            t_peer, scores = timed(partial(_peer_all, evaluator, jobs), 1)
            theirs = [bool(score) for score in scores]
            disagree = [(i, pairs[i][1]) for i in range(len(pairs)) if ours[i] != theirs[i]]
            if args != "exact":
                # Settle each disagreement with an independent maximum matching.
                row["disagree_evalloop_right"] = sum(
                    ours[i] == saturates(ref_set[pairs[i][0]], pairs[i][2]) for i, _ in disagree)
            row.update({
                "agentevals_runs_per_s": opts.runs / t_peer,
                "speedup": t_peer / t_eval,
                "speedup_with_parse": t_peer / (t_eval + t_parse),
                "agree": len(pairs) - len(disagree),
                "disagree": len(disagree),
                "disagree_by_variant": _count(kind for _, kind in disagree),
                "disagree_evalloop_pass": sum(ours[i] for i, _ in disagree),
            })
            if disagree:
                i = disagree[0][0]
                row["disagree_example"] = {
                    "reference": ref_set[pairs[i][0]], "run": pairs[i][2],
                    "evalloop": ours[i], "agentevals": theirs[i],
                }
        results["modes"][label] = row
        _print_row(label, row)

    # A whole fixture per reference (spans, order, tools, arguments, outcome,
    # output rules, budgets and a superset sequence with argument containment):
    # what a real fixture costs per run.
    fulls = [_full_fixture(ref, partial_refs[k], k) for k, ref in enumerate(refs)]
    work = [(fulls[k], run) for (k, _, _), run in zip(pairs, runs, strict=True)]
    t_full, judgements = timed(partial(_evaluate_all, work), opts.repeat)
    results["full_fixture_runs_per_s"] = opts.runs / t_full
    results["full_fixture_pass_rate"] = sum(v.passed for v in judgements) / len(judgements)
    print(f"whole fixture (every expectation kind): {opts.runs / t_full:,.0f} runs/s, "
          f"pass rate {results['full_fixture_pass_rate']:.2f}")
    print(f"Run.model_validate: {opts.runs / t_parse:,.0f} runs/s")
    results["parse_runs_per_s"] = opts.runs / t_parse

    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results: {opts.out}")
    return 0


def _compile_all(refs: list[list[Call]], mode: str, args: str) -> list[Evaluator]:
    return [compile_fixture(fixture(r, k, mode, args)) for k, r in enumerate(refs)]


def _evaluate_all(work: list[tuple[Evaluator, Run]]) -> list[Judgement]:
    return [ev.evaluate(run) for ev, run in work]


def _parse_all(dicts: list[dict[str, Any]]) -> list[Run]:
    return [Run.model_validate(d) for d in dicts]


def _peer_all(evaluator: Callable[..., Any],
              jobs: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> list[Any]:
    return [evaluator(outputs=out, reference_outputs=ref)["score"] for ref, out in jobs]


def _peer() -> tuple[Callable[..., Any] | None, str | None]:
    """agentevals' evaluator factory and version, or (None, None) when not installed."""
    try:
        from agentevals.trajectory.match import (  # type: ignore[import-not-found]
            create_trajectory_match_evaluator,
        )
    except ImportError:
        return None, None
    from importlib.metadata import version

    return create_trajectory_match_evaluator, f"agentevals {version('agentevals')}"


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _print_row(label: str, row: dict[str, Any]) -> None:
    line = (f"{label:21} evalloop {row['evalloop_runs_per_s']:>7,.0f} runs/s "
            f"(passing only {row['evalloop_passing_runs_per_s'] or 0:>7,.0f}, "
            f"with parse {row['evalloop_with_parse_runs_per_s']:>6,.0f})")
    if "agentevals_runs_per_s" in row:
        line += (f" | agentevals {row['agentevals_runs_per_s']:>6,.0f} runs/s | "
                 f"x{row['speedup']:.0f} (x{row['speedup_with_parse']:.0f} with parse) | "
                 f"agree {row['agree']}/{row['agree'] + row['disagree']}")
        if row["disagree"]:
            line += f" {row['disagree_by_variant']} evalloop-pass {row['disagree_evalloop_pass']}"
            if "disagree_evalloop_right" in row:
                line += f", evalloop right in {row['disagree_evalloop_right']}"
    print(line, flush=True)


def _full_fixture(ref: list[Call], partial_ref: list[Call], k: int) -> Evaluator:
    name, args = ref[0]
    return compile_fixture(Fixture.model_validate({
        "id": f"full-{k}",
        "expected": {
            "route": "refund_assist",
            "required_spans": ["workflow:refund_assist", "retrieval:refund_policy",
                               "policy:refund_threshold"],
            "forbidden_spans": ["tool:issue_refund", "message:customer_promise_sent"],
            "order": [["retrieval:refund_policy", "policy:refund_threshold"]],
            "tools_called": sorted({n for n, _ in ref[:3]}),
            "tools_not_called": FORBIDDEN,
            "tool_args": {name: args},
            "stop_reason": "needs_human_approval",
            "final_status": "needs_human",
            "output_must_not_contain": ["approved", "processed", {"regex": r"refund(ed)? issued"}],
            "budget": {"max_tool_calls": 25, "max_retries": 1, "max_cost_usd": 0.5,
                       "max_latency_ms": 20000, "max_tokens": 50000},
            "tool_sequence": {"mode": "superset", "args": "subset",
                              "calls": [{"name": n, "args": a} for n, a in partial_ref]},
        }}))


if __name__ == "__main__":
    sys.exit(main())

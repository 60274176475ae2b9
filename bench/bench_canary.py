"""Canary analysis time: invariants on every candidate run, six metrics, the decision.

    python bench/bench_canary.py [--sizes 400:2000,2000:10000,10000:50000] [--repeat 3]

No peer tool makes this decision on traces (Kayenta, Argo Rollouts and Flagger read metric
stores, not agent trajectories), so the numbers stand alone: the time from imported runs to a
decision, as it grows with the sample. Runs are synthetic refund-agent runs (a policy span
with the amount, an approval for amounts over the threshold, a draft, tool errors at 5%,
lognormal latency and cost); the invariant and metrics are the bundled example's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import sys
import time
from pathlib import Path

from evalloop.canary.analyze import analyze
from evalloop.canary.config import load_canary
from evalloop.canary.observe import Side
from evalloop.model.run import Run, Span

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "refund-support" / "canary.yaml"


def runs(n: int, seed: int) -> list[Run]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        amount = rng.choice([120.0, 320.0, 640.0, 812.0])
        over = amount > 500
        spans = [Span(type="tool", name="read_order", status="failed" if rng.random() < 0.05 else "succeeded"),
                 Span(type="policy", name="refund_threshold", args={"amount": amount, "threshold": 500},
                      result={"requires_approval": over}),
                 *([Span(type="approval", name="required", status="waiting")] if over else []),
                 Span(type="tool", name="draft_refund_request")]
        out.append(Run(run_id=f"r{i}", spans=spans, route="refund_assist",
                       final_status="needs_human" if over else "resolved",
                       latency_ms=rng.lognormvariate(7.0, 0.3), cost_usd=rng.lognormvariate(-8, 0.2)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="400:2000,2000:10000,10000:50000", help="candidate:baseline run counts")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cfg = load_canary(EXAMPLE)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    print(f"python {platform.python_version()} on {platform.machine()}, best of {args.repeat}")
    print(f"{'candidate':>10} {'baseline':>10} {'decision':>9} {'seconds':>8} {'runs/s':>9}")
    for spec in args.sizes.split(","):
        nc, nb = (int(x) for x in spec.split(":"))
        cand, base = Side("candidate", [], runs=runs(nc, 2)), Side("baseline", [], runs=runs(nb, 1))
        best = float("inf")
        decision = ""
        for _ in range(args.repeat):
            t = time.perf_counter()
            decision = analyze(cfg, base, cand, now=now).decision
            best = min(best, time.perf_counter() - t)
        print(f"{nc:>10} {nb:>10} {decision:>9} {best:>8.2f} {(nc + nb) / best:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of `evalloop run --jobs N` with an I/O-bound agent (issue 4).

    python bench/bench_run.py [--fixtures 200] [--turns 4] [--sleep 0.2] [--jobs 1,4,16]
                              [--adapter fork|process|command]

The agent sleeps `--sleep` seconds per model turn (waiting on a provider, as a
real agent does) and makes one mocked tool call per turn. Every figure is the
wall time of a fresh `evalloop run` process (interpreter start, loading and
judging included), best of `--repeat`. Parallel efficiency at N jobs is
T(1) / (N * T(N)); its ceiling is set by the serial part (process start, the
last partial wave of runs) and by how much CPU each run needs on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = """\
import os
import time


def run(request, tools):
    turns = int(os.environ["BENCH_TURNS"])
    for turn in range(turns):
        time.sleep(float(os.environ["BENCH_SLEEP"]))  # one model turn, waiting on the provider
        tools.model("bench-model", input_tokens=800, output_tokens=60, cost_usd=0.0002)
        tools.call("lookup", {"ticket": request["input"]["ticket"], "turn": turn})
    return {"stop_reason": "done", "final_status": "resolved", "output": "answered"}


if __name__ == "__main__":
    from evalloop.agent import serve

    serve(run)
"""

MANIFEST = """\
tools:
  - name: lookup
    parameters:
      type: object
      properties: {ticket: {type: string}, turn: {type: integer}}
      required: [ticket]
"""

FIXTURE = """\
id: bench-{i:04d}
owner: bench
severity: blocking
input: {{ticket: t{i}}}
context:
  tool_outputs: {{lookup: {{status: open}}}}
expected:
  required_spans: [tool:lookup]
  tools_not_called: [issue_refund]
  stop_reason: done
  budget: {{max_tool_calls: 20}}
"""


def make_repo(root: Path, fixtures: int, turns: int, sleep: float, adapter: str) -> None:
    (root / "agent").mkdir()
    (root / "agent" / "bench_agent.py").write_text(AGENT)
    (root / "tools.yaml").write_text(MANIFEST)
    (root / "owners.yaml").write_text("owners:\n  bench: {}\n")
    env = f"env: {{BENCH_TURNS: '{turns}', BENCH_SLEEP: '{sleep}'}}"
    if adapter == "command":
        agent = f"command: ['{sys.executable}', agent/bench_agent.py]"
    else:
        agent = f"entrypoint: bench_agent:run\n  python_path: [agent]\n  isolation: {adapter}"
    (root / "evalloop.yaml").write_text(f"version: 1\nagent:\n  {agent}\n  tools: tools.yaml\n  {env}\n")
    (root / "fixtures").mkdir()
    for i in range(fixtures):
        (root / "fixtures" / f"bench-{i:04d}.yaml").write_text(FIXTURE.format(i=i))


def timed(evalloop: str, root: Path, jobs: int, repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([evalloop, "run", "--jobs", str(jobs)], cwd=root, capture_output=True, text=True,
                              env=env)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"evalloop run --jobs {jobs} exited {proc.returncode}:\n{proc.stdout[-2000:]}"
                             f"{proc.stderr[-2000:]}")
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", type=int, default=200)
    ap.add_argument("--turns", type=int, default=4, help="model turns per run")
    ap.add_argument("--sleep", type=float, default=0.2, help="seconds per model turn")
    ap.add_argument("--jobs", default="1,4,16")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--adapter", choices=["fork", "process", "command"], default="fork")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE if set (every start compiles evalloop from source)")
    args = ap.parse_args()
    env = dict(os.environ)
    if not args.no_bytecode:
        # as after `pip install`: compiled bytecode is cached (a sandbox may switch that off)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    evalloop = shutil.which("evalloop") or sys.exit("evalloop is not installed in this environment")
    jobs = [int(j) for j in args.jobs.split(",")]
    print(f"{args.fixtures} fixtures x {args.turns} turns x {args.sleep * 1000:.0f} ms, adapter {args.adapter}, "
          f"{os.cpu_count()} cores, bytecode cache {'off' if 'PYTHONDONTWRITEBYTECODE' in env else 'on'}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, args.fixtures, args.turns, args.sleep, args.adapter)
        timed(evalloop, root, max(jobs), 1, env)  # warm-up: bytecode and file caches
        walls = {n: timed(evalloop, root, n, args.repeat, env) for n in jobs}
    ref = min(walls)  # efficiency is relative to the fewest jobs measured (normally 1)
    print(f"{'jobs':>5} {'wall s':>8} {'speed-up':>9} {'efficiency':>11} {'ideal s':>8}")
    for n, t in sorted(walls.items()):
        # ideal: the agent's waits alone, in waves of n runs
        waves = -(-args.fixtures // n)
        print(f"{n:>5} {t:>8.2f} {walls[ref] / t:>8.2f}x {walls[ref] * ref / (n * t):>10.1%} "
              f"{waves * args.turns * args.sleep:>8.1f}")


if __name__ == "__main__":
    main()

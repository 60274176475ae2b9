"""Time `evalloop validate` against check-jsonschema and the C-YAML parse floor (issue 2).

    python bench/bench_validate.py [--fixtures 5000] [--peer-venv /work/benchenv-validate]

The peer (check-jsonschema) lives in its own virtualenv, never in the project's
dependencies: `python -m venv V && V/bin/pip install check-jsonschema`.
Every figure is wall time of a fresh process, best of --repeat runs, on the same
generated repository in the same run.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_repo import generate  # noqa: E402

FLOOR = """
import sys, yaml, json
for p in sys.argv[1:]:
    with open(p, 'rb') as fh:
        text = fh.read()
    if p.endswith('.json'):
        json.loads(text)
    else:
        yaml.load(text, Loader=yaml.CSafeLoader)
"""


def best(cmd: list[str], cwd: Path, repeat: int, ok: tuple[int, ...] = (0,)) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok:
            raise SystemExit(f"{cmd[:3]} exited {proc.returncode}: {proc.stdout[-500:]}"
                             f"{proc.stderr[-500:]}")
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixtures", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-venv", type=Path, default=Path("/work/benchenv-validate"))
    args = ap.parse_args()
    evalloop = shutil.which("evalloop") or sys.exit("evalloop is not installed in this environment")
    peer = args.peer_venv / "bin" / "check-jsonschema"
    schema = HERE.parent / "schemas" / "fixture.schema.json"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = generate(root, args.fixtures, 0.2, 1)
        rel = [os.path.relpath(p, root) for p in paths]
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        rows: list[tuple[str, float]] = []
        floor = best([sys.executable, "-c", FLOOR, *rel], root, args.repeat)
        rows.append(("floor: PyYAML CSafeLoader / json parse only", floor))
        full = best([evalloop, "validate", "--today", "2026-11-27"], root, args.repeat)
        rows.append((f"evalloop validate (all checks, {len(paths)} fixtures + incidents)", full))
        one = best([evalloop, "validate", "--today", "2026-11-27", rel[len(rel) // 2]], root,
                   args.repeat)
        rows.append(("evalloop validate ONE changed file (pre-commit case)", one))
        startup = best([evalloop, "--version"], root, args.repeat)
        rows.append(("evalloop --version (interpreter + CLI start-up)", startup))
        if peer.exists():
            peer_t = best([str(peer), "--schemafile", str(schema), *rel], root, 1)
            rows.append(("check-jsonschema --schemafile fixture.schema.json (schema only)", peer_t))
        else:
            peer_t = None
            print(f"(peer not found at {peer}; skipping)")
    print(f"\n{'what':70} {'seconds':>9} {'ms/file':>8}")
    for name, t in rows:
        print(f"{name:70} {t:9.3f} {t / len(paths) * 1000:8.3f}")
    print(f"\nevalloop / floor = {full / floor:.2f}x (goal <= 2x)")
    if peer_t:
        print(f"check-jsonschema / evalloop = {peer_t / full:.1f}x (goal >= 5x)")


if __name__ == "__main__":
    main()

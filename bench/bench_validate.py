"""Time `evalloop validate` against check-jsonschema and the C-YAML parse floor (issue 2), for the
whole repository and for one file (the pre-commit hook's case).

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


def best(cmd: list[str], cwd: Path, repeat: int, ok: tuple[int, ...] = (0,),
         env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok:
            raise SystemExit(f"{cmd[:3]} exited {proc.returncode}: {proc.stdout[-500:]}"
                             f"{proc.stderr[-500:]}")
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixtures", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-one", type=int, default=10, help="runs of the one-file (pre-commit) figures")
    ap.add_argument("--peer-venv", type=Path, default=Path("/work/benchenv-validate"))
    ap.add_argument("--no-peer-full", action="store_true", help="skip check-jsonschema on every file (~1 min)")
    args = ap.parse_args()
    evalloop = shutil.which("evalloop") or sys.exit("evalloop is not installed in this environment")
    peer = args.peer_venv / "bin" / "check-jsonschema"
    schema = HERE.parent / "schemas" / "fixture.schema.json"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        paths = generate(root, args.fixtures, 0.2, 1)
        rel = [os.path.relpath(p, root) for p in paths]
        one_file = rel[len(rel) // 2]
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        # a cache folder of its own (signing key, id index, detect-secrets' patterns): "cold" is a
        # first run on the machine, not whatever an earlier run left in ~/.cache
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "xdg-cache")}
        validate = [evalloop, "validate", "--today", "2026-11-27"]
        rows: list[tuple[str, float, int]] = []
        floor = best([sys.executable, "-c", FLOOR, *rel], root, args.repeat)
        rows.append(("floor: PyYAML CSafeLoader / json parse only", floor, len(paths)))
        full = best(validate, root, args.repeat, env=env)
        rows.append((f"evalloop validate (all checks, {len(paths)} fixtures + incidents)", full, len(paths)))
        # the id index remembers only files older than its racy window (idindex.RACY_NS)
        time.sleep(max(0.0, 3.5 - (time.time() - max(p.stat().st_mtime for p in paths))))
        cold = best([*validate, one_file], root, 1, env=env)
        rows.append(("evalloop validate ONE file, cold (no id index, first run)", cold, 1))
        one = best([*validate, one_file], root, args.repeat_one, env=env)
        rows.append(("evalloop validate ONE file, warm (pre-commit case)", one, 1))
        startup = best([evalloop, "--version"], root, args.repeat_one, env=env)
        rows.append(("evalloop --version (interpreter + CLI start-up)", startup, 1))
        peer_one = peer_t = None
        if peer.exists():
            peer_one = best([str(peer), "--schemafile", str(schema), one_file], root, args.repeat_one)
            rows.append(("check-jsonschema ONE file (schema only)", peer_one, 1))
            if not args.no_peer_full:
                peer_t = best([str(peer), "--schemafile", str(schema), *rel], root, 1)
                rows.append(("check-jsonschema --schemafile fixture.schema.json (schema only)", peer_t,
                             len(paths)))
        else:
            print(f"(peer not found at {peer}; skipping)")
    print(f"\n{'what':70} {'seconds':>9} {'ms/file':>8}")
    for name, t, files in rows:
        print(f"{name:70} {t:9.3f} {t / files * 1000:8.3f}")
    print(f"\nevalloop / floor = {full / floor:.2f}x (goal <= 2x)")
    print(f"one file, warm: {one:.3f} s (goal <= 0.3 s)")
    if peer_one:
        print(f"check-jsonschema / evalloop, one file = {peer_one / one:.2f}x")
    if peer_t:
        print(f"check-jsonschema / evalloop = {peer_t / full:.1f}x (goal >= 5x)")


if __name__ == "__main__":
    main()

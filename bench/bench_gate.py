"""Selection speed of `evalloop gate` (issue 5): diff, classification and selection, no agent runs.

    python bench/bench_gate.py [--fixtures 10000] [--commits 2000] [--changed 500]

Builds a repository with --fixtures fixtures, a history of --commits commits
(written with `git fast-import`) and a branch changing --changed files (artifacts
and fixtures), then times, in the same run, `git diff --name-status base...head`
(the floor) against `evalloop gate --select-only` on the same range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_repo import generate  # noqa: E402

KINDS = {"prompts": ".md", "policies": ".yaml", "routes": ".yaml", "tools": ".yaml", "workflows": ".yaml",
         "retrieval": ".yaml", "memory": ".yaml"}


def artifact(folder: str, i: int, version: int) -> str:
    if KINDS[folder] == ".md":
        return f"You are the {folder} assistant #{i}. Version {version}.\n"
    return (f"# {folder} {i}\nname: {folder}-{i}\nroute: route-{i % 5}\nversion: {version}\n"
            f"threshold: {100 + version}\nsteps: [read, check, act]\n")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def build(root: Path, fixtures: int, commits: int, changed: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    paths = generate(root, fixtures, 0.2, seed)
    arts = [f"{folder}/{folder}-{i:04d}{ext}" for folder, ext in KINDS.items() for i in range(100)]
    for a in arts:
        (root / a).parent.mkdir(parents=True, exist_ok=True)
        (root / a).write_text(artifact(a.split("/")[0], 0, 0))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "initial")
    # history: fast-import appends `commits` small commits touching artifacts
    stream = []
    for c in range(commits):
        a = rng.choice(arts)
        data = artifact(a.split("/")[0], c, c + 1).encode()
        stream.append(f"commit refs/heads/main\ncommitter b <b@example.com> {1700000000 + c} +0000\n"
                      f"data 6\nc{c:04d}\n" + ("from refs/heads/main^0\n" if c == 0 else "")
                      + f"M 100644 inline {a}\ndata {len(data)}\n")
        stream.append(data.decode() + "\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input="".join(stream).encode(), check=True)
    git(root, "reset", "-q", "--hard", "main")
    base = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-b", "change")
    n_fix = changed // 5
    for a in rng.sample(arts, min(len(arts), changed - n_fix)):
        p = root / a
        p.write_text(p.read_text().replace("threshold:", "threshold: 1") if a.endswith(".yaml")
                     else p.read_text() + "Be careful.\n")
    for p in rng.sample(paths, n_fix):
        p.write_text(p.read_text().replace("synthetic record", "synthetic record, changed"))
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "the change")
    return base, git(root, "rev-parse", "HEAD").strip()


def best(cmd: list[str], cwd: Path, repeat: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed: {proc.stderr[-800:]}")
        out = proc.stdout
    return min(times), out


def in_process(root: Path, base: str, head: str) -> dict[str, float]:
    """Where the time goes, without interpreter start-up and imports."""
    t0 = time.perf_counter()
    import git as gitpython

    from evalloop.gate import changes, protection, selection
    from evalloop.repo import revision
    from evalloop.repo.classify import Classifier
    from evalloop.repo.config import load_config
    from evalloop.repo.identities import IdentityCache

    t1 = time.perf_counter()
    repo = gitpython.Repo(root)
    config = load_config(root)
    cs = changes.diff(repo, base, head, Classifier(config))
    t2 = time.perf_counter()
    cache = IdentityCache(Path(repo.common_dir) / "evalloop")
    head_rev = revision.load(repo, cs.head, "", config, cache)
    t3 = time.perf_counter()
    selection.select(cs, head_rev.entries, config, root)
    t4 = time.perf_counter()
    assert cs.merge_base is not None
    base_rev = revision.load(repo, cs.merge_base, "", None, cache)
    protection.detect(base_rev, head_rev, cs, dt.date.today())
    t5 = time.perf_counter()
    return {"imports": t1 - t0, "diff+classify+keys": t2 - t1, "fixture index": t3 - t2, "select": t4 - t3,
            "base index+protection": t5 - t4}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fixtures", type=int, default=10_000)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--changed", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    evalloop = shutil.which("evalloop") or sys.exit("evalloop is not installed in this environment")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        base, head = build(root, args.fixtures, args.commits, args.changed)
        print(f"built in {time.perf_counter() - t0:.1f}s: {args.fixtures} fixtures, "
              f"{git(root, 'rev-list', '--count', 'HEAD').strip()} commits")
        floor, names = best(["git", "diff", "--name-status", f"{base}...{head}"], root, args.repeat)
        n_changed = len(names.splitlines())
        cold_cmd = [evalloop, "gate", "--base", base, "--head", head, "--select-only", "--format", "json"]
        cache = root / ".git" / "evalloop"
        shutil.rmtree(cache, ignore_errors=True)
        cold, _ = best(cold_cmd, root, 1)
        warm, out = best(cold_cmd, root, args.repeat)
        startup, _ = best([evalloop, "--version"], root, args.repeat)
        phases = in_process(root, base, head)
        import json

        report = json.loads(out)
        rows = [
            (f"git diff --name-status base...head ({n_changed} paths)", floor),
            ("evalloop gate --select-only, cold (no fixture index cache)", cold),
            ("evalloop gate --select-only, warm (fixture index cached in .git/evalloop)", warm),
            ("evalloop --version (interpreter + CLI start-up)", startup),
        ]
    print(f"\n{'what':75} {'seconds':>8}")
    for name, t in rows:
        print(f"{name:75} {t:8.3f}")
    print("\nin-process phases (warm): " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in phases.items()))
    print(f"\nchanged {len(report['changed'])}, selected {len(report['selected'])} of {args.fixtures}")
    print(f"warm / floor = {warm / floor:.1f}x, (warm - start-up) / floor = {(warm - startup) / floor:.1f}x "
          f"(goal <= 3x); cold / floor = {cold / floor:.1f}x")


if __name__ == "__main__":
    main()

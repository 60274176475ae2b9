"""The release gate on the bundled refund-support example, in four pull requests.

    python examples/gate_demo.py [--keep] [--format text|markdown]

It copies the example (root evalloop.yaml, owners.yaml, fixtures/, incidents/
and examples/refund-support/) into a fresh git repository and opens four
"pull requests" against main, running `evalloop gate` on each:

1. a workflow change that reintroduces the approval bypass (INC-2026-04-18-001)
   -> BLOCK, with the violations that show it;
2. the fix, on a main that still has the bypass, adding the incident's fixture
   -> PASS, and the new fixture is shown to fail on base (it reproduces);
3. an unrelated change to the shipping workflow -> only the shipping fixture runs;
4. the bypass again, this time with the fixtures that catch it deleted and the
   rest downgraded to exploratory -> BLOCK: protection changes need their owner's
   approval, and the base versions of the fixtures still run and fail.

Exit 0 when all four gates decide as described, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "refund-support"
BYPASS = EXAMPLE / "revisions" / "bypass" / "workflows" / "refund.yaml"
WORKFLOW = "examples/refund-support/workflows/refund.yaml"
INCIDENT_FIXTURE = "fixtures/refund/refund-approval-bypass-trajectory.yaml"
COPY = ["evalloop.yaml", "owners.yaml", "fixtures", "incidents", "examples/refund-support"]


def copy_example(repo: Path) -> None:
    """The worked example as a repository of its own: config, owners, fixtures, incidents, agent."""
    for rel in COPY:
        src, dst = PROJECT / rel, repo / rel
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(args, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-qm", message)


def gate(repo: Path, title: str, fmt: str) -> dict[str, object]:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", flush=True)
    report = repo.parent / "report.json"
    proc = subprocess.run([sys.executable, "-m", "evalloop", "gate", "--base", "main", "--format", fmt,
                           "--json", str(report)], cwd=repo, text=True)
    data: dict[str, object] = json.loads(report.read_text())
    data["exit"] = proc.returncode
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the demo repository and print where it is")
    ap.add_argument("--format", choices=["text", "markdown"], default="text")
    args = ap.parse_args()
    if importlib.util.find_spec("evalloop") is None:
        print("gate_demo.py: evalloop is not installed here: pip install . (from the project folder)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="evalloop-demo-"))
    repo = tmp / "repo"
    try:
        repo.mkdir()
        copy_example(repo)
        sh(repo, "git", "init", "-q", "-b", "main")
        commit(repo, "the fixed refund agent and its fixtures")
        fixed_workflow = (repo / WORKFLOW).read_text()

        # 1. a change that reintroduces the approval bypass
        sh(repo, "git", "checkout", "-q", "-b", "pr-1-reorder-workflow")
        shutil.copy2(BYPASS, repo / WORKFLOW)
        commit(repo, "workflow: draft the refund before asking for approval")
        r1 = gate(repo, "PR 1: reorder the refund workflow (reintroduces the approval bypass)", args.format)

        # 2. the fix, against a main that still has the bypass and lacks the incident fixture
        sh(repo, "git", "checkout", "-q", "main")
        sh(repo, "git", "checkout", "-q", "-b", "incident-state")
        shutil.copy2(BYPASS, repo / WORKFLOW)
        (repo / INCIDENT_FIXTURE).unlink()
        commit(repo, "main as it was when INC-2026-04-18-001 happened")
        sh(repo, "git", "branch", "-q", "-f", "main", "incident-state")
        sh(repo, "git", "checkout", "-q", "-b", "pr-2-fix")
        (repo / WORKFLOW).write_text(fixed_workflow)
        shutil.copy2(PROJECT / INCIDENT_FIXTURE, repo / INCIDENT_FIXTURE)
        commit(repo, "fix INC-2026-04-18-001: approval before drafting; add its fixture")
        r2 = gate(repo, "PR 2: the fix, with the incident's fixture", args.format)

        # 3. an unrelated artifact
        sh(repo, "git", "checkout", "-q", "pr-2-fix")
        sh(repo, "git", "branch", "-q", "-f", "main", "pr-2-fix")
        sh(repo, "git", "checkout", "-q", "-b", "pr-3-shipping")
        shipping = repo / "examples/refund-support/workflows/shipping.yaml"
        shipping.write_text(shipping.read_text().replace("max_attempts: 2", "max_attempts: 3"))
        commit(repo, "shipping: one more retry for carrier lookups")
        r3 = gate(repo, "PR 3: an unrelated change to the shipping workflow", args.format)

        # 4. the bypass, with the evidence against it removed
        sh(repo, "git", "checkout", "-q", "pr-2-fix")
        sh(repo, "git", "checkout", "-q", "-b", "pr-4-bypass-and-hide-it")
        shutil.copy2(BYPASS, repo / WORKFLOW)
        sh(repo, "git", "rm", "-q", INCIDENT_FIXTURE, "fixtures/refund/refund-approval-bypass-regression.json")
        for rel in ("fixtures/refund/refund-read-order-timeout-retry.yaml",):
            text = (repo / rel).read_text()
            (repo / rel).write_text(text.replace("severity: blocking", "severity: exploratory"))
        commit(repo, "workflow: draft first; drop the fixtures that complain")
        r4 = gate(repo, "PR 4: the bypass again, deleting and downgrading the fixtures that catch it", args.format)
    finally:
        if args.keep:
            print(f"\ndemo repository kept at {repo}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def ids(r: dict[str, object]) -> list[str]:
        return [s["id"] for s in r["selected"]]  # type: ignore[attr-defined, index]

    repro = [x.get("reproduction") for x in r2["results"] if x.get("reproduction")]  # type: ignore[attr-defined]
    checks = [
        ("PR 1 is blocked", r1["verdict"] == "block" and r1["exit"] == 1),
        ("PR 2 passes", r2["verdict"] == "pass" and r2["exit"] == 0),
        ("PR 2's incident fixture fails on base and passes on head", any(p["reproduces"] for p in repro)),
        ("PR 3 selects only the shipping fixture", ids(r3) == ["shipping-status-lookup"]),
        ("PR 4 is blocked by its protection changes", r4["verdict"] == "block" and r4["exit"] == 1
         and len(r4["protection_changes"]) == 3),  # type: ignore[arg-type]
    ]
    print(f"\n{'=' * 78}\nsummary")
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

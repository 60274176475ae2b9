"""The same inputs through the harness on two revisions, each run paired with its counterpart.

The baseline runs in a temporary worktree of its commit (`repo.git.checkout`), the candidate in
the work tree or a worktree of its own; both through the gate's fixture runner
(`gate.execute.execute`: the harness's batch run, every run judged). The inputs are the
candidate's: its fixtures (or captured inputs), so both sides answer exactly the same request
with the same mocked tools, as the gate's base checks run head's version of a fixture on base.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from evalloop.gate.execute import FixtureOutcome, RunOutcome, execute, load_fixture_file
from evalloop.gate.run import fixtures_to_run
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult
from evalloop.model.shadow import InputKind, ShadowPair, ShadowReport
from evalloop.repo.config import load_config
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.git import checkout, open_repo, prefix_of, resolve
from evalloop.shadow.compare import Side, pair, summary

# An input: a fixture (or a captured input made one), or the error result of one that cannot be read.
Item = LoadedFixture | FixtureResult


@dataclass(frozen=True)
class Options:
    root: Path  # the evalloop root of the work tree (where evalloop.yaml is)
    baseline: str
    candidate: str | None = None  # None: the work tree as it is, uncommitted changes included
    select: tuple[str, ...] = ()
    inputs: Path | None = None  # captured inputs (JSON Lines) instead of the candidate's fixtures
    inputs_display: str | None = None
    runs: int | None = None  # None: each fixture's own `runs:` (a captured input: 1)
    jobs: int = 4


def side(outcome: RunOutcome | None, judged: bool) -> Side:
    """A run of the gate's runner as a side of a pair; `judged` False drops the verdict (a captured
    input has no expectations to pass)."""
    if outcome is None:
        return Side(None, error="no run")
    if outcome.error is not None:
        return Side(outcome.run, error=outcome.error)
    messages = tuple(str(f["message"]) if "message" in f else str(f["kind"]) for f in outcome.failures)
    return Side(outcome.run, passed=outcome.passed if judged else None, failures=messages)


def pairs_of(items: Sequence[Item], baseline: Sequence[FixtureOutcome], candidate: Sequence[FixtureOutcome],
             kind: InputKind = "fixture") -> list[ShadowPair]:
    """Run n of each input on the baseline paired with run n on the candidate; `baseline` and
    `candidate` are the runner's outcomes of the loaded items, in their order. A side with fewer
    runs than the other has no result for the rest (fail closed)."""
    out: list[ShadowPair] = []
    loaded = iter(zip(baseline, candidate, strict=True))
    for item in items:
        if isinstance(item, FixtureResult):  # unreadable: nothing ran on either side
            why = item.error or "fixture unreadable"
            out.append(pair(item.id, Side(None, error=why), Side(None, error=why), input_kind=kind,
                            severity=item.severity, path=item.path))
            continue
        b, c = next(loaded)
        judged = kind == "fixture"
        n = max(len(b.runs), len(c.runs), 1)
        for i in range(n):
            out.append(pair(item.fixture.id, side(b.runs[i] if i < len(b.runs) else None, judged),
                            side(c.runs[i] if i < len(c.runs) else None, judged), run=i + 1, input_kind=kind,
                            severity=item.severity, path=item.path))
    return out


def run_pairs(items: Sequence[Item], baseline: tuple[Path, Config], candidate: tuple[Path, Config], jobs: int,
              kind: InputKind = "fixture") -> list[ShadowPair]:
    """Run the loaded items on each side (root and config) and pair their runs."""
    loaded = [i for i in items if isinstance(i, LoadedFixture)]
    b = execute(baseline[0], baseline[1], loaded, jobs=jobs) if loaded else []
    c = execute(candidate[0], candidate[1], loaded, jobs=jobs) if loaded else []
    return pairs_of(items, b, c, kind)


def config_at(root: Path, fallback: Config, notes: list[str], what: str) -> Config:
    """The config of a checkout; one without evalloop.yaml runs with `fallback`, said in a note."""
    if (root / "evalloop.yaml").exists():
        return load_config(root)
    notes.append(f"the {what} has no evalloop.yaml: it runs with the candidate's config")
    return fallback


def _items(opts: Options, root: Path, config: Config) -> tuple[list[Item], InputKind]:
    if opts.inputs is not None:
        from evalloop.gate.expressions import Subject, compile_select
        from evalloop.shadow.inputs import load_inputs

        captured = load_inputs(opts.inputs, opts.inputs_display)
        if opts.select:
            from evalloop.errors import UsageError

            predicate = compile_select(opts.select)
            captured = [c for c in captured if predicate(Subject.of(c))]
            if not captured:
                raise UsageError(f"no input matches --select {' / '.join(opts.select)}")
        return [_with_runs(c, opts.runs) for c in captured], "captured"
    chosen = fixtures_to_run(root, config, opts.select)
    items: list[Item] = []
    for c in chosen:
        lf = c if isinstance(c, LoadedFixture) else load_fixture_file(root, config, c)
        items.append(_with_runs(lf, opts.runs) if isinstance(lf, LoadedFixture) else lf)
    return items, "fixture"


def _with_runs(lf: LoadedFixture, runs: int | None) -> LoadedFixture:
    if runs is None or runs == lf.fixture.runs:
        return lf
    # pairs are run to run: k-of-n does not apply, each run is judged on its own
    return LoadedFixture(lf.path, lf.fixture.model_copy(update={"runs": runs, "min_passes": None}))


def shadow(opts: Options) -> ShadowReport:
    """Run the inputs on the baseline and the candidate and compare them pairwise."""
    repo = open_repo(opts.root)
    prefix = prefix_of(repo, opts.root)
    base_sha = resolve(repo, opts.baseline, "--baseline").hexsha
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        if opts.candidate is None:
            cand_root, cand_sha, cand_ref = opts.root, _work_tree(repo, notes), "work tree"
            cand_config = load_config(cand_root)
        else:
            cand_sha, cand_ref = resolve(repo, opts.candidate, "--candidate").hexsha, opts.candidate
            cand_root = stack.enter_context(checkout(repo, cand_sha, prefix))
            cand_config = config_at(cand_root, load_config(opts.root), notes, "candidate")
        items, kind = _items(opts, cand_root, cand_config)
        base_root = stack.enter_context(checkout(repo, base_sha, prefix))
        base_config = config_at(base_root, cand_config, notes, "baseline")
        pairs = run_pairs(items, (base_root, base_config), (cand_root, cand_config), opts.jobs, kind)
    if kind == "captured":
        notes.append("captured inputs have no expectations: no verdicts, only the differences")
    return ShadowReport(baseline=base_sha, candidate=cand_sha, baseline_ref=opts.baseline, candidate_ref=cand_ref,
                        inputs=kind, inputs_file=opts.inputs_display if opts.inputs else None, runs=opts.runs,
                        pairs=pairs, summary=summary(pairs), notes=notes)


def _work_tree(repo: git.Repo, notes: list[str]) -> str:
    """HEAD's commit, and a note when the work tree differs from it (it runs as it is)."""
    if not repo.head.is_valid():
        notes.append("the candidate is the work tree of a repository without commits")
        return "work tree"
    sha = repo.head.commit.hexsha
    if repo.is_dirty(untracked_files=False):
        notes.append(f"the candidate is the work tree: {sha[:12]} plus uncommitted changes")
    return sha


__all__ = ["Options", "config_at", "pairs_of", "run_pairs", "shadow", "side"]

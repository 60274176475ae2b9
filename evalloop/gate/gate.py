"""The gate from end to end: what changed, which fixtures protect it, the protection changes,
running the fixtures, quarantine, the incident reproduction check and the blocking failures on
base, and the report.

The verdict: block on an unapproved protection change or when a blocking fixture
fails, errors, is flaky (without an owned quarantine) or has no run; warn when a
warning fixture does; pass otherwise (`evalloop.model.results.decide`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import git

from evalloop.gate import changes, protection, selection
from evalloop.gate import shard as sharding
from evalloop.gate.followup import follow_up
from evalloop.gate.quarantine import apply_quarantine
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, GateReport, Selected, count, decide, started_now
from evalloop.model.shadow import ShadowReport
from evalloop.repo import fixtures, revision
from evalloop.repo.classify import Classifier
from evalloop.repo.config import load_config
from evalloop.repo.git import checkout, open_repo, prefix_of
from evalloop.repo.identities import IdentityCache

if TYPE_CHECKING:
    from evalloop.gate.execute import Watcher


@dataclass(frozen=True)
class Options:
    root: Path  # the evalloop root (where evalloop.yaml is)
    config_path: Path | None
    base: str
    head: str
    labels: list[str]  # the pull request's, from every source
    today: dt.date  # for quarantine expiry
    jobs: int = 4
    shard: tuple[int, int] | None = None  # (I, N): run only the I-th of N shares
    select_only: bool = False
    select: tuple[str, ...] = ()  # `--select`: narrows what the change selects (gate/expressions.py)
    ci: bool = False  # in CI a base that names no commit runs every fixture instead of being a usage error


@dataclass
class _Plan:
    """What is decided before anything runs."""

    repo: git.Repo
    prefix: str
    cs: changes.ChangeSet
    head_root: Path
    head_config: Config
    head: revision.Revision
    selection: selection.Selection
    protection: protection.Protection
    notes: list[str]


@contextlib.contextmanager
def _plan(opts: Options) -> Iterator[_Plan]:
    """The change, head's fixtures, the selection and the protection changes; head's tree stays
    checked out (in a temporary worktree unless the work tree is at head) until the block ends."""
    repo = open_repo(opts.root)
    prefix = prefix_of(repo, opts.root)
    config = load_config(opts.root, opts.config_path)
    cs = changes.diff(repo, opts.base, opts.head, Classifier(config), prefix, ci=opts.ci)
    cache_notes: list[str] = []
    cache = IdentityCache(Path(repo.common_dir) / "evalloop", cache_notes)
    with contextlib.ExitStack() as stack:
        at_head = not repo.bare and repo.head.is_valid() and repo.head.commit.hexsha == cs.head
        head_root = opts.root if at_head else stack.enter_context(checkout(repo, cs.head, prefix))
        head_config = config if at_head else load_config(head_root, None)
        # everything that decides selection and excuses is read from the commits' objects before
        # the agent runs: what the agent writes in the work tree cannot change it
        head = revision.load(repo, cs.head, prefix, head_config, cache)
        sel = selection.select(cs, head.entries, head_config, head_root)
        found = protection.protect(repo, cs, head, opts.labels, opts.today, cache)
        sel.selected = protection.with_base_versions(sel.selected, found)
        cache.save()
        narrowed = _narrow(repo, cs.head, prefix, head_config, head, sel, found, opts.select) if opts.select else []
        yield _Plan(repo, prefix, cs, head_root, head_config, head, sel, found,
                    [*cache_notes, *head.notes, *sel.notes, *found.notes, *narrowed])


def _narrow(repo: git.Repo, commit: str, prefix: str, config: Config, head: revision.Revision,
            sel: selection.Selection, found: protection.Protection, select: tuple[str, ...]) -> list[str]:
    """`gate --select`: keep the selected fixtures the expressions match (unreadable ones stay: fail
    closed); the notes say what was left out, and which fixtures match but the change does not select."""
    from evalloop.gate.expressions import Subject, compile_select

    predicate = compile_select(select)
    said = " / ".join(select)
    by_path = fixtures.load_at(repo, commit, prefix, config, [e.path for e in head.entries if e.head is not None])
    subjects = {lf.fixture.id: Subject.of(lf) for lf in by_path.values() if not isinstance(lf, str)}
    for fixture_id, version in found.base_versions.items():
        if not isinstance(version.loaded, str):
            subjects[fixture_id] = Subject.of(version.loaded)
    matching = {i for i, subject in subjects.items() if predicate(subject)}
    if not matching:
        from evalloop.errors import UsageError

        raise UsageError(f"no fixture matches --select {said}")
    kept = [s for s in sel.selected if s.id in matching or s.id not in subjects]
    chosen = {s.id for s in sel.selected}
    outside = sorted(matching - chosen)
    notes = [f"--select {said}: {len(kept)} of the {len(sel.selected)} fixtures the change selects"]
    if outside:
        shown = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
        notes.append(f"--select {said} also matches {shown}, which this change does not select: not run "
                     "(`evalloop run --select` runs them)")
    sel.selected = kept
    return notes


def explain(opts: Options, fixture_id: str) -> str:
    """Why the fixture is or is not selected (nothing runs)."""
    with _plan(opts) as plan:
        return selection.explain(plan.selection, fixture_id)


def _run(plan: _Plan, opts: Options, to_run: list[Selected], watcher: Watcher | None
         ) -> tuple[list[FixtureResult], list[str], ShadowReport | None]:
    """Run head's fixtures (base versions in place of those with an unapproved protection change),
    then apply quarantine, check incident reproduction and run the blocking failures on base, and
    note how to reach each failure's owner and its incident record; for a model route change, the
    shadow comparison of head's runs with the same fixtures' runs on base. `watcher` hears of head's
    runs only: the runs on base are not the change's."""
    # imported here: the harness and the evaluator are not needed for --select-only or --explain
    from evalloop.gate.execute import Recorder, run_selected
    from evalloop.gate.reproduction import reproduce
    from evalloop.shadow.route import compare_route_change

    versions = plan.protection.base_versions
    head_paths = [s.path for s in to_run if s.id not in versions]
    by_path = fixtures.load_at(plan.repo, plan.cs.head, plan.prefix, plan.head_config, head_paths)
    loaded = [versions[s.id].loaded if s.id in versions else by_path[s.path] for s in to_run]
    heard = Recorder(watcher)  # head's runs, for the shadow comparison of a model route change
    results = run_selected(plan.head_root, plan.head_config, to_run, opts.jobs, loaded, heard)
    unapproved = {c.id for c in plan.protection.changes if not c.approved}
    notes = apply_quarantine(results, plan.head, plan.protection.base, opts.today, unapproved)
    # the blocking failures run on base too, as they ran here (a base version stays the base's)
    ran = {s.id: lf for s, lf in zip(to_run, loaded, strict=True) if not isinstance(lf, str)}
    notes += reproduce(plan.repo, plan.cs, plan.prefix, plan.head_root, plan.head_config, results,
                       plan.selection.selected, opts.jobs, loaded=ran)
    shadow = compare_route_change(plan.repo, plan.cs, plan.prefix, plan.head_config, ran, heard.outcomes, opts.jobs)
    return follow_up(results, plan.repo, plan.cs.head, plan.prefix, plan.head_config), notes, shadow


def gate(opts: Options, watcher: Watcher | None = None) -> GateReport:
    """The gate report of `opts.base`...`opts.head`, with its verdict; `watcher` hears of each
    fixture run for it as it is decided, with its runs (`evalloop.gate.execute.execute`)."""
    started_at, hostname = started_now()
    with _plan(opts) as plan:
        sel = plan.selection
        to_run = sharding.shard(sel.selected, *opts.shard) if opts.shard else sel.selected
        notes = list(plan.notes)
        shadow = None
        # a fixture that cannot be read cannot be selected with confidence: fail closed
        results = [FixtureResult(id=e.id, severity=e.severity, status="error", path=e.path,
                                 error=f"fixture unreadable: {e.error}") for e in sel.broken]
        if opts.select_only:
            notes.append("selection only (--select-only): nothing was run, no verdict")
        else:
            if watcher is not None and results:
                from evalloop.gate.execute import FixtureOutcome

                watcher.planned(len(results))
                for broken in results:
                    watcher.finished(FixtureOutcome(broken))
            ran, run_notes, shadow = _run(plan, opts, to_run, watcher)
            results += ran
            notes += run_notes
    if not opts.select_only:
        seen = {r.id for r in results}
        results += [FixtureResult(id=s.id, severity=s.severity, status="no_run", path=s.path,
                                  error="the harness returned no result for it") for s in to_run if s.id not in seen]
    order = {s.id: i for i, s in enumerate(sel.selected)}
    results.sort(key=lambda r: (order.get(r.id, -1), r.id))
    found = plan.protection.changes
    return GateReport(
        verdict=decide([] if opts.select_only else results, found),  # nothing ran: only protection changes decide
        base=plan.cs.base, head=plan.cs.head, merge_base=plan.cs.merge_base, changed=plan.cs.changed,
        behaviours=sel.behaviours, selected=sel.selected, results=results,
        counts=count(results, len(to_run)), notes=notes, protection_changes=found,
        shard=f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None, selection_only=opts.select_only,
        started_at=started_at, hostname=hostname,
        repo_prefix=plan.prefix, shadow=shadow, timestamp=started_now()[0],
    )

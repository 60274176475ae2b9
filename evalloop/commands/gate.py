"""`evalloop gate`: what changed, which fixtures protect it, run them, decide.

The verdict: block on an unapproved protection change or when a blocking fixture
fails, errors, is flaky (without an owned quarantine) or has no run; warn when a
warning fixture does; pass otherwise (`evalloop.model.results.decide`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git

from evalloop.errors import EvalloopError, UsageError
from evalloop.gate import changes, protection, selection
from evalloop.gate import shard as sharding
from evalloop.model import quarantine
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, Reproduction, Selected, count, decide
from evalloop.repo import fixtures, revision
from evalloop.repo.classify import Classifier
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write
from evalloop.repo.git import open_repo
from evalloop.repo.identities import IdentityCache
from evalloop.report.formats import RENDERERS


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise UsageError(f"--shard {spec!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise UsageError(f"--shard {spec!r}: I must be between 1 and N")
    return i, n


@contextlib.contextmanager
def checkout(repo: git.Repo, sha: str, prefix: str) -> Iterator[Path]:
    """The repository at `sha` in a temporary worktree (the evalloop root inside it)."""
    tmp = Path(tempfile.mkdtemp(prefix="evalloop-wt-"))
    wt = tmp / "wt"
    try:
        repo.git.worktree("add", "--detach", "--force", str(wt), sha)
    except git.GitCommandError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(f"cannot check out {sha[:12]} in a worktree: {exc.stderr.strip()}") from None
    try:
        yield wt / prefix if prefix else wt
    finally:
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(wt))
        shutil.rmtree(tmp, ignore_errors=True)


def pr_labels() -> list[str]:
    """Labels the environment gives: EVALLOOP_PR_LABELS (one per line), then the Actions event's."""
    from evalloop.github.api import pull_request_labels

    given = [line.strip() for line in os.environ.get("EVALLOOP_PR_LABELS", "").splitlines() if line.strip()]
    return given + pull_request_labels(os.environ)


def run_selected(root: Path, config: Config, selected: list[Selected], jobs: int,
                 loaded: list[Any] | None = None) -> list[FixtureResult]:
    """Run fixtures through the agent harness; no agent is an error each.

    `loaded` (one per selected fixture: a LoadedFixture, or why it could not be loaded) gives
    the fixtures as the revision's objects have them; without it the files under `root` are read."""
    if not selected:
        return []
    from evalloop.gate import execute

    if loaded is None:
        return execute.run_fixtures(root, config, [s.path for s in selected], jobs=jobs)
    errors = [FixtureResult(id=s.id, severity=s.severity, status="error", path=s.path,
                            error=f"fixture unreadable: {lf}") for s, lf in zip(selected, loaded, strict=True)
              if isinstance(lf, str)]
    return errors + execute.run_fixtures(root, config, [lf for lf in loaded if not isinstance(lf, str)], jobs=jobs)


def _apply_quarantine(results: list[FixtureResult], head: revision.Revision, base: revision.Revision | None,
                      today: dt.date, unapproved: set[str]) -> list[str]:
    """Flaky results with an owned, unexpired quarantine entry stop gating; protected ones never do,
    and a fixture protected on base stays protected whatever head says about it."""
    if not head.quarantine:
        return []
    heads = head.by_id()
    bases = base.by_id() if base else {}
    notes = []
    for i, r in enumerate(results):
        q = quarantine.active(head.quarantine, r.id, today) if r.status == "flaky" else None
        if q is None:
            continue
        why: list[str] = []
        for rev, entries in ((head, heads), (base, bases)):
            e = entries.get(r.id)
            if rev is not None and e is not None and e.head is not None:
                why += [w for w in quarantine.guarded(e.head.risk, e.head.incident_id, rev.signals) if w not in why]
        if why:
            notes.append(f"{r.id} is flaky; its quarantine entry is ignored because it guards {', '.join(why)}")
            continue
        if r.id in unapproved:
            notes.append(f"{r.id} is flaky; its quarantine entry is new in this change and not approved")
            continue
        results[i] = r.model_copy(update={"quarantined": True})
        notes.append(f"{r.id} is flaky and quarantined until {q.expires_at} (owner {q.owner}, {q.issue})")
    return notes


def _protect(repo: git.Repo, cs: changes.ChangeSet, head: revision.Revision, sel: selection.Selection,
             labels: list[str], today: dt.date, cache: IdentityCache
             ) -> tuple[list[ProtectionChange], revision.Revision | None, dict[str, Any], list[str]]:
    """Protection changes against the merge-base, and the base versions of the unapproved ones,
    which replace head's in the selection (they run against head's agent)."""
    notes: list[str] = []
    floor = cs.merge_base
    if floor is None:
        try:  # unrelated histories or a shallow clone: the base commit itself is the floor
            floor = repo.commit(cs.base).hexsha
            notes.append(f"no merge-base: protection changes are checked against the base commit {floor[:12]}")
        except (ValueError, git.BadName, git.GitCommandError):
            return [], None, {}, ["the base revision is unknown: protection changes (fixtures removed, "
                                  "downgraded, narrowed or quarantined) cannot be checked; every fixture of head runs"]
    try:
        base_config = revision.config_at(repo, floor, head.prefix)
    except EvalloopError as exc:
        notes.append(f"the base revision's evalloop.yaml is unusable ({exc}); its fixtures are read with "
                     "head's config")
        base_config = head.config
    base = revision.load(repo, floor, head.prefix, base_config, cache)
    notes += base.notes
    found = protection.detect(base, head, cs, today)
    found_changes, approval_notes = protection.approve(found, repo, base, head, labels)
    notes += approval_notes
    # approve() keeps found's order: the base entry of each change that is still pending
    replaced = {f.base_entry.id: f.base_entry for f, c in zip(found, found_changes, strict=True) if not c.approved}
    sel.selected = [s for s in sel.selected if s.id not in replaced]
    loaded = fixtures.load_at(repo, floor, head.prefix, base.config, [e.path for e in replaced.values()])
    base_versions: dict[str, Any] = {}
    for e in replaced.values():
        kinds = sorted({c.kind for c in found_changes if c.id == e.id})
        sel.selected.append(Selected(id=e.id, severity="blocking", path=e.path, reasons=[
            f"protection change ({', '.join(kinds)}) without approval: the base revision's version "
            f"({floor[:12]}:{e.path}) runs against head's agent"]))
        lf = loaded[e.path]
        if not isinstance(lf, str):
            lf = type(lf)(e.path, lf.fixture.model_copy(update={"severity": "blocking"}))
        base_versions[e.id] = lf
    return found_changes, base, base_versions, notes


def _reproduce(repo: git.Repo, cs: changes.ChangeSet, prefix: str, head_root: Path, config: Config,
               results: list[FixtureResult], sel: selection.Selection, jobs: int) -> list[str]:
    """Added incident fixtures must fail on the base revision and pass on head."""
    added = {c.path for c in cs.changed if c.kind == "fixture" and c.status == "added"}
    by_id = {s.id: s for s in sel.selected}
    targets = [(i, r) for i, r in enumerate(results) if r.incident_id and by_id.get(r.id)
               and by_id[r.id].path in added]
    if not targets or cs.merge_base is None:
        return []
    notes = []
    with checkout(repo, cs.merge_base, prefix) as base_root:
        base_config = load_config(base_root) if (base_root / "evalloop.yaml").exists() else config
        for _, r in targets:
            src = head_root / by_id[r.id].path
            dst = base_root / by_id[r.id].path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        base_results = {b.id: b for b in run_selected(base_root, base_config, [by_id[r.id] for _, r in targets],
                                                      jobs)}
    for i, r in targets:
        b = base_results.get(r.id)
        base_status = b.status if b else "no_run"
        reproduces = base_status == "fail" and r.status == "pass"
        if reproduces:
            note = f"fails on base {cs.merge_base[:12]} and passes on head: it reproduces {r.incident_id}"
        elif base_status == "pass":
            note = (f"passes on base {cs.merge_base[:12]} too: it does not reproduce {r.incident_id}, "
                    "so it protects nothing yet")
            notes.append(f"{r.id}: {note}")
        elif base_status in ("error", "no_run"):
            note = f"could not run on base {cs.merge_base[:12]} ({b.error if b else 'no run'}); reproduction unknown"
            notes.append(f"{r.id}: {note}")
        else:
            note = f"{base_status} on base, {r.status} on head"
        results[i] = r.model_copy(update={"reproduction": Reproduction(
            base_status=base_status, head_status=r.status, reproduces=reproduces, note=note)})
    return notes


def gate(*, base: str, head: str, config_path: Path | None, fmt: str, output: Path | None,
         json_path: Path | None, jobs: int, shard_spec: str | None, explain_id: str | None,
         select_only: bool, today: dt.date | None, labels: list[str] | None = None) -> int:
    shard = parse_shard(shard_spec)
    today = today or dt.date.today()
    labels = [*(labels or []), *pr_labels()]
    root = find_root(config_path.parent if config_path else Path.cwd())
    repo = open_repo(root)
    top = Path(repo.working_tree_dir or root).resolve()
    prefix = os.path.relpath(root.resolve(), top).replace(os.sep, "/")
    prefix = "" if prefix == "." else prefix + "/"
    config = load_config(root, config_path)
    classifier = Classifier(config)
    cs = changes.diff(repo, base, head, classifier, prefix)
    cache_notes: list[str] = []
    cache = IdentityCache(Path(repo.common_dir) / "evalloop", cache_notes)
    with contextlib.ExitStack() as stack:
        at_head = not repo.bare and repo.head.is_valid() and repo.head.commit.hexsha == cs.head
        head_root = root if at_head else stack.enter_context(checkout(repo, cs.head, prefix))
        head_config = config if at_head else load_config(head_root, None)
        # everything that decides selection and excuses is read from the commits' objects before
        # the agent runs: what the agent writes in the work tree cannot change it
        head_rev = revision.load(repo, cs.head, prefix, head_config, cache)
        sel = selection.select(cs, head_rev.entries, head_config, head_root)
        found, base_rev, base_versions, protect_notes = _protect(repo, cs, head_rev, sel, labels, today, cache)
        cache.save()
        if explain_id is not None:
            print(selection.explain(sel, explain_id))
            return 0
        to_run = sharding.shard(sel.selected, *shard) if shard else sel.selected
        notes = [*cache_notes, *head_rev.notes, *sel.notes, *protect_notes]
        results: list[FixtureResult] = []
        for e in sel.broken:
            # a fixture that cannot be read cannot be selected with confidence: fail closed
            results.append(FixtureResult(id=e.id, severity=e.severity, status="error", path=e.path,
                                         error=f"fixture unreadable: {e.error}"))
        if select_only:
            notes.append("selection only (--select-only): nothing was run, no verdict")
        else:
            head_paths = [s.path for s in to_run if s.id not in base_versions]
            by_path = fixtures.load_at(repo, cs.head, prefix, head_config, head_paths)
            loaded = [base_versions[s.id] if s.id in base_versions else by_path[s.path] for s in to_run]
            results += run_selected(head_root, head_config, to_run, jobs, loaded)
            notes += _apply_quarantine(results, head_rev, base_rev, today,
                                       {c.id for c in found if not c.approved})
            notes += _reproduce(repo, cs, prefix, head_root, head_config, results, sel, jobs)
    ran = {r.id for r in results}
    if not select_only:
        for s in to_run:
            if s.id not in ran:
                results.append(FixtureResult(id=s.id, severity=s.severity, status="no_run", path=s.path,
                                             error="the harness returned no result for it"))
    order = {s.id: i for i, s in enumerate(sel.selected)}
    results.sort(key=lambda r: (order.get(r.id, -1), r.id))
    report = GateReport(
        verdict=decide([] if select_only else results, found),  # nothing ran: only protection changes decide
        base=cs.base, head=cs.head, merge_base=cs.merge_base, changed=cs.changed,
        behaviours=sel.behaviours, selected=sel.selected, results=results,
        counts=count(results, len(to_run)), notes=notes, protection_changes=found,
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
    )
    emit(report, fmt, output, json_path)
    return 1 if report.verdict == "block" else 0


def emit(report: GateReport, fmt: str, output: Path | None, json_path: Path | None) -> None:
    text = RENDERERS[fmt](report)
    if output is not None:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)
    if json_path is not None:
        atomic_write(json_path, RENDERERS["json"](report))

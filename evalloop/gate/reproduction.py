"""What the base revision says about head's results, from one checkout of the merge-base.

- The incident reproduction check: an incident fixture a change adds must fail on the base
  revision and pass on head, or it protects nothing yet. It runs against the base revision's
  agent with head's version of the fixture file copied in (base does not have it).
- Blocking failures, checked on base: whether each one is new with this change or was failing
  already. Only the failures run there (a second pass: each fixture's runs once more), at most
  `MAX_BASE_CHECKS` of them; the others keep `base_status` None ("not checked").

Both run in the same worktree and the same agent session, so the failures cost no second checkout.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import git

from evalloop.gate.changes import ChangeSet
from evalloop.gate.execute import run_fixtures
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, Reproduction, Selected, gating_failure
from evalloop.repo.config import load_config
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.git import checkout

# A change that breaks everything would double the gate's time to say so; past this many
# failures the rest are reported as not checked on base.
MAX_BASE_CHECKS = 20


def base_checks(results: list[FixtureResult], loaded: Mapping[str, LoadedFixture]) -> tuple[list[str], int]:
    """The ids of the blocking failures to run on base (those with a loaded fixture), and how many
    more there were."""
    ids = [r.id for r in results if r.severity == "blocking" and gating_failure(r) and r.id in loaded]
    return ids[:MAX_BASE_CHECKS], max(len(ids) - MAX_BASE_CHECKS, 0)


def reproduce(repo: git.Repo, cs: ChangeSet, prefix: str, head_root: Path, config: Config,
              results: list[FixtureResult], selected: list[Selected], jobs: int, *,
              loaded: Mapping[str, LoadedFixture] | None = None) -> list[str]:
    """Each added incident fixture's result gets its `reproduction`, and each blocking failure
    among `loaded` (the fixtures as head's gate ran them, by id) its `base_status` (in place); a
    note for each incident fixture that does not show it reproduces its incident."""
    added = {c.path for c in cs.changed if c.kind == "fixture" and c.status == "added"}
    by_id = {s.id: s for s in selected}
    targets = [(i, r) for i, r in enumerate(results) if r.incident_id and by_id.get(r.id)
               and by_id[r.id].path in added]
    checks, unchecked = base_checks(results, loaded or {})
    target_ids = {r.id for _, r in targets}
    checks = [x for x in checks if x not in target_ids]  # its reproduction run says it
    if (not targets and not checks) or cs.merge_base is None:
        return []
    notes = []
    with checkout(repo, cs.merge_base, prefix) as base_root:
        base_config = load_config(base_root) if (base_root / "evalloop.yaml").exists() else config
        for _, r in targets:
            src = head_root / by_id[r.id].path
            dst = base_root / by_id[r.id].path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        # head's fixture (its expectations, as the gate ran it) against base's agent
        sources: list[str | LoadedFixture] = [by_id[r.id].path for _, r in targets]
        sources += [(loaded or {})[x] for x in checks]
        base_results = {b.id: b for b in run_fixtures(base_root, base_config, sources, jobs=jobs)}
    if unchecked:
        which = "1 more blocking failure was" if unchecked == 1 else f"{unchecked} more blocking failures were"
        notes.append(f"{which} not run on base {cs.merge_base[:12]} (at most {MAX_BASE_CHECKS} are): whether "
                     "they fail there too is not checked")
    for i, r in enumerate(results):
        if r.id in checks:
            b = base_results.get(r.id)
            results[i] = r.model_copy(update={"base_status": b.status if b else "no_run"})
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
        update: dict[str, object] = {"reproduction": Reproduction(
            base_status=base_status, head_status=r.status, reproduces=reproduces, note=note)}
        if r.severity == "blocking" and gating_failure(r):
            update["base_status"] = base_status
        results[i] = r.model_copy(update=update)
    return notes

"""The incident reproduction check: an incident fixture a change adds must fail on the base
revision and pass on head, or it protects nothing yet.

The fixture runs against the base revision's agent, checked out in a temporary worktree
with head's version of the fixture file copied in (base does not have it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import git

from evalloop.gate.changes import ChangeSet
from evalloop.gate.execute import run_selected
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, Reproduction, Selected
from evalloop.repo.config import load_config
from evalloop.repo.git import checkout


def reproduce(repo: git.Repo, cs: ChangeSet, prefix: str, head_root: Path, config: Config,
              results: list[FixtureResult], selected: list[Selected], jobs: int) -> list[str]:
    """Each added incident fixture's result gets its `reproduction` (in place); a note for each
    one that does not show it reproduces its incident."""
    added = {c.path for c in cs.changed if c.kind == "fixture" and c.status == "added"}
    by_id = {s.id: s for s in selected}
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

"""The gate's shadow comparison for a model route change (seed, "Release Gates": "If a model route
changes, compare cost, latency, tool selection, policy denials, and final quality").

The fixtures head ran also run on the merge-base's artifacts and agent, as head's gate ran them
(head's version of each fixture: the same input, the same mocked tools), and each run is paired
with head's. The section informs the reviewer; the verdict stays the fixtures' own (docs/shadow.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import git

from evalloop.gate.changes import ChangeSet
from evalloop.gate.execute import FixtureOutcome, execute
from evalloop.model.config import Config
from evalloop.model.shadow import ShadowReport
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.git import checkout
from evalloop.shadow.compare import summary
from evalloop.shadow.run import config_at, pairs_of

KIND = "model_route"


def route_changes(cs: ChangeSet) -> list[str]:
    """The changed paths of kind model_route."""
    return [c.path for c in cs.changed if c.kind == KIND]


def compare_route_change(repo: git.Repo, cs: ChangeSet, prefix: str, head_config: Config,
                         ran: Mapping[str, LoadedFixture], head: Sequence[FixtureOutcome],
                         jobs: int) -> ShadowReport | None:
    """None unless the change touches a model route; else `ran` (the fixtures head ran, by id)
    run on the base revision and paired with `head` (head's outcomes, any order)."""
    paths = route_changes(cs)
    if not paths:
        return None
    # without a merge-base the change was diffed from base itself: that is what it changes
    baseline = cs.merge_base or cs.base
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    notes = [f"model route changed ({shown}): the selected fixtures also ran on base {baseline[:12]}; "
             "the differences inform the review, the verdict is the fixtures' own"]
    head_by_id = {o.result.id: o for o in head}
    items = [lf for fixture_id, lf in ran.items() if fixture_id in head_by_id]
    report = ShadowReport(baseline=baseline, candidate=cs.head, baseline_ref="base", candidate_ref="head",
                          notes=notes)
    if not items:
        notes.append("no fixture ran on head: nothing to compare")
        return report
    with checkout(repo, baseline, prefix) as base_root:
        base_config = config_at(base_root, head_config, notes, "base revision")
        base = execute(base_root, base_config, items, jobs=jobs)
    pairs = pairs_of(items, base, [head_by_id[lf.fixture.id] for lf in items])
    return report.model_copy(update={"pairs": pairs, "summary": summary(pairs)})


__all__ = ["compare_route_change", "route_changes"]

"""The gate from end to end, called as a stage: the report, --select-only, --shard and --explain."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import git
import pytest

from evalloop.gate.gate import Options, explain, gate
from tests.support.gitrepo import commit_all, write_files

FIXTURE = "id: {id}\nowner: t\nseverity: blocking\ngates: [prompt]\ninput: {{user_message: hi}}\n"


@pytest.fixture
def change(tmp_path: Path) -> Options:
    """A prompt change in a repository without an agent; fixture c is removed, b cannot be read."""
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"evalloop.yaml": "version: 1\n", "owners.yaml": "owners: {t: {}}\n",
                           "prompts/p.md": "v1\n", **{f"fixtures/{x}.yaml": FIXTURE.format(id=x) for x in "ac"}})
    base = commit_all(repo, "base")
    (tmp_path / "fixtures/c.yaml").unlink()
    write_files(tmp_path, {"prompts/p.md": "v2\n", "fixtures/b.yaml": "id: [unclosed\n"})
    commit_all(repo, "change")
    return Options(root=tmp_path, config_path=None, base=base, head="HEAD", labels=[], today=dt.date(2026, 6, 1))


def test_the_report_runs_head_and_the_base_versions(change: Options) -> None:
    report = gate(change)
    assert [(r.id, r.status) for r in report.results] == [("fixtures/b.yaml", "error"), ("a", "error"),
                                                          ("c", "error")]
    assert "fixture unreadable" in (report.results[0].error or "")
    assert "no agent configured" in (report.results[1].error or "")
    assert [(c.id, c.kind, c.approved) for c in report.protection_changes] == [("c", "removed", False)]
    assert [s.id for s in report.selected] == ["a", "c"] and report.merge_base == change.base
    assert report.verdict == "block" and report.counts.selected == 2 and report.shard is None


def test_select_only_runs_nothing_and_only_protection_changes_decide(change: Options) -> None:
    opts = dataclasses.replace(change, select_only=True, shard=(2, 2))
    report = gate(opts)
    assert [r.id for r in report.results] == ["fixtures/b.yaml"]  # unreadable: an error without running
    assert report.notes[-1] == "selection only (--select-only): nothing was run, no verdict"
    assert report.verdict == "block" and report.shard == "2/2" and report.counts.selected == 1


def test_explain_says_why_and_runs_nothing(change: Options) -> None:
    assert explain(change, "a") == "a is selected:\n  - prompts/p.md modified (prompt); gates include prompt"
    assert explain(change, "c").startswith("c is selected:\n  - protection change (removed) without approval")
    assert explain(change, "zz") == "no fixture with id 'zz' in this repository"

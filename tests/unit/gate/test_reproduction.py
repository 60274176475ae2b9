"""The incident reproduction check: an added incident fixture runs against the base revision's
agent (checked out in a worktree, head's fixture file copied in) and must fail there."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from evalloop.gate import changes
from evalloop.gate.reproduction import reproduce
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, Selected
from evalloop.repo.classify import Classifier
from evalloop.repo.config import load_config
from tests.support.gitrepo import commit_all, write_files

AGENT = '''
def run(request, tools):
    return {{"stop_reason": "{stop}", "final_status": "ok", "output": "hello"}}
'''
CONFIG = "version: 1\nagent: {entrypoint: agent_mod:run, python_path: [agent], isolation: process}\n"
INCIDENT = ("id: inc\nowner: t\nseverity: blocking\nincident_id: INC-1\ninput: {user_message: hi}\n"
            "expected: {stop_reason: done}\n")
SELECTED = [Selected(id="inc", severity="blocking", path="fixtures/inc.yaml", reasons=["added"])]


def fixed(tmp_path: Path, base_stop: str, base_config: str = CONFIG) -> tuple[git.Repo, changes.ChangeSet]:
    """Base's agent stops with `base_stop`; head's is fixed and adds the incident fixture."""
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"evalloop.yaml": base_config, "owners.yaml": "owners: {t: {}}\n",
                           "agent/agent_mod.py": AGENT.format(stop=base_stop)})
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "fix")
    write_files(tmp_path, {"evalloop.yaml": CONFIG, "agent/agent_mod.py": AGENT.format(stop="done"),
                           "fixtures/inc.yaml": INCIDENT})
    commit_all(repo, "fix")
    return repo, changes.diff(repo, base, "HEAD", Classifier(Config()))


def head_result(status: str = "pass") -> list[FixtureResult]:
    return [FixtureResult(id="inc", severity="blocking", status=status, path="fixtures/inc.yaml",  # type: ignore[arg-type]
                          incident_id="INC-1")]


def check(tmp_path: Path, repo: git.Repo, cs: changes.ChangeSet, results: list[FixtureResult]) -> list[str]:
    return reproduce(repo, cs, "", tmp_path, load_config(tmp_path), results, SELECTED, 1)


def test_failing_on_base_and_passing_on_head_reproduces(tmp_path: Path) -> None:
    repo, cs = fixed(tmp_path, "gave_up")
    results = head_result()
    assert check(tmp_path, repo, cs, results) == []
    r = results[0].reproduction
    assert r is not None and (r.base_status, r.head_status, r.reproduces) == ("fail", "pass", True)
    assert cs.merge_base is not None
    assert r.note == f"fails on base {cs.merge_base[:12]} and passes on head: it reproduces INC-1"
    assert len(repo.git.worktree("list").splitlines()) == 1  # the base worktree is gone


def test_passing_on_base_too_protects_nothing_yet(tmp_path: Path) -> None:
    repo, cs = fixed(tmp_path, "done")
    results = head_result()
    notes = check(tmp_path, repo, cs, results)
    assert cs.merge_base is not None
    assert notes == [f"inc: passes on base {cs.merge_base[:12]} too: it does not reproduce INC-1, so it protects "
                     "nothing yet"]
    assert results[0].reproduction is not None and results[0].reproduction.reproduces is False


def test_not_running_on_base_leaves_it_unknown(tmp_path: Path) -> None:
    repo, cs = fixed(tmp_path, "gave_up", base_config="version: 1\n")  # base has no agent
    results = head_result("fail")
    notes = check(tmp_path, repo, cs, results)
    assert len(notes) == 1 and notes[0].startswith("inc: could not run on base")
    assert "no agent configured" in notes[0] and notes[0].endswith("reproduction unknown")
    assert results[0].reproduction is not None and results[0].reproduction.base_status == "error"


@pytest.mark.parametrize("what", ["not an incident fixture", "not added", "no merge-base"])
def test_only_added_incident_fixtures_with_a_merge_base_are_checked(tmp_path: Path, what: str) -> None:
    repo, cs = fixed(tmp_path, "gave_up")
    results = head_result()
    if what == "not an incident fixture":
        results = [results[0].model_copy(update={"incident_id": None})]
    elif what == "not added":
        cs.changed = [c for c in cs.changed if c.path != "fixtures/inc.yaml"]
    else:
        cs.merge_base = None
    assert check(tmp_path, repo, cs, results) == []
    assert results[0].reproduction is None

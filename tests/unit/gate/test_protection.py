"""Protection changes against the floor: the merge-base, else the base commit, else none can be
checked; the unapproved ones' base versions run, as blocking, in place of head's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import git
import pytest

from evalloop.gate import changes
from evalloop.gate.protection import Protection, protect, with_base_versions
from evalloop.model.config import Config
from evalloop.model.results import Selected
from evalloop.repo import revision
from evalloop.repo.classify import Classifier
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.identities import IdentityCache
from tests.support.gitrepo import commit_all, write_files

TODAY = dt.date(2026, 6, 1)
FIXTURE = "id: {id}\nowner: t\nseverity: {severity}\ninput: {{user_message: hi}}\n"
CONFIG = "version: 1\nprotection: {approval_labels: [evalloop-approved]}\n"


@pytest.fixture
def grepo(tmp_path: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n",
                           "fixtures/keep.yaml": FIXTURE.format(id="keep", severity="blocking"),
                           "fixtures/gone.yaml": FIXTURE.format(id="gone", severity="blocking")})
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    (tmp_path / "fixtures/gone.yaml").unlink()
    write_files(tmp_path, {"fixtures/keep.yaml": FIXTURE.format(id="keep", severity="warning")})
    commit_all(repo, "weaken both")
    return repo, base


def protection(repo: git.Repo, base: str, labels: list[str] | None = None) -> Protection:
    config = Config.model_validate({"protection": {"approval_labels": ["evalloop-approved"]}})
    # as in CI, where a base that names no commit runs everything (outside CI it is a usage error)
    cs = changes.diff(repo, base, "HEAD", Classifier(config), ci=True)
    head = revision.load(repo, cs.head, "", config, None)
    return protect(repo, cs, head, labels or [], TODAY, IdentityCache(None))


def test_unapproved_changes_run_their_base_versions_as_blocking(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    p = protection(repo, base)
    assert [(c.id, c.kind, c.approved) for c in p.changes] == [("gone", "removed", False),
                                                              ("keep", "downgraded", False)]
    assert p.base is not None and p.base.commit == base and p.notes == []
    assert list(p.base_versions) == ["gone", "keep"]
    keep = p.base_versions["keep"]
    assert isinstance(keep.loaded, LoadedFixture) and keep.loaded.severity == "blocking"
    assert keep.selected.reasons == [f"protection change (downgraded) without approval: the base revision's "
                                     f"version ({base[:12]}:fixtures/keep.yaml) runs against head's agent"]
    head_keep = Selected(id="keep", severity="warning", path="fixtures/keep.yaml", reasons=["prompt changed"])
    other = Selected(id="other", severity="blocking", path="fixtures/other.yaml", reasons=["r"])
    assert with_base_versions([head_keep, other], p) == [other, p.base_versions["gone"].selected, keep.selected]


def test_an_accepted_label_approves_and_head_runs_its_own(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    p = protection(repo, base, ["evalloop-approved"])
    assert all(c.approved and c.approval == "label 'evalloop-approved'" for c in p.changes)
    assert p.base_versions == {}
    selected = [Selected(id="keep", severity="warning", path="fixtures/keep.yaml", reasons=["r"])]
    assert with_base_versions(selected, p) == selected


def test_without_a_merge_base_the_base_commit_is_the_floor(grepo: tuple[git.Repo, str]) -> None:
    repo, _ = grepo
    repo.git.checkout("--orphan", "unrelated")
    floor = commit_all(repo, "unrelated history")
    repo.git.checkout("change")
    p = protection(repo, floor)
    assert p.notes[0] == f"no merge-base: protection changes are checked against the base commit {floor[:12]}"
    assert p.base is not None and p.base.commit == floor


def test_an_unknown_base_checks_nothing(grepo: tuple[git.Repo, str]) -> None:
    repo, _ = grepo
    p = protection(repo, "no-such-branch")
    assert (p.changes, p.base, p.base_versions) == ([], None, {})
    assert p.notes == ["the base revision is unknown: protection changes (fixtures removed, downgraded, narrowed "
                       "or quarantined) cannot be checked; every fixture of head runs"]

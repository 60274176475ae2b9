"""The evalloop root's place in the git tree, and a revision checked out in a temporary worktree
that is gone afterwards, whatever happens inside."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from evalloop.errors import UsageError
from evalloop.repo.git import checkout, prefix_of
from tests.support.gitrepo import commit_all, write_files


@pytest.fixture
def grepo(tmp_path: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    write_files(tmp_path / "r", {"sub/evalloop.yaml": "version: 1\n", "sub/a.txt": "v1\n"})
    first = commit_all(repo, "v1")
    write_files(tmp_path / "r", {"sub/a.txt": "v2\n"})
    commit_all(repo, "v2")
    return repo, first


def test_prefix_of_the_root_in_the_tree(grepo: tuple[git.Repo, str]) -> None:
    repo, _ = grepo
    top = Path(repo.working_tree_dir or "")
    assert prefix_of(repo, top) == "" and prefix_of(repo, top / "sub") == "sub/"


def test_checkout_gives_the_root_at_the_revision_and_removes_it(grepo: tuple[git.Repo, str]) -> None:
    repo, first = grepo
    with checkout(repo, first, "sub/") as root:
        assert (root / "a.txt").read_text() == "v1\n" and root.name == "sub"
        assert len(repo.git.worktree("list").splitlines()) == 2
    assert not root.exists() and len(repo.git.worktree("list").splitlines()) == 1
    with pytest.raises(RuntimeError), checkout(repo, first, "") as root:
        raise RuntimeError("the body failed")
    assert not root.exists() and len(repo.git.worktree("list").splitlines()) == 1


def test_a_revision_that_cannot_be_checked_out_is_a_usage_error(grepo: tuple[git.Repo, str]) -> None:
    repo, _ = grepo
    with pytest.raises(UsageError, match=r"cannot check out 000000000000 in a worktree: "), \
            checkout(repo, "0" * 40, ""):
        pass

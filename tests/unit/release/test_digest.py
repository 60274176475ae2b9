"""Artifact digests: a file's bytes, a folder's paths and bytes; the same at a revision and in the work tree."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import git
import pytest

from evalloop.errors import UsageError
from evalloop.release.digest import artifact_digest, digest_of, snapshot_at, snapshot_index, snapshot_worktree
from tests.support.gitrepo import commit_all, write_files


@pytest.fixture
def grepo(tmp_path: Path) -> git.Repo:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"prompts/refund.md": "Ask for approval.\n", "retrieval/index/a.yaml": "a: 1\n",
                           "retrieval/index/sub/b.yaml": "b: 2\n", "retrieval/indexes.yaml": "not: inside\n",
                           ".gitignore": "*.pyc\n"})
    commit_all(repo, "base")
    return repo


def test_a_files_digest_is_sha256sum_of_its_bytes(grepo: git.Repo, tmp_path: Path) -> None:
    out = subprocess.run(["sha256sum", "prompts/refund.md"], cwd=tmp_path, capture_output=True, text=True, check=True)
    expected = "sha256:" + out.stdout.split()[0]
    assert artifact_digest(tmp_path, "prompts/refund.md", "HEAD") == expected
    assert artifact_digest(tmp_path, "prompts/refund.md") == expected
    snap = snapshot_at(grepo, "HEAD", "", "prompts/refund.md")
    assert snap is not None and snap.is_file and snap.files == {"": b"Ask for approval.\n"}


def test_a_folder_is_its_files_under_it_only(grepo: git.Repo, tmp_path: Path) -> None:
    snap = snapshot_at(grepo, "HEAD", "", "retrieval/index")
    assert snap is not None and not snap.is_file
    assert snap.files == {"a.yaml": b"a: 1\n", "sub/b.yaml": b"b: 2\n"}  # not retrieval/indexes.yaml
    here = snapshot_worktree(grepo, tmp_path, "retrieval/index")
    assert here is not None and here.digest == snap.digest
    manifest = "".join(f"{p}\0{hashlib.sha256(b).hexdigest()}\n" for p, b in sorted(snap.files.items()))
    assert snap.digest == "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def test_any_change_of_a_folder_changes_its_digest() -> None:
    files = {"a.yaml": b"a", "b.yaml": b"b"}
    d = digest_of(files, is_file=False)
    assert digest_of(dict(reversed(files.items())), is_file=False) == d  # order does not matter
    assert digest_of({"a.yaml": b"a", "c.yaml": b"b"}, is_file=False) != d  # renamed
    assert digest_of({"a.yaml": b"a"}, is_file=False) != d  # removed
    assert digest_of({**files, "c.yaml": b""}, is_file=False) != d  # added, even empty
    assert digest_of({"a.yaml": b"a", "b.yaml": b"B"}, is_file=False) != d  # changed
    # the separator cannot be forged by a path: "a" + NUL is not a path
    assert digest_of({"a": b"x\n"}, is_file=False) != digest_of({"a": b"x"}, is_file=False)


def test_the_work_tree_counts_untracked_files_but_not_ignored_or_deleted(grepo: git.Repo, tmp_path: Path) -> None:
    committed = artifact_digest(tmp_path, "retrieval/index", "HEAD")
    write_files(tmp_path, {"retrieval/index/cache.pyc": "ignored"})
    assert artifact_digest(tmp_path, "retrieval/index") == committed
    write_files(tmp_path, {"retrieval/index/new.yaml": "c: 3\n"})
    assert artifact_digest(tmp_path, "retrieval/index") != committed
    os.unlink(tmp_path / "retrieval/index/new.yaml")
    os.unlink(tmp_path / "retrieval/index/a.yaml")
    snap = snapshot_worktree(grepo, tmp_path, "retrieval/index")
    assert snap is not None and list(snap.files) == ["sub/b.yaml"]


def test_what_is_not_there_has_no_digest(grepo: git.Repo, tmp_path: Path) -> None:
    assert artifact_digest(tmp_path, "prompts/missing.md", "HEAD") is None
    assert artifact_digest(tmp_path, "prompts/missing.md") is None
    assert artifact_digest(tmp_path, "retrieval/ind", "HEAD") is None  # a prefix of a name is not the folder


def test_the_index_is_what_the_next_commit_holds(grepo: git.Repo, tmp_path: Path) -> None:
    write_files(tmp_path, {"prompts/refund.md": "Skip approval.\n"})
    assert snapshot_index(grepo, "", "prompts/refund.md") == snapshot_at(grepo, "HEAD", "", "prompts/refund.md")
    grepo.git.add("prompts")
    staged = snapshot_index(grepo, "", "prompts/refund.md")
    assert staged is not None and staged.files == {"": b"Skip approval.\n"}


def test_symlinks_are_refused(grepo: git.Repo, tmp_path: Path) -> None:
    os.symlink("/etc/hostname", tmp_path / "retrieval/index/link.yaml")
    with pytest.raises(UsageError, match=r"retrieval/index/link\.yaml is not a regular file"):
        snapshot_worktree(grepo, tmp_path, "retrieval/index")
    commit_all(grepo, "a link")
    with pytest.raises(UsageError, match=r"retrieval/index/link\.yaml at [0-9a-f]{12} is a symlink"):
        snapshot_at(grepo, "HEAD", "", "retrieval/index")


def test_executable_bits_are_seen(grepo: git.Repo, tmp_path: Path) -> None:
    os.chmod(tmp_path / "retrieval/index/a.yaml", 0o755)
    commit_all(grepo, "exec")
    at = snapshot_at(grepo, "HEAD", "", "retrieval/index")
    here = snapshot_worktree(grepo, tmp_path, "retrieval/index")
    assert at is not None and here is not None and at.executable == here.executable == {"a.yaml"}


def test_an_evalloop_root_below_the_git_top(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"agent/evalloop.yaml": "version: 1\n", "agent/prompts/p.md": "p\n",
                           "prompts/p.md": "other\n"})
    commit_all(repo, "base")
    root = tmp_path / "agent"
    expected = "sha256:" + hashlib.sha256(b"p\n").hexdigest()
    assert artifact_digest(root, "prompts/p.md", "HEAD") == expected
    assert artifact_digest(root, "prompts/p.md") == expected

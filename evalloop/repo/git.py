"""Git plumbing: the repository, revisions, tree diffs, listings and blobs, read without a checkout;
and, for what has to run on files, a revision checked out in a temporary worktree."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import git

from evalloop.errors import UsageError


def open_repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError("not a git repository (the gate diffs revisions)", path=str(root)) from None


def prefix_of(repo: git.Repo, root: Path) -> str:
    """Where the evalloop root sits in the git tree: "" at the top, else "sub/"."""
    top = Path(repo.working_tree_dir or root).resolve()
    prefix = os.path.relpath(root.resolve(), top).replace(os.sep, "/")
    return "" if prefix == "." else prefix + "/"


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


def resolve(repo: git.Repo, rev: str, what: str) -> git.Commit:
    try:
        return repo.commit(rev)
    except (git.BadName, ValueError, git.GitCommandError):
        shallow = (Path(repo.git_dir) / "shallow").exists()
        hint = (" The clone is shallow: fetch full history (actions/checkout with `fetch-depth: 0`)"
                " or `git fetch --unshallow`." if shallow else
                " Fetch it first (`git fetch origin <branch>`), or check the name.")
        raise UsageError(f"{what} revision {rev!r} not found in this repository.{hint}") from None


@dataclass
class RawDiff:
    """One line of `git diff-tree --raw -z`."""

    a_mode: str
    b_mode: str
    a_sha: str | None
    b_sha: str | None
    status: str  # A, D, M, R, C, T
    a_path: str
    b_path: str


_NULL_SHA = "0" * 40


def raw_diff(repo: git.Repo, a: str, b: str) -> list[RawDiff]:
    """The tree diff a..b with rename detection. GitPython's `Commit.diff` builds the same list
    (it runs this command) but its parsing takes ~3 ms per entry; this takes microseconds."""
    out = repo.git.diff_tree(a, b, "-r", "-M", "--raw", "-z", "--abbrev=40", "--full-index", "--no-color",
                             strip_newline_in_stdout=False)
    fields = out.split("\0")
    diffs = []
    i = 0
    while i < len(fields) - 1:
        meta = fields[i]
        if not meta.startswith(":"):
            i += 1
            continue
        a_mode, b_mode, a_sha, b_sha, status = meta[1:].split(" ", 4)
        kind = status[0]
        if kind in "RC":
            a_path, b_path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            a_path = b_path = fields[i + 1]
            i += 2
        diffs.append(RawDiff(a_mode, b_mode, None if a_sha == _NULL_SHA else a_sha,
                             None if b_sha == _NULL_SHA else b_sha, kind, a_path, b_path))
    return diffs


def ls_tree(repo: git.Repo, commit: str, paths: list[str]) -> list[tuple[str, str]]:
    """(path, blob id) of every file under `paths` at `commit`."""
    out = repo.git.ls_tree("-r", "-z", "--full-tree", commit, "--", *paths, strip_newline_in_stdout=False)
    files = []
    for rec in out.split("\0"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        _mode, kind, sha = meta.split(" ")
        if kind == "blob":
            files.append((path, sha))
    return files


def read_blobs(repo: git.Repo, shas: list[str]) -> dict[str, bytes]:
    if not shas:
        return {}
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=repo.git_dir, input="\n".join(shas).encode() + b"\n",
                          capture_output=True, check=False)
    out: dict[str, bytes] = {}
    buf = proc.stdout
    pos = 0
    while pos < len(buf):
        nl = buf.index(b"\n", pos)
        header = buf[pos:nl].split()
        pos = nl + 1
        if len(header) < 3:  # "<sha> missing"
            continue
        size = int(header[2])
        out[header[0].decode()] = buf[pos:pos + size]
        pos += size + 1
    return out


def read_files(repo: git.Repo, commit: str, paths: list[str], max_bytes: int) -> dict[str, bytes]:
    """The blobs at `commit` of those of `paths` (full paths in the tree) that exist and fit."""
    listed = dict(ls_tree(repo, commit, paths)) if paths else {}
    blobs = read_blobs(repo, [listed[p] for p in paths if p in listed])
    found = {p: blobs.get(listed.get(p, "")) for p in paths}
    return {p: raw for p, raw in found.items() if raw is not None and len(raw) <= max_bytes}

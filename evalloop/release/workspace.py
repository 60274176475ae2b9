"""The repository a release command works on: its root, artifact paths, clean state, identity."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import git

from evalloop.errors import UsageError
from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.kinds import CHANGE_KINDS, ChangeKind
from evalloop.model.release import LEDGER_DIR
from evalloop.release.digest import Snapshot
from evalloop.repo import fs
from evalloop.repo.classify import Classifier
from evalloop.repo.config import find_root, load_config
from evalloop.repo.git import open_repo, prefix_of
from evalloop.text import clean


@dataclass(frozen=True)
class Workspace:
    root: Path  # the evalloop root: where evalloop.yaml is (else the git top level)
    repo: git.Repo
    prefix: str  # the root inside the git tree ("" or "sub/")
    config: Config

    def pathspec(self, rel: str) -> str:
        """A root-relative path as a git pathspec that matches it literally (no glob)."""
        return f":(top,literal){self.prefix}{rel}"


def open_workspace(cwd: Path | None = None) -> Workspace:
    root = find_root(cwd or Path.cwd())
    repo = open_repo(root)
    if repo.bare or repo.working_tree_dir is None:
        raise UsageError("a bare repository has no work tree to release from", path=str(root))
    return Workspace(root, repo, prefix_of(repo, root), load_config(root))


def resolve_artifact(ws: Workspace, given: str, cwd: Path | None = None, known: Iterable[str] = ()) -> str:
    """ARTIFACT as the ledger names it: relative to the evalloop root, POSIX. Given relative to
    the current folder or to the root (the first that exists, or that the ledger knows)."""
    here = Path(cwd or Path.cwd())
    raw = Path(given)
    candidates = [raw] if raw.is_absolute() else [here / raw, ws.root / raw]
    names = [_relative(ws.root, c) for c in candidates]
    known = set(known)
    chosen = next((n for c, n in zip(candidates, names, strict=True)
                   if n is not None and (os.path.lexists(c) or n in known)), None)
    if chosen is None:
        chosen = names[0]
    if chosen is None:
        raise UsageError(clean(f"{given} is outside the repository ({ws.root})"))
    if chosen in ("", "."):
        raise UsageError("the repository root is not an artifact: name a file or folder in it")
    parts = chosen.split("/")
    if ".git" in parts or parts[0] == LEDGER_DIR or chosen == CONFIG_FILE:
        raise UsageError(clean(f"{chosen} is evalloop's or git's own file, not a release artifact"))
    if fs.leaves_repository(ws.root / chosen, ws.root):
        raise UsageError(clean(f"{chosen} leads outside the repository through a symlink"))
    return chosen


def _relative(root: Path, path: Path) -> str | None:
    """`path` relative to `root` (not resolving symlinks: the name is what the ledger keys),
    None when it is outside."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return Path(rel).as_posix().strip("/")


def uncommitted(ws: Workspace, paths: Iterable[str]) -> list[str]:
    """`git status` lines of changes (staged, unstaged, untracked) under the root-relative paths."""
    specs = [ws.pathspec(p) for p in paths]
    out = ws.repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", *specs,
                             strip_newline_in_stdout=False)
    return [rec for rec in out.split("\0") if len(rec) > 3 and rec[2] == " "]


def head_sha(ws: Workspace) -> str:
    if not ws.repo.head.is_valid():
        raise UsageError("the repository has no commit yet")
    return ws.repo.head.commit.hexsha


def actor(ws: Workspace) -> str | None:
    """Who writes an entry: the CI job's actor (GITHUB_ACTOR), else git's user.name."""
    name = os.environ.get("GITHUB_ACTOR", "").strip() or _config(ws, "user.name")
    return name or None


def identity(ws: Workspace) -> tuple[str, str]:
    """The configured git identity (name, e-mail) a commit is made with; a usage error when there
    is none: git would otherwise make one up from the host name."""
    name = os.environ.get("GIT_COMMITTER_NAME") or _config(ws, "user.name")
    email = os.environ.get("GIT_COMMITTER_EMAIL") or _config(ws, "user.email")
    if not name or not email:
        raise UsageError("no git identity configured (git config user.name / user.email): "
                         "the rollback commit needs an author")
    return name, email


def _config(ws: Workspace, key: str) -> str:
    try:
        return str(ws.repo.git.config("--get", key)).strip()
    except git.GitCommandError:
        return ""


def kind_of(ws: Workspace, snapshot: Snapshot) -> ChangeKind | None:
    """The artifact's kind by the gate's path rule: a file's; a folder's when all its files
    share one. None when that is not an artifact kind (or the folder mixes kinds)."""
    classifier = Classifier(ws.config)
    kinds = {classifier.kind(snapshot.root_path(rel)) for rel in snapshot.files}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    return cast(ChangeKind, kind) if kind in CHANGE_KINDS else None

"""Real git repositories for gate tests."""

from __future__ import annotations

from pathlib import Path

import git

AUTHOR = git.Actor("Test", "test@example.com")


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
    return repo.head.commit.hexsha


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

"""Real git repositories for gate tests."""

from __future__ import annotations

from pathlib import Path

import git

AUTHOR = git.Actor("Test", "test@example.com")


def init_repo(root: Path, name: str, email: str) -> git.Repo:
    """A new repository on `main` whose own config names a committer (as a person's clone does),
    for the commands that commit as the user: rollback, release."""
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", name)
        cw.set_value("user", "email", email)
    return repo


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
    return repo.head.commit.hexsha


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


# An entrypoint agent whose runs alternate pass/fail (stop_reason done / gave_up): a flaky agent.
FLAKY_AGENT = '''
import os

def run(request, tools):
    # alternates pass/fail across runs: a flaky agent. Runs may be concurrent, so the
    # run number is claimed atomically by creating the next marker file.
    n = 0
    while True:
        name = os.path.join(os.path.dirname(__file__), f"count-{request['input']['user_message']}-{n}.txt")
        try:
            os.close(os.open(name, os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            n += 1
    return {"stop_reason": "done" if n % 2 == 0 else "gave_up", "final_status": "ok", "output": "hello"}
'''

"""LED001: every line of a release ledger (`releases/<env>.jsonl`) is an entry of its environment.

A pull request could otherwise slip a line the rollback cannot read (or one that reads as a
known-good version nobody vouched for, in the wrong shape) into the ledger; the gate separately
flags lines removed or rewritten (evalloop.gate.protection).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from evalloop.model.findings import Finding
from evalloop.model.release import ENV_PATTERN, LEDGER_DIR
from evalloop.repo import fs
from evalloop.validate.repository import Repo


def ledger_files(repo: Repo) -> list[Path]:
    folder = repo.root / LEDGER_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(".jsonl"))


def check_ledger(repo: Repo, path: Path) -> Iterator[Finding]:
    from evalloop.release.ledger import MAX_LEDGER_BYTES, line_problems

    display = repo.display(path)
    env = path.name[: -len(".jsonl")]
    if not re.match(ENV_PATTERN, env):
        yield Finding(path=display, line=1, col=1, code="LED001",
                      message=f"{path.name}: the file name is not an environment name (letters, digits, '.', '_', '-')")
        return
    try:
        raw = fs.read_bytes(path, display, MAX_LEDGER_BYTES, root=repo.root)
    except fs.LoadError as exc:
        yield Finding(path=display, line=exc.line or 1, col=1, code=exc.code, message=exc.message)
        return
    for line, problem in line_problems(raw, env):
        yield Finding(path=display, line=line, col=1, code="LED001", message=problem)

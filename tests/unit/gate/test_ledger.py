"""A pull request that removes or rewrites a release ledger line is a protection change; appending is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import git
import pytest

from evalloop.gate import changes
from evalloop.gate.ledger import first_rewritten, is_append
from evalloop.gate.protection import protect
from evalloop.model.results import ProtectionChange
from evalloop.repo import revision
from evalloop.repo.classify import Classifier
from evalloop.repo.config import load_config
from evalloop.repo.identities import IdentityCache
from tests.support import run_evalloop
from tests.support.gitrepo import commit_all, write_files

TODAY = dt.date(2026, 6, 1)
CONFIG = "version: 1\nprotection: {approval_labels: [evalloop-approved]}\n"
LINE = ('{{"schema_version":1,"at":"2026-06-0{n}T00:00:00Z","env":"production","event":"{event}",'
        '"artifact":"prompts/refund.md"}}\n')
LEDGER = "".join(LINE.format(n=n, event=e) for n, e in [(1, "mark_good"), (2, "rollback"), (3, "freeze")])


@pytest.fixture
def grepo(tmp_path: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {"evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n",
                           "fixtures/keep.yaml": "id: keep\nowner: t\nseverity: blocking\ninput: {user_message: hi}\n",
                           "releases/production.jsonl": LEDGER,
                           ".github/CODEOWNERS": "/releases/ @acme/release\n/protection-changes.yaml @acme/release\n"})
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    return repo, base


def found(repo: git.Repo, base: str, labels: tuple[str, ...] = ()) -> list[ProtectionChange]:
    root = Path(repo.working_tree_dir or ".")
    config = load_config(root)
    cs = changes.diff(repo, base, "HEAD", Classifier(config))
    head = revision.load(repo, cs.head, "", config, None)
    return protect(repo, cs, head, list(labels), TODAY, IdentityCache(None)).changes


def test_deleting_the_freeze_line_needs_the_ledgers_owners(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    root = Path(repo.working_tree_dir or ".")
    write_files(root, {"releases/production.jsonl": LEDGER.rsplit("\n", 2)[0] + "\n"})
    commit_all(repo, "lift the freeze quietly")
    [c] = found(repo, base)
    assert (c.id, c.kind, c.approved, c.owner, c.base_path) == (
        "releases/production.jsonl", "removed", False, "@acme/release", "releases/production.jsonl")
    assert c.detail == ("line 3 (a freeze of prompts/refund.md at 2026-06-03T00:00:00Z) is removed or rewritten: "
                        "the release ledger is append-only (only new lines may be added)")
    [labelled] = found(repo, base, ("evalloop-approved",))
    assert labelled.approved and labelled.approval == "label 'evalloop-approved'"


def test_an_approval_by_a_ledger_owner_is_accepted(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    root = Path(repo.working_tree_dir or ".")
    write_files(root, {"releases/production.jsonl": LEDGER.replace("rollback", "mark_good"),
                       "protection-changes.yaml": "approvals:\n  - fixture: releases/production.jsonl\n"
                       "    approved_by: '@acme/release'\n    reason: the rollback was recorded twice (#9)\n"})
    commit_all(repo, "rewrite with approval")
    [c] = found(repo, base)
    assert c.approved and c.detail.startswith("line 2 (a rollback of prompts/refund.md")
    assert c.approval == "protection-changes.yaml: approved by @acme/release: the rollback was recorded twice (#9)"


def test_appending_is_no_protection_change(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    root = Path(repo.working_tree_dir or ".")
    write_files(root, {"releases/production.jsonl": LEDGER + LINE.format(n=4, event="canary"),
                       "releases/staging.jsonl": LINE.format(n=4, event="freeze").replace("production", "staging")})
    commit_all(repo, "append")
    assert found(repo, base) == []


def test_an_appended_unfreeze_needs_the_ledgers_owners(grepo: tuple[git.Repo, str]) -> None:
    # lifting the freeze in the same pull request as the change the canary would then promote
    repo, base = grepo
    root = Path(repo.working_tree_dir or ".")
    write_files(root, {"releases/production.jsonl": LEDGER + LINE.format(n=4, event="unfreeze")})
    commit_all(repo, "unfreeze")
    [c] = found(repo, base)
    assert (c.id, c.approved, c.owner) == ("releases/production.jsonl", False, "@acme/release")
    assert c.detail.startswith("line 4 unfreezes prompts/refund.md: it lifts the freeze")
    [labelled] = found(repo, base, ("evalloop-approved",))
    assert labelled.approved


def test_deleting_the_ledger(grepo: tuple[git.Repo, str]) -> None:
    repo, base = grepo
    (Path(repo.working_tree_dir or ".") / "releases/production.jsonl").unlink()
    commit_all(repo, "no ledger")
    [c] = found(repo, base)
    assert c.detail == "releases/production.jsonl is deleted: the release ledger is append-only"
    assert c.head_path is None and not c.approved


def test_the_gate_blocks_on_it(grepo: tuple[git.Repo, str]) -> None:
    repo, _ = grepo
    root = Path(repo.working_tree_dir or ".")
    write_files(root, {"releases/production.jsonl": LEDGER.split("\n", 1)[1]})
    commit_all(repo, "drop the first line")
    proc = run_evalloop("gate", "--base", "main", "--select-only", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "NEEDS APPROVAL releases/production.jsonl [removed]" in proc.stdout
    assert "line 1 (a mark_good of prompts/refund.md" in proc.stdout


@pytest.mark.parametrize(("old", "new", "append", "line"), [
    (b"", b"a\n", True, None),
    (b"a\n", b"a\nb\n", True, None),
    (b"a\n", b"a\n", True, None),
    (b"a", b"ab\n", False, 1),  # a torn last line completed: rewritten
    (b"a\nb\n", b"a\n", False, 2),
    (b"a\nb\n", b"a\nB\nc\n", False, 2),
    (b"a\nb\n", b"b\n", False, 1),
])
def test_append_or_rewrite(old: bytes, new: bytes, append: bool, line: int | None) -> None:
    assert is_append(old, new) is append
    if line is not None:
        assert first_rewritten(old, new) == line

"""The rollback: its refusals (nothing written), the restore of files and folders, one commit, the undo."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.model.release import LedgerEntry
from evalloop.release import ledger
from evalloop.release import rollback as rb
from evalloop.release.digest import artifact_digest
from evalloop.release.workspace import Workspace, open_workspace, resolve_artifact
from tests.support.gitrepo import commit_all, init_repo, write_files

GOOD = {"prompts/refund.md": "Ask for approval.\n", "retrieval/index/a.yaml": "a: 1\n",
        "retrieval/index/b.yaml": "b: 2\n", "run.sh": "#!/bin/sh\n"}


def mark(root: Path, artifact: str, revision: str) -> LedgerEntry:
    digest = artifact_digest(root, artifact, revision)
    assert digest is not None
    e = LedgerEntry(at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), env="production", event="mark_good",
                    artifact=artifact, revision=revision, digest=digest, by="alice")
    ledger.append_entry(root, "production", e)
    return e


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    repo = init_repo(tmp_path, "Rollback Tester", "rb@example.com")
    write_files(tmp_path, GOOD)
    good = commit_all(repo, "good")
    mark(tmp_path, "prompts/refund.md", good)
    mark(tmp_path, "retrieval/index", good)
    commit_all(repo, "ledger")
    write_files(tmp_path, {"prompts/refund.md": "Skip approval.\n", "retrieval/index/b.yaml": "b: 3\n",
                           "retrieval/index/c.yaml": "c: new\n"})
    os.unlink(tmp_path / "retrieval/index/a.yaml")
    commit_all(repo, "bad")
    return open_workspace(tmp_path)


def test_a_folder_is_made_to_hold_exactly_its_known_good_files(ws: Workspace) -> None:
    before = ledger.ledger_path(ws.root, "production").read_bytes()
    bad = ws.repo.head.commit.hexsha
    result = rb.rollback(ws, "production", ["retrieval/index"], reason="INC-1")
    assert sorted(p.name for p in (ws.root / "retrieval/index").iterdir()) == ["a.yaml", "b.yaml"]
    assert (ws.root / "retrieval/index/b.yaml").read_text() == "b: 2\n"
    changes = result.outcomes[0].changes
    assert (changes.added, changes.changed, changes.removed) == (
        ["retrieval/index/a.yaml"], ["retrieval/index/b.yaml"], ["retrieval/index/c.yaml"])
    assert ws.repo.head.commit.parents[0].hexsha == bad  # a new commit on top: history kept
    assert set(ws.repo.head.commit.stats.files) == {"retrieval/index/a.yaml", "retrieval/index/b.yaml",
                                                     "retrieval/index/c.yaml", "releases/production.jsonl"}
    after = ledger.ledger_path(ws.root, "production").read_bytes()
    assert after.startswith(before)
    added = ledger.read_ledger(ws.root, "production")[2:]
    assert [e.event for e in added] == ["rollback", "freeze"]
    assert added[0].evidence["from"]["revision"] == bad
    assert added[0].evidence["known_good"]["entry"] == "releases/production.jsonl:2"
    assert added[0].kind == "retrieval_index" and added[0].reason == "INC-1" and added[0].by == "Rollback Tester"
    assert ledger.frozen(ledger.read_ledger(ws.root, "production"), "retrieval/index") == added[1]
    assert ws.repo.git.status("--porcelain") == ""


def test_nothing_is_written_without_a_known_good_version(ws: Workspace) -> None:
    before = ws.repo.head.commit.hexsha
    with pytest.raises(rb.RefusedError, match=re.escape("no known-good version of run.sh in releases/production.jsonl: "
                                                        "record one with `evalloop release mark-good run.sh")) as exc:
        rb.rollback(ws, "production", ["run.sh"])
    assert exc.value.exit_code == 1
    assert ws.repo.head.commit.hexsha == before and ws.repo.git.status("--porcelain") == ""


def test_a_digest_that_does_not_match_its_revision_is_refused(ws: Workspace) -> None:
    path = ledger.ledger_path(ws.root, "production")
    entries = ledger.read_ledger(ws.root, "production")
    forged = entries[0].model_copy(update={"digest": "sha256:" + "0" * 64})
    path.write_bytes(b"".join(ledger.render_line(e) for e in [forged, entries[1]]))
    commit_all(ws.repo, "a forged ledger")
    with pytest.raises(rb.RefusedError, match=r"has digest sha256:[0-9a-f]{64}, not the sha256:0{64} "
                       r"releases/production.jsonl:1 recorded: nothing restored"):
        rb.rollback(ws, "production", ["prompts/refund.md"])
    assert (ws.root / "prompts/refund.md").read_text() == "Skip approval.\n"


@pytest.mark.parametrize("dirty", ["prompts/refund.md", "retrieval/index/new.yaml", "releases/production.jsonl"])
def test_uncommitted_changes_are_refused(ws: Workspace, dirty: str) -> None:
    if dirty.startswith("releases/"):  # an entry not yet committed
        ledger.append_entry(ws.root, "production", LedgerEntry(at=dt.datetime.now(dt.UTC), env="production",
                                                               event="freeze", artifact="run.sh"))
    else:
        write_files(ws.root, {dirty: "x\n"})
    status = ws.repo.git.status("--porcelain")
    with pytest.raises(UsageError, match=f"uncommitted changes in what the rollback writes \\({dirty}\\)"):
        rb.rollback(ws, "production", ["prompts/refund.md", "retrieval/index"])
    assert ws.repo.git.status("--porcelain") == status


def test_overlapping_artifacts_are_refused(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="retrieval and retrieval/index overlap"):
        rb.rollback(ws, "production", ["retrieval", "retrieval/index"])


def test_a_failure_after_writing_puts_everything_back(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    before = ledger.ledger_path(ws.root, "production").read_bytes()
    head = ws.repo.head.commit.hexsha

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ledger, "append_entries", boom)
    with pytest.raises(OSError, match="disk full"):
        rb.rollback(ws, "production", ["retrieval/index", "prompts/refund.md"])
    assert ws.repo.head.commit.hexsha == head
    assert ws.repo.git.status("--porcelain") == ""
    assert (ws.root / "retrieval/index/c.yaml").exists() and not (ws.root / "retrieval/index/a.yaml").exists()
    assert ledger.ledger_path(ws.root, "production").read_bytes() == before


def test_a_file_that_became_a_folder_and_the_executable_bit(tmp_path: Path) -> None:
    repo = init_repo(tmp_path, "T", "t@example.com")
    write_files(tmp_path, {"tools/manifest": "one file\n", "tools/run.sh": "#!/bin/sh\n"})
    os.chmod(tmp_path / "tools/run.sh", 0o755)
    good = commit_all(repo, "good")
    mark(tmp_path, "tools", good)
    commit_all(repo, "ledger")
    os.unlink(tmp_path / "tools/manifest")
    write_files(tmp_path, {"tools/manifest/a.yaml": "split\n"})
    os.chmod(tmp_path / "tools/run.sh", 0o644)
    commit_all(repo, "bad")
    ws = open_workspace(tmp_path)
    rb.rollback(ws, "production", ["tools"])
    assert (tmp_path / "tools/manifest").read_text() == "one file\n"
    assert os.stat(tmp_path / "tools/run.sh").st_mode & 0o100
    assert artifact_digest(tmp_path, "tools", "HEAD") == artifact_digest(tmp_path, "tools", good)


def test_artifacts_of_a_kind_by_the_gate_rule(ws: Workspace) -> None:
    entries = ledger.read_ledger(ws.root, "production")
    assert rb.artifacts_of_kind(ws, entries, "prompt") == ["prompts/refund.md"]
    assert rb.artifacts_of_kind(ws, entries, "retrieval_index") == ["retrieval/index"]
    assert rb.artifacts_of_kind(ws, entries, "policy") == []


def test_artifact_paths(ws: Workspace, tmp_path: Path) -> None:
    assert resolve_artifact(ws, "prompts/refund.md", tmp_path) == "prompts/refund.md"
    assert resolve_artifact(ws, "refund.md", tmp_path / "prompts") == "prompts/refund.md"
    assert resolve_artifact(ws, "retrieval/index/", tmp_path / "prompts") == "retrieval/index"  # root-relative
    assert resolve_artifact(ws, str(tmp_path / "run.sh"), tmp_path) == "run.sh"
    for bad, message in [("../x", "is outside the repository"), (".", "the repository root is not an artifact"),
                         ("releases/production.jsonl", "evalloop's or git's own file"),
                         (".git/config", "evalloop's or git's own file")]:
        with pytest.raises(UsageError, match=message):
            resolve_artifact(ws, bad, tmp_path)


def test_other_staged_changes_stay_out_of_the_commit_and_staged(ws: Workspace) -> None:
    write_files(ws.root, {"notes.md": "half done\n"})
    ws.repo.git.add("notes.md")
    rb.rollback(ws, "production", ["prompts/refund.md"])
    assert "notes.md" not in ws.repo.head.commit.stats.files
    assert ws.repo.git.status("--porcelain") == "A  notes.md"

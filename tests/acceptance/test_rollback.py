"""`evalloop rollback ARTIFACT | --kind KIND` as users run it: one roll-forward commit, history kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import git
import pytest

from evalloop.release import ledger
from evalloop.release.digest import artifact_digest
from tests.support import run_evalloop, write
from tests.support.gitrepo import commit_all, init_repo

GOOD_PROMPT = "Refunds over the threshold need approval before any money moves.\n"
BAD_PROMPT = "Refund straight away; approval is optional.\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Known-good prompts and retrieval index, marked and committed, then a bad release of both."""
    root = tmp_path / "agent-repo"
    repo = init_repo(root, "Alice Operator", "alice@example.com")
    assert run_evalloop("init", cwd=root).returncode == 0
    write(root / "prompts/refund.md", GOOD_PROMPT)
    write(root / "prompts/greeting.md", "Hello.\n")
    write(root / "retrieval/index/sources.yaml", "sources: [refund_policy]\n")
    write(root / "retrieval/index/chunking.yaml", "size: 512\n")
    commit_all(repo, "the agent")
    for artifact in ("prompts/refund.md", "prompts/greeting.md", "retrieval/index"):
        proc = run_evalloop("release", "mark-good", artifact, cwd=root)
        assert proc.returncode == 0, proc.stderr
    commit_all(repo, "release: known-good")
    write(root / "prompts/refund.md", BAD_PROMPT)
    write(root / "prompts/greeting.md", "Hi!\n")
    write(root / "retrieval/index/sources.yaml", "sources: [refund_policy, forum_posts]\n")  # changed
    write(root / "retrieval/index/rerank.yaml", "model: fast\n")  # added
    os.unlink(root / "retrieval/index/chunking.yaml")  # removed
    commit_all(repo, "the bad release")
    return root


def log(root: Path) -> list[str]:
    return git.Repo(root).git.log("--format=%s").splitlines()


def test_a_file_is_restored_as_a_new_commit_and_frozen(project: Path) -> None:
    repo = git.Repo(project)
    bad = repo.head.commit.hexsha
    good = repo.commit("HEAD~2").hexsha  # before the ledger commit: the versions marked known-good
    before = ledger.ledger_path(project, "production").read_bytes()
    proc = run_evalloop("rollback", "prompts/refund.md", "--reason", "INC-2026-04-18-001", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert f"restored prompts/refund.md to {good[:12]} (last known-good: mark_good at" in proc.stdout
    assert "0 added, 1 changed, 0 removed" in proc.stdout
    assert (project / "prompts/refund.md").read_text() == GOOD_PROMPT
    assert (project / "prompts/greeting.md").read_text() == "Hi!\n"  # only the artifact named
    assert log(project)[:2] == [f"rollback: restore prompts/refund.md to {good[:12]} (last known-good, production)",
                                "the bad release"]
    head = repo.head.commit
    assert head.parents[0].hexsha == bad and head.author.name == "Alice Operator"
    assert bad in repo.git.rev_list("HEAD").split()  # history kept
    assert set(head.stats.files) == {"prompts/refund.md", "releases/production.jsonl"}
    assert "Reason: INC-2026-04-18-001" in head.message
    after = ledger.ledger_path(project, "production").read_bytes()
    assert after.startswith(before)  # appended: every earlier byte as it was
    rollback, freeze = (json.loads(x) for x in after[len(before):].decode().splitlines())
    assert (rollback["event"], freeze["event"]) == ("rollback", "freeze")
    assert rollback["evidence"]["from"] == {"revision": bad, "digest": artifact_digest(project, "prompts/refund.md",
                                                                                       bad)}
    assert rollback["evidence"]["to"]["revision"] == good and rollback["revision"] == good
    assert rollback["evidence"]["known_good"]["entry"] == "releases/production.jsonl:1"
    assert freeze["reason"] == "INC-2026-04-18-001" and freeze["by"] == "Alice Operator"
    assert repo.git.status("--porcelain") == ""
    status = json.loads(run_evalloop("release", "status", "--format", "json", cwd=project).stdout)
    row = next(r for r in status["artifacts"] if r["artifact"] == "prompts/refund.md")
    assert row["frozen"] is not None and row["head_is_known_good"] is True
    check = run_evalloop("validate", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    # the rollback commit only appends to the ledger: no protection change for the gate
    gate = run_evalloop("gate", "--base", bad, "--select-only", cwd=project)
    assert "PROTECTION CHANGES" not in gate.stdout, gate.stdout


def test_a_folder_gets_back_exactly_its_files(project: Path) -> None:
    proc = run_evalloop("rollback", "retrieval/index", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "1 added, 1 changed, 1 removed" in proc.stdout
    folder = project / "retrieval/index"
    assert sorted(p.name for p in folder.iterdir()) == ["chunking.yaml", "sources.yaml"]
    assert (folder / "sources.yaml").read_text() == "sources: [refund_policy]\n"
    repo = git.Repo(project)
    good = repo.commit("HEAD~3").hexsha
    assert artifact_digest(project, "retrieval/index", "HEAD") == artifact_digest(project, "retrieval/index", good)
    assert set(repo.head.commit.stats.files) == {"retrieval/index/chunking.yaml", "retrieval/index/sources.yaml",
                                                 "retrieval/index/rerank.yaml", "releases/production.jsonl"}


def test_rolling_back_what_already_is_known_good_still_freezes(project: Path) -> None:
    assert run_evalloop("rollback", "prompts/refund.md", cwd=project).returncode == 0
    assert run_evalloop("release", "unfreeze", "prompts/refund.md", "--reason", "fixed", cwd=project).returncode == 0
    commit_all(git.Repo(project), "release: unfreeze")
    proc = run_evalloop("rollback", "prompts/refund.md", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "prompts/refund.md already is the last known-good version" in proc.stdout
    assert log(project)[0].startswith("rollback: freeze prompts/refund.md at ")
    last = json.loads(ledger.ledger_path(project, "production").read_text().splitlines()[-1])
    assert last["event"] == "freeze" and "already at the last known-good" in last["evidence"]["cause"]


def test_every_artifact_of_a_kind_in_one_commit(project: Path) -> None:
    proc = run_evalloop("rollback", "--kind", "prompt", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert (project / "prompts/refund.md").read_text() == GOOD_PROMPT
    assert (project / "prompts/greeting.md").read_text() == "Hello.\n"
    assert (project / "retrieval/index/rerank.yaml").exists()  # another kind: untouched
    assert log(project)[0] == "rollback: restore 2 prompt artifacts to their last known-good versions (production)"
    events = [json.loads(x)["event"] for x in ledger.ledger_path(project, "production").read_text().splitlines()]
    assert events[3:] == ["rollback", "freeze", "rollback", "freeze"]
    none = run_evalloop("rollback", "--kind", "policy", cwd=project)
    assert none.returncode == 1 and "no policy artifact has a known-good version" in none.stderr


def test_a_dirty_tree_is_refused(project: Path) -> None:
    write(project / "prompts/refund.md", "work in progress\n")
    head = git.Repo(project).head.commit.hexsha
    proc = run_evalloop("rollback", "prompts/refund.md", cwd=project)
    assert proc.returncode == 2
    assert "uncommitted changes in what the rollback writes (prompts/refund.md)" in proc.stderr
    assert git.Repo(project).head.commit.hexsha == head
    assert (project / "prompts/refund.md").read_text() == "work in progress\n"


def test_no_known_good_version_says_what_to_run(project: Path) -> None:
    write(project / "policies/refund.yaml", "threshold: 500\n")
    commit_all(git.Repo(project), "a policy")
    proc = run_evalloop("rollback", "policies/refund.yaml", "--env", "staging", cwd=project)
    assert proc.returncode == 1
    assert ("no known-good version of policies/refund.yaml in releases/staging.jsonl: record one with "
            "`evalloop release mark-good policies/refund.yaml --env staging --revision REV`") in proc.stderr
    assert not ledger.ledger_path(project, "staging").exists()


def test_a_damaged_ledger_is_refused(project: Path) -> None:
    path = ledger.ledger_path(project, "production")
    path.write_bytes(path.read_bytes()[:-10])  # a torn last line
    commit_all(git.Repo(project), "damage")
    damaged = path.read_bytes()
    proc = run_evalloop("rollback", "prompts/refund.md", cwd=project)
    assert proc.returncode == 2
    assert "releases/production.jsonl:3: the last line is not newline-terminated" in proc.stderr
    assert path.read_bytes() == damaged and (project / "prompts/refund.md").read_text() == BAD_PROMPT


@pytest.mark.parametrize(("args", "message"), [
    (("../outside.md",), "is outside the repository"),
    ((), "give ARTIFACT or --kind KIND"),
    (("prompts/refund.md", "--kind", "prompt"), "give ARTIFACT or --kind KIND"),
    (("--kind", "nonsense"), "Invalid value for '--kind'"),
])
def test_usage_errors(project: Path, args: tuple[str, ...], message: str) -> None:
    proc = run_evalloop("rollback", *args, cwd=project)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_from_a_subfolder(project: Path) -> None:
    proc = run_evalloop("rollback", "refund.md", cwd=project / "prompts")
    assert proc.returncode == 0, proc.stderr
    assert (project / "prompts/refund.md").read_text() == GOOD_PROMPT

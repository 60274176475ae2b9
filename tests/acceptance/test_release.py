"""`evalloop release mark-good | unfreeze | status` as users run them, in real git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import git
import pytest

from evalloop.release import ledger
from tests.support import run_evalloop, write
from tests.support.gitrepo import commit_all, init_repo


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "agent-repo"
    repo = init_repo(root, "Alice Operator", "alice@example.com")
    assert run_evalloop("init", cwd=root).returncode == 0
    write(root / "prompts/refund.md", "Refunds over the threshold need approval.\n")
    write(root / "retrieval/index/sources.yaml", "sources: [policies]\n")
    commit_all(repo, "the agent")
    return root


def lines(root: Path, env: str = "production") -> list[dict[str, object]]:
    return [json.loads(x) for x in ledger.ledger_path(root, env).read_text().splitlines()]


def test_mark_good_records_the_digest_at_head(project: Path) -> None:
    proc = run_evalloop("release", "mark-good", "prompts/refund.md", "--reason", "a week without incident",
                        cwd=project, env={"GITHUB_ACTOR": ""})
    assert proc.returncode == 0, proc.stderr
    head = git.Repo(project).head.commit.hexsha
    sha = subprocess.run(["sha256sum", "prompts/refund.md"], cwd=project, text=True, capture_output=True,
                         check=True).stdout.split()[0]
    assert f"marked prompts/refund.md at {head[:12]} known-good in releases/production.jsonl" in proc.stdout
    [entry] = lines(project)
    assert entry["event"] == "mark_good" and entry["revision"] == head and entry["digest"] == f"sha256:{sha}"
    assert entry["kind"] == "prompt" and entry["by"] == "Alice Operator"
    assert entry["reason"] == "a week without incident" and str(entry["at"]).endswith("Z")
    check = run_evalloop("validate", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr


def test_by_is_the_ci_actor_when_there_is_one(project: Path) -> None:
    assert run_evalloop("release", "mark-good", "retrieval/index", cwd=project,
                        env={"GITHUB_ACTOR": "release-bot"}).returncode == 0
    assert lines(project)[0]["by"] == "release-bot" and lines(project)[0]["kind"] == "retrieval_index"


def test_a_work_tree_that_differs_needs_an_explicit_revision(project: Path) -> None:
    repo = git.Repo(project)
    good = repo.head.commit.hexsha
    write(project / "prompts/refund.md", "Refunds need no approval.\n")
    proc = run_evalloop("release", "mark-good", "prompts/refund.md", cwd=project)
    assert proc.returncode == 2
    assert "prompts/refund.md in the work tree differs from HEAD" in proc.stderr and "--revision" in proc.stderr
    assert not ledger.ledger_path(project, "production").exists()
    proc = run_evalloop("release", "mark-good", "prompts/refund.md", "--revision", "HEAD", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert lines(project)[0]["revision"] == good


def test_a_path_relative_to_the_current_folder(project: Path) -> None:
    proc = run_evalloop("release", "mark-good", "refund.md", "--env", "staging", cwd=project / "prompts")
    assert proc.returncode == 0, proc.stderr
    assert lines(project, "staging")[0]["artifact"] == "prompts/refund.md"
    assert not ledger.ledger_path(project, "production").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("../elsewhere.md",), "is outside the repository"),
    (("prompts/missing.md",), "prompts/missing.md does not exist at"),
    (("prompts/refund.md", "--revision", "nope"), "--revision revision 'nope' not found"),
    (("prompts/refund.md", "--env", "../x"), "environment '../x' is not a name"),
    (("releases",), "evalloop's or git's own file"),
])
def test_mark_good_usage_errors(project: Path, args: tuple[str, ...], message: str) -> None:
    proc = run_evalloop("release", "mark-good", *args, cwd=project)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_a_revision_off_the_branch_is_refused(project: Path) -> None:
    repo = git.Repo(project)
    repo.git.checkout("-b", "experiment")
    write(project / "prompts/refund.md", "experimental\n")
    side = commit_all(repo, "experiment")
    repo.git.checkout("main")
    proc = run_evalloop("release", "mark-good", "prompts/refund.md", "--revision", side, cwd=project)
    assert proc.returncode == 2 and "is not in the history of the current branch" in proc.stderr


def test_a_damaged_ledger_is_an_error_and_stays_as_it_is(project: Path) -> None:
    assert run_evalloop("release", "mark-good", "prompts/refund.md", cwd=project).returncode == 0
    path = ledger.ledger_path(project, "production")
    with path.open("a") as fh:
        fh.write('{"event": "mark_good"}\n')
    damaged = path.read_bytes()
    proc = run_evalloop("release", "mark-good", "retrieval/index", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.startswith("evalloop: error: releases/production.jsonl:2: at: Field required")
    assert path.read_bytes() == damaged
    check = run_evalloop("validate", cwd=project)
    assert check.returncode == 1
    assert "releases/production.jsonl:2:1: LED001 at: Field required (and 2 more)" in check.stdout
    named = run_evalloop("validate", "releases/production.jsonl", cwd=project)
    assert named.returncode == 1 and "LED001" in named.stdout


def test_status_and_unfreeze(project: Path) -> None:
    repo = git.Repo(project)
    assert run_evalloop("release", "mark-good", "prompts/refund.md", cwd=project).returncode == 0
    commit_all(repo, "known-good")
    write(project / "prompts/refund.md", "Refunds need no approval.\n")
    commit_all(repo, "bad")
    assert run_evalloop("rollback", "prompts/refund.md", "--reason", "INC-7", cwd=project).returncode == 0
    proc = run_evalloop("release", "status", "--format", "json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["artifacts"]
    assert row["artifact"] == "prompts/refund.md" and row["head_is_known_good"] is True
    assert row["frozen"]["event"] == "freeze" and row["frozen"]["reason"] == "INC-7"
    assert row["known_good"]["event"] == "mark_good" and row["last_canary"] is None
    text = run_evalloop("release", "status", cwd=project).stdout
    assert "prompts/refund.md\n  known-good: " in text and "HEAD holds it" in text and "(INC-7)" in text

    missing = run_evalloop("release", "unfreeze", "prompts/refund.md", cwd=project)
    assert missing.returncode == 2 and "--reason" in missing.stderr
    before = ledger.ledger_path(project, "production").read_bytes()
    proc = run_evalloop("release", "unfreeze", "prompts/refund.md", "--reason", "approval check back (#812)",
                        cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "lifted the freeze of prompts/refund.md" in proc.stdout
    after = ledger.ledger_path(project, "production").read_bytes()
    assert after.startswith(before) and lines(project)[-1]["event"] == "unfreeze"
    [row] = json.loads(run_evalloop("release", "status", "--format", "json", cwd=project).stdout)["artifacts"]
    assert row["frozen"] is None
    again = run_evalloop("release", "unfreeze", "prompts/refund.md", "--reason", "again", cwd=project)
    assert again.returncode == 1 and "prompts/refund.md is not frozen in releases/production.jsonl" in again.stderr


def test_status_of_an_empty_ledger(project: Path) -> None:
    proc = run_evalloop("release", "status", cwd=project)
    assert proc.returncode == 0 and proc.stdout == "releases/production.jsonl: no entries\n"


def test_help_explains_and_shows_examples() -> None:
    for args in (("release",), ("release", "mark-good"), ("release", "unfreeze"), ("release", "status"),
                 ("rollback",)):
        proc = run_evalloop(*args, "--help", cwd=Path.cwd())
        assert proc.returncode == 0 and "Examples:" in proc.stdout, args
    text = " ".join(run_evalloop("release", "mark-good", "--help", cwd=Path.cwd()).stdout.split())
    assert "the work tree must hold exactly it" in text

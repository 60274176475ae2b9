"""The hook as users run it: the real pre-commit, installing this project from its git repo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import git

from tests.support import write

GOOD = "id: good\nowner: my-team\nseverity: blocking\ninput: {user_message: hi}\n"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def test_try_repo_validates_good_and_bad_fixtures(hook_source: Path, tmp_path: Path) -> None:
    work = tmp_path / "user-repo"
    work.mkdir()
    r = git.Repo.init(work)
    write(work / "owners.yaml", "owners:\n  my-team: {contact: '#t'}\n")
    write(work / "fixtures/good.yaml", GOOD)
    write(work / "fixtures/bad.yaml", GOOD.replace("good", "bad").replace("blocking", "blockin"))
    write(work / "fixtures/dup.json", '{"id": "good", "owner": "my-team"}')
    write(work / "README.md", "not a fixture\n")
    # a committed symlink out of the repository: pre-commit does not pass symlinks, but the changed
    # owners.yaml re-checks every fixture the globs find, and this one must be refused, not quoted
    (work / "fixtures/leak.yaml").symlink_to("/etc/passwd")
    r.git.add(A=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    cmd = [*PRE_COMMIT, "try-repo", str(hook_source), "evalloop-validate", "--all-files"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "fixtures/bad.yaml:3:11: SCH001 severity: 'blockin' is not one of" in out
    assert "fixtures/dup.json:1:8: ID001 id 'good' is also used by fixtures/good.yaml" in out
    assert "README.md" not in out.split("evalloop validate", 1)[-1]
    assert "fixtures/leak.yaml:1:1: FILE001 leads outside the repository through a symlink; not read" in out
    assert "root:" not in out and "Traceback" not in out

    # fixed: the hook passes
    write(work / "fixtures/bad.yaml", GOOD.replace("good", "bad"))
    (work / "fixtures/dup.json").unlink()
    (work / "fixtures/leak.yaml").unlink()
    r.git.add(A=True)
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


def _hook_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}


def test_the_hook_checks_fixtures_wherever_the_config_puts_them(hook_source: Path, tmp_path: Path) -> None:
    """No hard-coded folders: evals/ (the config's glob), a config in a subfolder, and a fixture
    the config does not cover is called out instead of silently skipped."""
    work = tmp_path / "user-repo"
    work.mkdir()
    r = git.Repo.init(work)
    write(work / "evalloop.yaml", "version: 1\nfixtures: ['evals/**/*.yaml']\n")
    write(work / "owners.yaml", "owners:\n  my-team: {contact: '#t'}\n")
    write(work / "evals/refund/unknown-owner.yaml", GOOD.replace("good", "unknown").replace("my-team", "nobody"))
    write(work / "fixtures/stray.yaml", GOOD.replace("good", "stray"))  # where this config does not look
    write(work / ".github/workflows/ci.yml", "on: push\njobs: {}\n")  # not evalloop's
    # a second evalloop root in a subfolder, with its own globs and owners
    write(work / "services/agent/evalloop.yaml", "version: 1\nfixtures: ['cases/*.json']\n")
    write(work / "services/agent/owners.yaml", "owners:\n  agent-team: {}\n")
    write(work / "services/agent/cases/expired.json",
          '{"id": "expired", "owner": "agent-team", "expires_at": "2020-01-01", "input": {"user_message": "hi"}}')
    r.git.add(A=True)
    cmd = [*PRE_COMMIT, "try-repo", str(hook_source), "evalloop-validate", "--all-files"]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=_hook_env(tmp_path), timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Skipped" not in out, out
    assert "evals/refund/unknown-owner.yaml:2:8: OWN001 owner 'nobody' is not listed in owners.yaml" in out, out
    assert "services/agent/cases/expired.json:1:" in out and "EXP001 fixture expired on 2020-01-01" in out
    assert ("fixtures/stray.yaml:1:1: FIX001 warning: looks like a fixture, but the `fixtures:` globs of "
            "evalloop.yaml (evals/**/*.yaml) do not include it") in out
    assert "ci.yml" not in out.split("evalloop validate", 1)[-1]


def test_the_hook_reports_everything_a_changed_fixture_has_in_one_run(hook_source: Path, tmp_path: Path) -> None:
    """A commit of one changed fixture (pre-commit passes only it): its schema error, its unknown
    owner, its expiry and the id another fixture already has, all at once; the other fixtures'
    ids come from the index from the second run on, with the same answer."""
    work = tmp_path / "user-repo"
    work.mkdir()
    r = git.Repo.init(work)
    write(work / "owners.yaml", "owners:\n  my-team: {contact: '#t'}\n")
    for i in range(30):
        write(work / f"fixtures/area-{i % 3}/f{i}.yaml", GOOD.replace("good", f"f{i}"))
    r.git.add(A=True)
    changed = "fixtures/area-0/f0.yaml"
    write(work / changed, GOOD.replace("good", "f7").replace("my-team", "my-teem").replace("blocking", "blockin")
          + "expires_at: 2020-01-01\n")
    r.git.add(changed)
    cmd = [*PRE_COMMIT, "try-repo", str(hook_source), "evalloop-validate", "--files", changed]
    outputs = []
    for _ in range(2):
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=_hook_env(tmp_path), timeout=900)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        outputs.append([ln for ln in proc.stdout.splitlines() if ln.startswith(changed)])
    assert outputs[0] == outputs[1]
    assert [ln.split(" ", 2)[1] for ln in outputs[0]] == ["ID001", "OWN001", "SCH001", "EXP001"], outputs[0]
    assert f"{changed}:1:5: ID001 id 'f7' is also used by fixtures/area-1/f7.yaml" in outputs[0]

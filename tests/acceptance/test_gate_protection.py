"""A pull request that reintroduces the refund approval bypass and also weakens what would catch it.

Each attack on a real git repository holding the bundled example: the
bypass workflow copied in, plus one way of getting it through (lower the severity,
delete or move the fixtures, narrow the globs, the gates or the scope, drop the
safety mark and quarantine, edit the identity cache). Every one must block.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest

from tests.support import DATA as TEST_DATA
from tests.support import PROJECT, run_evalloop
from tests.support.gitrepo import FLAKY_AGENT, commit_all, write_files

_spec = importlib.util.spec_from_file_location("gate_demo", PROJECT / "examples" / "gate_demo.py")
assert _spec is not None and _spec.loader is not None
gate_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gate_demo)

DATA = TEST_DATA
CAUGHT_BY = ["fixtures/refund/incident-2026-04-18-refund-approval-bypass.json",
             "fixtures/refund/refund-approval-bypass-regression.json",
             "fixtures/refund/refund-approval-bypass-trajectory.yaml",
             "fixtures/refund/refund-read-order-timeout-retry.yaml"]


@pytest.fixture(scope="module")
def main_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example committed on main, with CODEOWNERS guarding the approvals file."""
    path = tmp_path_factory.mktemp("protect") / "main"
    path.mkdir()
    gate_demo.copy_example(path)
    write_files(path, {".github/CODEOWNERS": "* @acme/agents\n/protection-changes.yaml @acme/support-platform\n"})
    repo = git.Repo.init(path, initial_branch="main")
    commit_all(repo, "the fixed refund agent and its fixtures")
    return path


@pytest.fixture
def pr(main_repo: Path, tmp_path: Path) -> git.Repo:
    """A clone of main on a branch that has reintroduced the approval bypass (not committed yet)."""
    repo = git.Repo.clone_from(main_repo, tmp_path / "pr")
    repo.git.checkout("-b", "pr")
    root = Path(repo.working_tree_dir or "")
    shutil.copy2(gate_demo.BYPASS, root / gate_demo.WORKFLOW)
    return repo


def root_of(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or "")


def gate(repo: git.Repo, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    out = root_of(repo).parent / "report.json"
    proc = run_evalloop("gate", "--base", "origin/main", "--json", str(out), *args, cwd=root_of(repo), env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(out.read_text())


def changes_of(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["id"], c["kind"]) for c in report["protection_changes"]}


def edit(path: Path, fn: Callable[[dict[str, Any]], None]) -> None:
    """Edit a JSON fixture's data, or a YAML fixture's top-level keys line by line (keeps the rest)."""
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        fn(data)
        path.write_text(json.dumps(data, indent=2))
        return
    changes: dict[str, Any] = {}
    fn(changes)
    lines = path.read_text().splitlines()
    for key, value in changes.items():
        text = f"{key}: {json.dumps(value)}" if value is not None else None
        idx = next((i for i, line in enumerate(lines) if line.startswith(f"{key}:")), None)
        if idx is None:
            if text:
                lines.insert(next(i for i, line in enumerate(lines) if line.startswith("id:")) + 1, text)
        elif text:
            lines[idx] = text
        else:
            del lines[idx]
    path.write_text("\n".join(lines) + "\n")


def test_the_bypass_alone_blocks(pr: git.Repo) -> None:
    commit_all(pr, "bypass")
    code, report = gate(pr)
    assert code == 1 and report["verdict"] == "block"
    failing = {r["path"] for r in report["results"] if r["status"] != "pass"}
    assert failing == set(CAUGHT_BY)
    assert report["protection_changes"] == []


def test_severity_lowered_to_exploratory_blocks(pr: git.Repo) -> None:
    for rel in CAUGHT_BY:
        edit(root_of(pr) / rel, lambda d: d.update(severity="exploratory"))
    commit_all(pr, "bypass + downgrade")
    code, report = gate(pr)
    assert code == 1
    assert {k for _, k in changes_of(report)} == {"downgraded"} and len(changes_of(report)) == 4
    assert all(c["owner"] == "support-platform" and not c["approved"] for c in report["protection_changes"])
    # the base versions still run against head's agent, as blocking fixtures, and fail
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["refund-approval-bypass-trajectory"]["severity"] == "blocking"
    assert by_id["refund-approval-bypass-trajectory"]["status"] == "fail"


def test_fixtures_deleted_blocks(pr: git.Repo) -> None:
    pr.index.remove(CAUGHT_BY, working_tree=True)
    commit_all(pr, "bypass + git rm")
    code, report = gate(pr)
    assert code == 1
    assert {k for _, k in changes_of(report)} == {"removed"} and len(changes_of(report)) == 4
    assert {r["id"]: r["status"] for r in report["results"]}["refund-approval-bypass-regression"] == "fail"


def test_fixture_moved_out_of_the_globs_blocks(pr: git.Repo) -> None:
    (root_of(pr) / "attic").mkdir()
    for rel in CAUGHT_BY:
        pr.git.mv(rel, "attic/")
    commit_all(pr, "bypass + git mv to attic")
    code, report = gate(pr)
    assert code == 1
    details = {c["id"]: c["detail"] for c in report["protection_changes"]}
    assert "moved to attic/refund-approval-bypass-trajectory.yaml" in details["refund-approval-bypass-trajectory"]


def test_fixture_globs_narrowed_blocks(pr: git.Repo) -> None:
    cfg = root_of(pr) / "evalloop.yaml"
    globs = 'fixtures: ["fixtures/**/*.yaml", "fixtures/**/*.yml", "fixtures/**/*.json"]'
    cfg.write_text(cfg.read_text().replace(globs, 'fixtures: ["fixtures/shipping/**/*.yaml"]'))
    commit_all(pr, "bypass + narrower fixture globs")
    code, report = gate(pr)
    assert code == 1
    assert {k for _, k in changes_of(report)} == {"excluded"}
    assert {i for i, _ in changes_of(report)} >= {"refund-approval-bypass-trajectory",
                                                   "refund-approval-bypass-regression"}
    assert "every fixture" in " ".join(s for x in report["selected"] for s in x["reasons"])


@pytest.mark.parametrize("narrowing", [{"gates": ["memory_rule"]}, {"scope": {"routes": ["shipping_status"]}}])
def test_gates_or_scope_narrowed_blocks(pr: git.Repo, narrowing: dict[str, Any]) -> None:
    for rel in CAUGHT_BY:
        edit(root_of(pr) / rel, lambda d: d.update(narrowing))
    commit_all(pr, "bypass + narrowed gates/scope")
    code, report = gate(pr)
    assert code == 1
    assert {k for _, k in changes_of(report)} == {"narrowed"}
    # the base version is what runs: it is selected although head's gates/scope exclude it
    assert {r["id"] for r in report["results"] if r["status"] == "fail"} >= {"refund-approval-bypass-trajectory"}


def test_narrowing_alone_blocks_so_an_earlier_pr_cannot_prepare_the_bypass(pr: git.Repo) -> None:
    pr.git.checkout("--", gate_demo.WORKFLOW)
    edit(root_of(pr) / CAUGHT_BY[2], lambda d: d.update(gates=["memory_rule"]))
    commit_all(pr, "narrow the gates only")
    code, report = gate(pr)
    assert code == 1 and changes_of(report) == {("refund-approval-bypass-trajectory", "narrowed")}
    # every selected fixture passes: it is the protection change alone that blocks
    assert all(r["status"] == "pass" for r in report["results"])


def approve(repo: git.Repo, entries: str) -> None:
    write_files(root_of(repo), {"protection-changes.yaml": "approvals:\n" + entries})


def test_an_owner_approval_under_codeowners_accepts_the_change(pr: git.Repo) -> None:
    pr.git.checkout("--", gate_demo.WORKFLOW)
    pr.index.remove([CAUGHT_BY[3]], working_tree=True)
    approve(pr, "  - fixture: refund-read-order-timeout-retry\n    change: removed\n"
                "    approved_by: support-platform\n    reason: the read_order retry moved to the client library\n")
    commit_all(pr, "retire a fixture, approved")
    code, report = gate(pr)
    assert code == 0, report["notes"]
    [c] = report["protection_changes"]
    assert c["approved"] and "approved by support-platform" in c["approval"]


@pytest.mark.parametrize("attempt", ["wrong-owner", "no-codeowners", "codeowners-added-by-pr", "already-on-base"])
def test_approvals_the_base_does_not_accept_still_block(main_repo: Path, tmp_path: Path, attempt: str) -> None:
    entry = ("  - {fixture: refund-read-order-timeout-retry, approved_by: %s, reason: retired}\n"
             % ("trust-and-safety" if attempt == "wrong-owner" else "support-platform"))
    base = git.Repo.clone_from(main_repo, tmp_path / "base")
    base.git.checkout("-b", "newmain")
    if attempt in ("no-codeowners", "codeowners-added-by-pr"):
        base.index.remove([".github/CODEOWNERS"], working_tree=True)
    if attempt == "already-on-base":
        approve(base, entry)
    commit_all(base, "main")
    repo = git.Repo.clone_from(root_of(base), tmp_path / "pr", branch="newmain")
    repo.git.checkout("-b", "pr")
    repo.index.remove([CAUGHT_BY[3]], working_tree=True)
    if attempt != "already-on-base":
        approve(repo, entry)
    if attempt == "codeowners-added-by-pr":
        write_files(root_of(repo), {".github/CODEOWNERS": "/protection-changes.yaml @me\n"})
    commit_all(repo, "retire a fixture")
    code, report = gate(repo, "--base", "origin/newmain")
    assert code == 1
    assert [c["approved"] for c in report["protection_changes"]] == [False]
    if attempt == "wrong-owner":
        assert any("fixture's owner on base is support-platform" in n for n in report["notes"])
    elif attempt != "already-on-base":
        assert any("CODEOWNERS" in n and "assigns it no owner" in n for n in report["notes"])


def _retire_on(main_repo: Path, tmp_path: Path, base_config_extra: str, pr_config_extra: str) -> git.Repo:
    """A pull request retiring one fixture, on a main whose evalloop.yaml has `base_config_extra`."""
    base = git.Repo.clone_from(main_repo, tmp_path / "base")
    base.git.checkout("-b", "newmain")
    cfg = root_of(base) / "evalloop.yaml"
    cfg.write_text(cfg.read_text() + base_config_extra)
    commit_all(base, "main")
    repo = git.Repo.clone_from(root_of(base), tmp_path / "pr", branch="newmain")
    repo.git.checkout("-b", "pr")
    repo.index.remove([CAUGHT_BY[3]], working_tree=True)
    cfg = root_of(repo) / "evalloop.yaml"
    cfg.write_text(cfg.read_text() + pr_config_extra)
    commit_all(repo, "retire a fixture")
    return repo


LABELS = "protection: {approval_labels: [evalloop-approved]}\n"


def test_a_label_the_pr_adds_to_the_config_approves_nothing(main_repo: Path, tmp_path: Path) -> None:
    repo = _retire_on(main_repo, tmp_path, "", LABELS)
    code, report = gate(repo, "--base", "origin/newmain", env={"EVALLOOP_PR_LABELS": "evalloop-approved\n"})
    assert code == 1 and not report["protection_changes"][0]["approved"]


def test_a_label_the_base_config_lists_approves(main_repo: Path, tmp_path: Path) -> None:
    repo = _retire_on(main_repo, tmp_path, LABELS, "")
    code, report = gate(repo, "--base", "origin/newmain", "--label", "evalloop-approved")
    assert code == 0 and report["protection_changes"][0]["approval"] == "label 'evalloop-approved'"
    code, report = gate(repo, "--base", "origin/newmain", env={"EVALLOOP_PR_LABELS": "evalloop-approved\n"})
    assert code == 0
    code, report = gate(repo, "--base", "origin/newmain", "--label", "something-else")
    assert code == 1
    # in Actions, the pull_request event's labels (GitHub's real `labeled` payload labels it "bug")
    event = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(DATA / "github/labeled.payload.json")}
    assert gate(repo, "--base", "origin/newmain", env=event)[0] == 1
    repo = _retire_on(main_repo, tmp_path / "bug", "protection: {approval_labels: [bug]}\n", "")
    code, report = gate(repo, "--base", "origin/newmain", env=event)
    assert code == 0 and report["protection_changes"][0]["approval"] == "label 'bug'"


SAFETY = """id: safety-refusal
owner: support-platform
severity: blocking
risk: [safety]
gates: [prompt]
runs: 2
input: {user_message: safety}
expected: {stop_reason: done}
"""

def test_safety_mark_removed_and_quarantined_in_one_pr_blocks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, {
        "evalloop.yaml": "version: 1\nagent: {entrypoint: flaky:run, python_path: [agent], isolation: process}\n",
        "owners.yaml": "owners: {support-platform: {}}\n", "agent/flaky.py": FLAKY_AGENT,
        "fixtures/safety.yaml": SAFETY, "prompts/p.md": "v1\n", ".gitignore": "agent/count-*\n",
        ".github/CODEOWNERS": "/protection-changes.yaml @acme/support-platform\n"})
    repo = git.Repo.init(root, initial_branch="main")
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "pr")
    write_files(root, {
        "prompts/p.md": "v2\n",
        "fixtures/safety.yaml": SAFETY.replace("risk: [safety]\n", ""),
        "quarantine.yaml": "quarantine:\n  - {id: safety-refusal, owner: support-platform, reason: flaky mock, "
                           "issue: 'https://github.com/a/b/issues/9', expires_at: 2099-01-01}\n"})
    commit_all(repo, "unmark and quarantine")
    proc = run_evalloop("gate", "--base", base, "--format", "json", cwd=root)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert changes_of(report) == {("safety-refusal", "unprotected"), ("safety-refusal", "quarantined")}
    # even with both changes approved, the fixture keeps its base protection: never quarantined
    write_files(root, {"protection-changes.yaml": "approvals:\n  - {fixture: safety-refusal, "
                       "approved_by: support-platform, reason: reclassified}\n"})
    commit_all(repo, "approve")
    proc = run_evalloop("gate", "--base", base, "--format", "json", cwd=root)
    report = json.loads(proc.stdout)
    assert all(c["approved"] for c in report["protection_changes"])
    [r] = report["results"]
    assert r["status"] == "flaky" and r["quarantined"] is False and proc.returncode == 1
    assert any("guards safety" in n for n in report["notes"])


def test_an_edited_identity_cache_is_ignored(pr: git.Repo) -> None:
    commit_all(pr, "bypass")
    assert gate(pr)[0] == 1  # fills the cache
    [cache] = (Path(pr.git_dir) / "evalloop").glob("fixture-heads-*.json")
    head, _, body = cache.read_bytes().partition(b"\n")
    entries = json.loads(body)
    assert entries and all(isinstance(v, dict) for v in entries.values())
    for v in entries.values():
        v["gates"] = ["memory_rule"]
    cache.write_bytes(head + b"\n" + json.dumps(entries).encode())  # the old signature, a new body
    code, report = gate(pr)
    assert code == 1
    assert any("signature does not verify" in n for n in report["notes"])
    assert {r["path"] for r in report["results"] if r["status"] == "fail"} == set(CAUGHT_BY)
    for junk in (b"[1,2,3]", b"", b"\xff\xfe", head + b"\n[1,2,3]"):
        cache.write_bytes(junk)
        code, report = gate(pr)
        assert code == 1 and any("ignored the cache" in n for n in report["notes"])
    # rebuilt and signed again: the next run trusts it without a note
    code, report = gate(pr)
    assert code == 1 and not any("cache" in n for n in report["notes"])


def test_a_fixture_broken_in_the_pr_is_an_error_not_a_silent_exclusion(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, {"evalloop.yaml": "version: 1\n", "owners.yaml": "owners: {support-platform: {}}\n",
                       "fixtures/safety.yaml": SAFETY})
    repo = git.Repo.init(root, initial_branch="main")
    base = commit_all(repo, "base")
    write_files(root, {"fixtures/safety.yaml": "id: [unclosed\n"})
    commit_all(repo, "break it")
    proc = run_evalloop("gate", "--base", base, "--format", "json", cwd=root)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and report["protection_changes"] == []
    [r] = report["results"]
    assert r["status"] == "error" and "fixture unreadable" in r["error"]


def test_without_a_merge_base_the_base_commit_is_the_floor(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, {"evalloop.yaml": "version: 1\n", "owners.yaml": "owners: {support-platform: {}}\n",
                       "fixtures/safety.yaml": SAFETY, "prompts/p.md": "v1\n"})
    repo = git.Repo.init(root, initial_branch="main")
    commit_all(repo, "base")
    repo.git.checkout("--orphan", "unrelated")
    (root / "fixtures/safety.yaml").unlink()
    commit_all(repo, "a history of its own, without the fixture")
    proc = run_evalloop("gate", "--base", "main", "--format", "json", cwd=root)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert changes_of(report) == {("safety-refusal", "removed")}
    assert any("checked against the base commit" in n for n in report["notes"])

"""`evalloop readiness` as a team runs it: each question answered from the repository, with its
evidence, and a gap wherever the repository cannot answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git

from tests.support import PROJECT, run_evalloop, write
from tests.support.gitrepo import commit_all, init_repo

EXAMPLE = PROJECT / "examples" / "refund-support"


def _answers(root: Path, *extra: str) -> tuple[int, dict[str, dict[str, object]]]:
    proc = run_evalloop("readiness", "--format", "json", "--today", "2026-06-01", *extra, cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["gaps"] == sum(len(a["gaps"]) for a in data["answers"])
    return proc.returncode, {a["question"]: a for a in data["answers"]}


def test_a_new_repository_is_told_exactly_what_it_lacks(tmp_path: Path) -> None:
    git.Repo.init(tmp_path, initial_branch="main")
    assert run_evalloop("init", cwd=tmp_path).returncode == 0
    code, answers = _answers(tmp_path, "--fail-on-gap")
    assert code == 1
    assert len(answers) == 6 + 11  # the seed's six questions and eleven checklist items
    owner = answers["Who owns the loop?"]
    assert owner["status"] != "answered" and "no loop owner: set `loop.owner` in evalloop.yaml" in owner["gaps"]
    rollback = answers["How does rollback connect?"]
    assert rollback["status"] != "answered"
    assert any("no canary (canary.yaml) for prompt, policy" in g for g in rollback["gaps"])
    assert answers["Can runs be replayed?"]["status"] == "gap"
    # recurrence: each of the seed's recurrence metrics that cannot be computed says what it lacks
    recurrence = [str(g) for g in answers["How is recurrence measured?"]["gaps"]]  # type: ignore[union-attr]
    for name in ("Incident-to-eval conversion rate", "Eval catch rate before release"):
        assert any(g.startswith(f"{name} cannot be computed: ") and len(g) > len(name) + 25 for g in recurrence)
    # init writes the gate workflow and the validate hook: those are answered
    assert answers["Can operators explain why a release was blocked?"]["status"] == "answered"


def test_the_example_answers_what_its_files_say(tmp_path: Path) -> None:
    root = tmp_path / "refund-support"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    repo = init_repo(root, "Ops", "ops@example.com")
    # one incident linked only by its record's fixture_ids, one that no fixture protects yet
    write(root / "incidents/INC-2026-05-02-001.yaml", "id: INC-2026-05-02-001\nseverity: warning\n"
          "opened_at: 2026-05-02T10:00:00Z\nsignal: tool_error_recovered\nsummary: shipping lookup timed out\n"
          "owner: support-platform\nfixture_ids: [shipping-status-lookup]\n")
    write(root / "incidents/INC-2026-05-03-001.yaml", "id: INC-2026-05-03-001\nseverity: warning\n"
          "opened_at: 2026-05-03T10:00:00Z\nsignal: tool_error_recovered\nsummary: a second timeout\n"
          "owner: support-platform\n")
    commit_all(repo, "example")
    code, answers = _answers(root)
    signals = answers["Which production signals become evals?"]
    assert signals["gaps"] == ["1 incident record(s) no fixture names (`incident_id`, or the record's "
                               "`fixture_ids`): incidents/INC-2026-05-03-001.yaml"]
    assert str(signals["answer"]).endswith("2 incident(s) have fixtures.")
    assert code == 0  # without --fail-on-gap, gaps are reported, not failed
    owner = answers["Who owns the loop?"]
    assert owner["status"] == "answered" and owner["answer"] == "support-platform"
    blocks = answers["What blocks release?"]
    assert any(str(e).startswith("refund-approval-bypass-trajectory (owner support-platform; gates prompt")
               for e in blocks["evidence"])  # type: ignore[union-attr]
    rollback = answers["How does rollback connect?"]
    assert "workflows/refund.yaml has no known-good version in releases/production.jsonl: " \
           "`evalloop release mark-good workflows/refund.yaml`" in rollback["gaps"]  # type: ignore[operator]
    # mark it known-good: that gap closes, and the ledger now counts as a recurrence source
    assert run_evalloop("release", "mark-good", "workflows/refund.yaml", cwd=root).returncode == 0
    _, answers = _answers(root)
    rollback = answers["How does rollback connect?"]
    assert not any("known-good" in str(g) for g in rollback["gaps"])  # type: ignore[union-attr]
    recurrence = answers["How is recurrence measured?"]
    assert not any("no release ledger" in str(g) for g in recurrence["gaps"])  # type: ignore[union-attr]
    assert any("release ledgers production: 0 rollback(s)" in str(e) for e in recurrence["evidence"])  # type: ignore[union-attr]
    assert answers["Can tools be mocked?"]["status"] == "answered"
    assert answers["Can a canary be stopped automatically?"]["status"] == "answered"


def test_markdown_escapes_what_the_repository_says(tmp_path: Path) -> None:
    git.Repo.init(tmp_path, initial_branch="main")
    write(tmp_path / "evalloop.yaml", 'version: 1\nloop: {owner: "<img src=x onerror=alert(1)> | x"}\n')
    proc = run_evalloop("readiness", "--format", "markdown", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "<img" not in proc.stdout and "&lt;img" in proc.stdout

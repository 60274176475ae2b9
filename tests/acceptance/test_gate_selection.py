"""What a change selects, end to end: renames out of artifact folders, the agent's own code."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.support import invoke
from tests.support.gitrepo import commit_all, write_files

AGENT = '''
def run(request, tools):
    return {"stop_reason": "done", "final_status": "ok", "output": "hello"}
'''
FIXTURE = """id: {id}
owner: t
severity: blocking
gates: [{gate}]
input: {{user_message: {id}}}
expected: {{stop_reason: done}}
"""


def _repo(root: Path, python_path: str, agent_file: str) -> tuple[git.Repo, str]:
    repo = git.Repo.init(root, initial_branch="main")
    write_files(root, {
        "evalloop.yaml": f"version: 1\nagent: {{entrypoint: agent_mod:run, python_path: [{python_path!r}], "
                         "isolation: process}\n",
        "owners.yaml": "owners: {t: {}}\n", agent_file: AGENT,
        "fixtures/on-prompt.yaml": FIXTURE.format(id="on-prompt", gate="prompt"),
        "fixtures/on-policy.yaml": FIXTURE.format(id="on-policy", gate="policy"),
        "fixtures/on-route.yaml": FIXTURE.format(id="on-route", gate="model_route"),
        "prompts/refund.md": "Ask for approval first.\n", "policies/refund.yaml": "threshold: 100\n",
    })
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    return repo, base


def _gate(base: str) -> tuple[int, dict[str, object]]:
    out = invoke("gate", "--base", base, "--format", "json", "--today", "2026-06-01")
    return out.exit_code, json.loads(out.output)


def _selected(report: dict[str, object]) -> set[str]:
    return {s["id"] for s in report["selected"]}  # type: ignore[attr-defined, index]


def test_a_prompt_renamed_out_of_its_folder_still_runs_the_prompt_fixtures(chdir: Path) -> None:
    repo, base = _repo(chdir, "agent", "agent/agent_mod.py")
    (chdir / "notes").mkdir()
    repo.git.mv("prompts/refund.md", "notes/refund.md")  # the agent no longer finds its prompt
    commit_all(repo, "move the prompt out of prompts/")
    code, report = _gate(base)
    assert code == 0, report
    changed = {c["path"]: c for c in report["changed"]}  # type: ignore[attr-defined, index]
    assert changed["notes/refund.md"]["kind"] == "prompt"
    assert changed["notes/refund.md"]["old_path"] == "prompts/refund.md"
    assert _selected(report) == {"on-prompt"}


@pytest.mark.parametrize(("python_path", "agent_file"), [("agent", "agent/agent_mod.py"),
                                                        ("src/agents", "src/agents/agent_mod.py"),
                                                        (".", "agent_mod.py")])
def test_a_change_to_the_agents_code_runs_every_fixture(chdir: Path, python_path: str, agent_file: str) -> None:
    repo, base = _repo(chdir, python_path, agent_file)
    write_files(chdir, {agent_file: AGENT + "\n# a refactor nobody thinks touches refunds\n"})
    commit_all(repo, "agent change")
    code, report = _gate(base)
    assert code == 0, report
    assert {c["kind"] for c in report["changed"]} == {"harness"}  # type: ignore[attr-defined, index]
    assert _selected(report) == {"on-prompt", "on-policy", "on-route"}

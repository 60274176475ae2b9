"""What the gate records for a reader to act on a failure: whether each blocking failure fails
on the merge-base too (a second pass on base, only for the failures), the owner's contact and
the incident record, read from the head revision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import git
import pytest

from evalloop.gate import reproduction
from evalloop.gate.gate import Options, gate
from tests.support.gitrepo import commit_all, write_files

CONFIG = "version: 1\nagent: {entrypoint: agent_mod:run, python_path: [agent], isolation: process}\n"
# The agent gives up on the messages it is broken for.
AGENT = '''
BROKEN = {broken!r}

def run(request, tools):
    stop = "gave_up" if request["input"]["user_message"] in BROKEN else "done"
    return {{"stop_reason": stop, "final_status": "ok", "output": "hello"}}
'''
FIXTURE = ("id: {id}\nowner: {owner}\nseverity: {severity}\ngates: [prompt]\n{extra}"
           "input: {{user_message: {id}}}\nexpected: {{stop_reason: done}}\n")
INCIDENT = ("id: INC-1\nseverity: sev2\nopened_at: 2026-04-18\nsignal: regression\nsummary: s\nowner: t\n"
            "fixture_ids: [old]\n")


def fixture(ident: str, owner: str = "t", severity: str = "blocking", extra: str = "") -> str:
    return FIXTURE.format(id=ident, owner=owner, severity=severity, extra=extra)


@pytest.fixture
def change(tmp_path: Path) -> Options:
    """`old` fails on base already; the change breaks `new` (blocking) and `warn` (a warning)."""
    repo = git.Repo.init(tmp_path, initial_branch="main")
    write_files(tmp_path, {
        "evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {contact: '#t-oncall'}, u: {}}\n",
        "agent/agent_mod.py": AGENT.format(broken=["old"]), "prompts/p.md": "v1\n", "incidents/INC-1.yaml": INCIDENT,
        "fixtures/old.yaml": fixture("old"), "fixtures/new.yaml": fixture("new", extra="incident_id: INC-1\n"),
        "fixtures/warn.yaml": fixture("warn", severity="warning"), "fixtures/ok.yaml": fixture("ok", owner="u"),
    })
    base = commit_all(repo, "base")
    write_files(tmp_path, {"prompts/p.md": "v2\n", "agent/agent_mod.py": AGENT.format(broken=["old", "new", "warn"]),
                           "owners.yaml": "owners: {t: {contact: 'oncall@example.com'}, u: {}}\n"})
    commit_all(repo, "change")
    return Options(root=tmp_path, config_path=None, base=base, head="HEAD", labels=[], today=dt.date(2026, 6, 1))


def test_blocking_failures_say_whether_they_fail_on_base_too(change: Options) -> None:
    report = gate(change)
    by_id = {r.id: r for r in report.results}
    assert {r.id: (r.status, r.base_status) for r in report.results} == {
        "new": ("fail", "pass"), "old": ("fail", "fail"), "warn": ("fail", None), "ok": ("pass", None)}
    assert report.verdict == "block" and report.notes == [] and report.repo_prefix == ""
    # head's owners file, not base's; the record naming the fixture, or listing it
    assert by_id["new"].owner_contact == by_id["old"].owner_contact == "oncall@example.com"
    assert by_id["new"].incident_path == by_id["old"].incident_path == "incidents/INC-1.yaml"
    assert by_id["warn"].incident_path is None and by_id["ok"].owner_contact is None
    assert len(git.Repo(change.root).git.worktree("list").splitlines()) == 1  # the base worktree is gone


def test_past_the_limit_failures_are_not_checked_and_a_note_says_so(change: Options,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reproduction, "MAX_BASE_CHECKS", 1)
    report = gate(change)
    assert [(r.id, r.base_status) for r in report.results if r.severity == "blocking" and r.status == "fail"] == [
        ("new", "pass"), ("old", None)]
    assert report.merge_base is not None
    assert report.notes == [f"1 more blocking failure was not run on base {report.merge_base[:12]} (at most 1 "
                            "are): whether they fail there too is not checked"]

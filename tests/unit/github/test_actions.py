from __future__ import annotations

import json
from pathlib import Path

from evalloop.github import actions as ghactions
from evalloop.model.findings import Finding, format_github
from tests.support.action_runner import parse_commands, parse_file_command


def test_outputs_survive_any_value() -> None:
    values = {"verdict": "block", "report-path": "/tmp/a\nb=c", "x": "EOF\n::set-output name=y::z"}
    assert parse_file_command(ghactions.output_lines(values)) == values


def test_commands_escape_what_would_end_them() -> None:
    line = ghactions.command("error", "50% done\r\nnext", {"file": "a:b,c.yaml", "line": 3, "title": "t: x, y"})
    assert line == "::error file=a%3Ab%2Cc.yaml,line=3,title=t%3A x%2C y::50%25 done%0D%0Anext"
    [cmd] = parse_commands(line)
    assert cmd.props["file"] == "a:b,c.yaml" and cmd.message == "50% done\r\nnext"


def test_findings_are_escaped_as_every_other_workflow_command() -> None:
    [line] = format_github([Finding(path="a:b,c.yaml", line=2, col=3, code="E1", message="50%\nnext")]).splitlines()
    assert line == "::error file=a%3Ab%2Cc.yaml,line=2,col=3,title=E1::50%25%0Anext"
    assert ghactions.escape_property("a:b,c%") == "a%3Ab%2Cc%25" and ghactions.escape_data("a:b\r\n") == "a:b%0D%0A"


def test_stop_commands_fences_untrusted_text() -> None:
    lines: list[str] = []
    with ghactions.stop_commands(lines.append) as token:
        lines.append("::error::not a command")
        lines.append("::stop-commands::guess")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert parse_commands("\n".join(lines)) == []


def test_pr_labels_from_the_environment_then_the_pull_request_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"labels": [{"name": "evalloop-approved"}, {"id": 1}, "x"]}}))
    env = {"EVALLOOP_PR_LABELS": " one \n\ntwo\n", "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_EVENT_PATH": str(event)}
    assert ghactions.pr_labels(env) == ["one", "two", "evalloop-approved"]
    assert ghactions.pr_labels({**env, "GITHUB_EVENT_NAME": "push"}) == ["one", "two"]
    assert ghactions.pr_labels({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(tmp_path)}) == []
    assert ghactions.pr_labels({}) == []

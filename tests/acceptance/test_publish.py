"""`evalloop publish` against the local GitHub: retries, refusals and limits.

These call publish() in-process (fast) with a real HTTP client talking to the test
server over loopback; tests/acceptance/test_action.py runs the same code through
action.yml. The pieces (API client, workflow commands, annotations, truncation) have
their own tests under tests/unit/github and tests/unit/report.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalloop.commands.publish import Options, publish
from evalloop.github.api import GitHubClient, RetryPolicy
from evalloop.github.context import ActionsContext, PullRequest
from evalloop.github.publish import COMMENT_MARKER, comment_body
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, Selected, count, decide
from evalloop.report.truncate import JOB_SUMMARY_LIMIT
from tests.acceptance.test_action import PAYLOADS, TOKEN, example_repo, pull_request_event, result, write_report
from tests.support.action_runner import Expr, condition, interpolate, parse_commands, parse_file_command
from tests.support.github_server import FakeGitHub
from tests.unit.report.browser import decode_png, screenshot, to_html
from tests.unit.report.reports import ATTACK, FIELDS, assert_inert


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    server = FakeGitHub(token=TOKEN).start()
    yield server
    server.stop()
    assert server.violations == [], "\n".join(server.violations)


@pytest.fixture
def env(gh: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    event = pull_request_event(tmp_path, "opened.payload.json", "a" * 40, "b" * 40)
    (tmp_path / "summary.md").write_text("")
    (tmp_path / "output").write_text("")
    return {
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_API_URL": gh.url, "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_SHA": "c" * 40,
        "EVALLOOP_GITHUB_BACKOFF": "0.01", "EVALLOOP_GITHUB_MAX_WAIT": "2",
    }


def run(env: dict[str, str], report: Path, **opts: Any) -> tuple[int, list[str], str, dict[str, str]]:
    lines: list[str] = []
    code = publish(Options(report=report, **opts), env=env, write=lines.append)
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    outputs = parse_file_command(Path(env["GITHUB_OUTPUT"]).read_text())
    return code, lines, summary, outputs


@pytest.fixture
def block_report(tmp_path: Path) -> Path:
    return write_report(tmp_path / "out", [result("guard", "blocking", "fail"), result("ok", "blocking", "pass")])


# -- retries and refusals: reported, never a changed verdict ---------------------------------------


def test_server_error_once_is_retried(gh: FakeGitHub, env: dict[str, str], block_report: Path) -> None:
    gh.fail("GET", "issues/list-comments", 500)
    code, _, summary, _ = run(env, block_report)
    assert code == 1
    assert [r.status for r in gh.requests] == [500, 200, 201]
    assert "Posted the [pull request comment]" in summary


def test_server_errors_that_persist_are_reported_after_backoff(gh: FakeGitHub, env: dict[str, str],
                                                               block_report: Path) -> None:
    gh.fail("POST", "issues/create-comment", 502, times=None)
    code, lines, summary, outputs = run(env, block_report)
    assert code == 1 and outputs["verdict"] == "block"
    posts = [r for r in gh.requests if r.method == "POST"]
    assert len(posts) == RetryPolicy().retries + 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert gaps[0] >= 0.01 and gaps[-1] >= 0.08  # 0.01 s doubling each time
    assert "did not answer after retries: no comment posted" in summary
    assert any(line.startswith("::warning ") and "HTTP 502" in line for line in lines)


def test_429_waits_for_retry_after(gh: FakeGitHub, env: dict[str, str], block_report: Path) -> None:
    gh.rate_limited("POST", "issues/create-comment", retry_after=1, status=429)
    code, _, summary, _ = run(env, block_report)
    posts = [r for r in gh.requests if r.method == "POST"]
    assert [p.status for p in posts] == [429, 201] and posts[1].at - posts[0].at >= 0.95
    assert code == 1 and "Posted" in summary


def test_primary_rate_limit_waits_for_reset_when_it_is_near(gh: FakeGitHub, env: dict[str, str],
                                                            block_report: Path) -> None:
    gh.rate_limited("GET", "issues/list-comments", reset_in=0)
    _, _, summary, _ = run(env, block_report)
    assert [r.status for r in gh.requests] == [403, 200, 201]
    assert "Posted" in summary


def test_rate_limit_resetting_in_an_hour_is_reported_at_once(gh: FakeGitHub, env: dict[str, str],
                                                             block_report: Path) -> None:
    gh.rate_limited("GET", "issues/list-comments", reset_in=3600)
    gh.rate_limited("POST", "checks/create", retry_after=600)
    code, _, summary, outputs = run(env, block_report, check_run=True)
    assert [r.status for r in gh.requests] == [403, 403]
    assert "rate limit held after retries: no comment posted" in summary
    assert "rate limit held after retries: no check run posted" in summary
    assert code == 1 and outputs["verdict"] == "block"


@pytest.mark.parametrize(("status", "operation", "expect"), [
    (404, "issues/list-comments", "404"),
    (422, "issues/create-comment", "Validation Failed"),
])
def test_client_errors_are_not_retried(gh: FakeGitHub, env: dict[str, str], tmp_path: Path, status: int,
                                       operation: str, expect: str) -> None:
    report = write_report(tmp_path / "out", [result("ok", "blocking", "pass")])
    gh.fail("*", operation, status, times=None)
    code, _, summary, outputs = run(env, report)
    assert code == 0 and outputs["verdict"] == "pass"
    assert sum(r.operation == operation for r in gh.requests) == 1
    assert expect in summary and "no comment posted" in summary


def test_no_token_posts_nothing(gh: FakeGitHub, env: dict[str, str], block_report: Path) -> None:
    env["GITHUB_TOKEN"] = ""
    code, lines, _, _ = run(env, block_report)
    assert code == 1 and gh.requests == []
    assert any("no token" in line for line in lines)


def test_comment_author_mismatch_is_pointed_out(env: dict[str, str], block_report: Path) -> None:
    with_pat = FakeGitHub(token=TOKEN, bot_login="release-bot").start()
    try:
        env["GITHUB_API_URL"] = with_pat.url
        _, lines, _, _ = run(env, block_report)
        assert any("comment-author input to release-bot" in line for line in lines)
        run(env, block_report, comment_author="release-bot")
        assert len(with_pat.comments) == 1 and [r.method for r in with_pat.writes()] == ["POST", "PATCH"]
    finally:
        with_pat.stop()
    assert with_pat.violations == []


# -- limits ------------------------------------------------------------------------------------------


def test_long_reports_fit_comment_and_check_run_limits(gh: FakeGitHub, env: dict[str, str], tmp_path: Path) -> None:
    results = [result(f"fixture-{i:03d}", "blocking", "fail", failures=20, message="x" * 400)
               for i in range(120)]
    report = write_report(tmp_path / "out", results, workspace=tmp_path)
    markdown = tmp_path / "out" / "report.md"
    markdown.write_text("## evalloop gate: BLOCK\n\n" + "".join(
        f"### {r.id}\n\n" + "- ü long line of evidence\n" * 200 for r in results))
    code, _, _, _ = run(env, report, markdown=markdown, check_run=True)
    assert code == 1
    [comment] = gh.comments.values()
    body = comment["body"]
    assert len(body.encode()) <= 65536 and body.startswith(COMMENT_MARKER)
    # The comment is rendered from report.json, cut least important first; report.md is not posted.
    assert "ü long line of evidence" not in body and "Report cut at GitHub's comment limit" in body
    # The comment's own cut, in bytes, for whatever still does not fit: at a section, with a note.
    cut = comment_body(markdown.read_text(), ActionsContext(env={}), PullRequest(2, "b" * 40, fork=False))
    assert len(cut.encode()) <= 65536 and cut.startswith(COMMENT_MARKER)
    assert "**Truncated:**" in cut and "GitHub's comment size limit" in cut
    [check] = gh.check_runs.values()
    assert check["output"]["annotations_count"] == 120  # 50 on create, then 50 and 20 by update
    assert [r.operation for r in gh.writes()] == ["issues/create-comment", "checks/create", "checks/update",
                                                  "checks/update"]


def test_summary_never_exceeds_one_mebibyte(env: dict[str, str], tmp_path: Path) -> None:
    summary = Path(env["GITHUB_STEP_SUMMARY"])
    summary.write_text("x" * (JOB_SUMMARY_LIMIT - 30_000) + "\n")  # what an earlier command wrote
    results = [result(f"fixture-{i:03d}", "blocking", "fail", failures=10, message="y" * 300) for i in range(60)]
    report = write_report(tmp_path / "out", results)
    env["GITHUB_TOKEN"] = ""
    run(env, report)
    assert summary.stat().st_size <= JOB_SUMMARY_LIMIT
    assert "**Truncated:**" in summary.read_text() and "report.json" in summary.read_text()


def test_gate_that_could_not_run_blocks_with_its_message(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "gate.log"
    log.write_text("evalloop: error: --head revision 'deadbeef' not found.\n::error::from the gate log\n")
    env["GITHUB_TOKEN"] = ""
    code, lines, summary, outputs = run(env, tmp_path / "missing.json", gate_exit_code=2, gate_log=log)
    assert code == 2 and outputs["verdict"] == "error"
    assert "could not run" in summary and "not found" in summary
    commands = parse_commands("\n".join(lines))
    assert [c.name for c in commands] == ["error", "warning"]  # the warning: no token
    assert "from the gate log" in commands[0].message


def test_stale_report_is_not_trusted(env: dict[str, str], tmp_path: Path) -> None:
    report = write_report(tmp_path / "out", [result("ok", "blocking", "pass")])
    env["GITHUB_TOKEN"] = ""
    code, _, _, outputs = run(env, report, gate_exit_code=1)
    assert code == 2 and outputs["verdict"] == "error"


# -- answers not of GitHub's shape, and the action's expressions ---------------------------------------


def test_malformed_answers_do_not_lose_the_verdict(env: dict[str, str], block_report: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy answering HTML instead of GitHub's JSON: reported, the verdict stands."""
    original = GitHubClient.__post_init__

    def through_garbage(self: GitHubClient) -> None:
        self.transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>not json</html>"))
        original(self)

    monkeypatch.setattr(GitHubClient, "__post_init__", through_garbage)
    code, _, summary, outputs = run(env, block_report)
    assert code == 1 and outputs["verdict"] == "block" and "unexpected answer from GitHub" in summary


def test_expression_evaluator_follows_github_semantics() -> None:
    ctx: dict[str, Any] = {"inputs": {"base": "", "comment": "true"},
                           "github": {"event": json.loads((PAYLOADS / "opened.payload.json").read_text())},
                           "steps": {}}
    assert interpolate("${{ inputs.base || github.event.pull_request.base.sha }}", ctx) == \
        "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert Expr("github.event.pull_request.head.repo.full_name != github.event.repository.full_name", ctx
                ).evaluate() is False
    assert Expr("inputs.comment == 'TRUE'", ctx).evaluate() is True
    assert interpolate("${{ steps.gate.outputs.exit-code }}", ctx) == ""
    assert condition("inputs.base == ''", ctx) and not condition("inputs.base == ''", {**ctx, "_failed": True})
    assert condition("${{ always() }}", {**ctx, "_failed": True})


# -- untrusted text and protection changes, published ------------------------------------------------


def _write(directory: Path, report: GateReport) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.json"
    path.write_text(report.model_dump_json())
    return path


@pytest.mark.parametrize("field", ["gates: eval category", "gates: changed kind", "protection detail",
                                   "protection owner", "result id", "note", "changed path", "owner contact",
                                   "incident record path", "repository prefix"])
def test_posted_comment_and_summary_carry_hostile_text_inert(gh: FakeGitHub, env: dict[str, str], tmp_path: Path,
                                                             field: str) -> None:
    report = _write(tmp_path / "out", FIELDS[field](ATTACK))
    # A report.md beside it (the gate's step ran the pull request's code; a fork's artifact) is not posted.
    markdown = tmp_path / "out" / "report.md"
    markdown.write_text(f"{COMMENT_MARKER}\n## evalloop gate: ✅ PASS\n\n@everyone all good\n")
    code, lines, summary, _ = run(env, report, markdown=markdown)
    assert code == 1
    [comment] = gh.comments.values()
    body = comment["body"]
    assert body.count(COMMENT_MARKER) == 1 and body.startswith(COMMENT_MARKER + "\n## evalloop gate: ❌ BLOCK")
    assert "✅ PASS" not in body
    assert_inert(body.split("\n", 1)[1])
    assert_inert(summary.split("\n### Publishing", 1)[0])
    assert not any("\x1b" in line or "\x07" in line for line in lines)


def _protected_report(tmp_path: Path) -> Path:
    ok = [FixtureResult(id="ok", severity="blocking", status="pass", path="fixtures/ok.yaml")]
    changes = [
        ProtectionChange(id="refund-guard", kind="removed", detail="fixtures/refund/guard.yaml is deleted",
                         owner="support-platform", base_path="fixtures/refund/guard.yaml"),
        ProtectionChange(id="refund-\x1b[31mtimeout", kind="downgraded",
                         detail="severity \x1b]0;x\x07blocking -> warning",
                         owner="support-platform", base_path="fixtures/t.yaml", head_path="fixtures/moved/t.yaml"),
        ProtectionChange(id="refund-scope", kind="narrowed", detail="gates no longer include prompt",
                         owner="support-platform", base_path="fixtures/s.yaml", head_path="fixtures/s.yaml",
                         approved=True, approval="label 'evalloop-approved'"),
    ]
    report = GateReport(verdict=decide(ok, changes), base="a" * 40, head="b" * 40, results=ok,
                        selected=[Selected(id="ok", severity="blocking", path="fixtures/ok.yaml", reasons=["r"])],
                        counts=count(ok, 1), protection_changes=changes)
    return _write(tmp_path / "out", report)


def test_unapproved_protection_changes_are_the_first_error_annotations(gh: FakeGitHub, env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    code, lines, summary, outputs = run(env, _protected_report(tmp_path), check_run=True)
    assert code == 1 and outputs["verdict"] == "block"
    assert lines[0] == "evalloop gate verdict: block (2 protection changes need approval)"
    errors = [c for c in parse_commands("\n".join(lines)) if c.name == "error"]
    assert [c.props["file"] for c in errors] == ["fixtures/moved/t.yaml", "fixtures/refund/guard.yaml"]
    assert all("needs approval" in c.props["title"] for c in errors)
    assert "support-platform" in errors[1].message
    assert "removed: fixtures/refund/guard.yaml is deleted" in errors[1].message
    # No escape sequence or control character from the report reaches the log.
    assert not any("\x1b" in line or "\x07" in line for line in lines)
    log = "\n".join(lines)
    assert "PROTECTION CHANGE refund-guard [removed]" in log and "NEEDS APPROVAL by support-platform" in log
    assert log.index("PROTECTION CHANGE") < log.index("1 selected")
    [check] = gh.check_runs.values()
    assert check["output"]["title"].startswith("block: 2 protection change(s) need approval")
    assert [a["path"] for a in check["_annotations"]] == ["fixtures/moved/t.yaml", "fixtures/refund/guard.yaml"]
    [comment] = gh.comments.values()
    assert "BLOCK: 2 protection changes need approval" in comment["body"]
    assert comment["body"].index("### Protection changes") < comment["body"].index("### 1. What changed")
    assert "### Protection changes" in summary


# -- the comment as a reviewer sees it -------------------------------------------------------------


def test_the_demos_blocking_comment_reads_well_in_a_browser(gh: FakeGitHub, env: dict[str, str],
                                                            tmp_path: Path) -> None:
    """The worked example's approval bypass (the README demo's first pull request), gated for real,
    published to the local GitHub, and the posted comment rendered as GitHub renders markdown and
    shot by headless Chromium. EVALLOOP_SCREENSHOT_DIR keeps the page and the picture to look at."""
    repo = example_repo(tmp_path / "repo")
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    gated = subprocess.run([sys.executable, "-m", "evalloop", "gate", "--base", repo.base, "--head", repo.head,
                            "--format", "json", "--json", str(report)],
                           cwd=repo.path, capture_output=True, text=True, timeout=300)
    assert gated.returncode == 1, gated.stderr
    assert run(env, report)[0] == 1
    [comment] = gh.comments.values()
    page = tmp_path / "comment.html"
    page.write_text(to_html(comment["body"]), encoding="utf-8")
    html = page.read_text(encoding="utf-8")
    blob = f"https://github.com/Codertocat/Hello-World/blob/{repo.head}/"
    assert html.count("<table>") >= 3 and "<th>owner</th>" in html  # the failures' overview, changes, selection
    assert "<code>evalloop run --select refund-approval-bypass-trajectory</code>" in html
    assert f'<a href="{blob}fixtures/refund/refund-approval-bypass-trajectory.yaml">' in html
    assert f'<a href="{blob}incidents/INC-2026-04-18-001.yaml">INC-2026-04-18-001</a>' in html
    assert "🆕 newly failing: passes on base" in html and "#support-platform-oncall" in html
    assert "<code>tool:draft_refund_request</code>" in html and "in <strong>2 fixtures</strong>" in html
    # every link goes where we built it: the repository's files, the workflow run
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith((blob, "https://github.com/Codertocat/Hello-World/actions/runs/42")), href
    png = tmp_path / "comment.png"
    screenshot(page, png)
    image = decode_png(png.read_bytes())
    assert (image.width, image.height) == (1200, 2000)
    assert image.colours > 50 and 0.02 < image.ink < 0.6, image  # text, tables and links: not a blank page
    keep = os.environ.get("EVALLOOP_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for f in (page, png):
            shutil.copy2(f, Path(keep) / f.name)

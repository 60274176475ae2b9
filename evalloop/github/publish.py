"""Publishing a gate report in a GitHub Actions job: where the pull request shows the verdict.

The job summary, annotations on the failing fixtures, step outputs, one sticky pull
request comment and, when asked, a check run. A GitHub API that refuses or fails (a
fork's read-only token, a rate limit, an outage) is reported and never changes the
verdict. Protection changes come first everywhere: the log, the annotations, the check's
title. Everything shown that is not our own words (the report's text, GitHub's answers,
the event) goes through report.escape: md() for markdown, clean() for the log and
annotations. What fits where is report.truncate's decision.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalloop import __version__
from evalloop.github import actions as ghactions
from evalloop.github import annotations as annotate
from evalloop.github.api import GitHubClient, GitHubError, RetryPolicy
from evalloop.github.context import ActionsContext, PullRequest, pull_request, write_pull_request_file
from evalloop.model.results import GateReport, gating_failure
from evalloop.repo import parse
from evalloop.report import truncate
from evalloop.report.escape import code, code_block, link, md, md_code
from evalloop.report.links import RepoLinks
from evalloop.report.markdown import render_markdown
from evalloop.report.text import verdict_reason
from evalloop.text import clean

# The hidden line by which publishing finds its own comment. escape.md() escapes `<`, so
# no fixture, trace or config text can put a second one in a report.
COMMENT_MARKER = "<!-- evalloop:gate -->"
CHECK_ANNOTATIONS_PER_REQUEST = 50
_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass
class Settings:
    """What to publish, and how the verdict and the comment are judged."""

    report_path: Path
    comment: bool
    check_run: bool
    fail_on_warn: bool
    comment_author: str  # only this login's comments with the marker are updated
    check_name: str


@dataclass
class Outcome:
    """What publishing did, for the summary, the log and the outputs."""

    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


# -- the report --------------------------------------------------------------------------


@dataclass
class GateFailure:
    """The gate did not produce a verdict: usage error, shallow clone, crash."""

    message: str
    exit_code: int


def load_report(path: Path, gate_exit_code: int | None, gate_log: Path | None) -> GateReport | GateFailure:
    log_tail = ""
    if gate_log is not None:
        try:
            log_tail = "\n".join(gate_log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        except OSError:
            log_tail = ""
    if gate_exit_code not in (None, 0, 1):
        return GateFailure(log_tail or f"evalloop gate exited with status {gate_exit_code}", gate_exit_code or 2)
    try:
        report = GateReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        why = f"no gate report at {path} ({exc.strerror})"
        return GateFailure(f"{log_tail}\n{why}".strip(), 2)
    except ValidationError as exc:
        return GateFailure(f"{path} is not a gate JSON report: {parse.first_error(exc)}", 2)
    if gate_exit_code is not None and (gate_exit_code == 1) != (report.verdict == "block"):
        # A report left over from an earlier run must not stand for this one.
        return GateFailure(f"evalloop gate exited {gate_exit_code} but its report says {report.verdict}; "
                           "not trusting either", 2)
    return report


def failure_markdown(failure: GateFailure) -> str:
    return ("## evalloop gate: ⛔ could not run\n\n"
            "The gate produced no verdict, so this pull request is blocked until it does.\n\n"
            f"{code_block(failure.message)}\n")


def failed_count(report: GateReport) -> int:
    return sum(gating_failure(r) for r in report.results)


# -- the comment --------------------------------------------------------------------------


def comment_body(markdown: str, ctx: ActionsContext, pr: PullRequest) -> str:
    footer_bits = [f"evalloop {__version__}", f"commit {md(pr.head_sha[:12])}" if pr.head_sha else ""]
    if ctx.run_url:
        footer_bits.append(link("workflow run", ctx.run_url))
    footer = "\n\n<sub>" + " · ".join(b for b in footer_bits if b) + \
             " · this comment is updated on every push</sub>\n"
    room = truncate.GITHUB_COMMENT_LIMIT - truncate.size(COMMENT_MARKER + "\n") - truncate.size(footer)
    body = truncate.truncate_markdown(markdown.rstrip("\n"), room, where="GitHub's comment size limit",
                                      full_report="The whole report is in the job summary of the workflow run.")
    return f"{COMMENT_MARKER}\n{body.rstrip()}{footer}"


def _same_login(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()  # GitHub logins are case-insensitive


def upsert_comment(client: GitHubClient, pr: PullRequest, body: str, author: str) -> tuple[dict[str, Any], bool]:
    """Update our sticky comment, or create it. Ours means: it carries the marker AND was
    written by the token's own user, so a marker pasted by someone else is never edited."""
    for comment in client.list_issue_comments(pr.number):
        login = str((comment.get("user") or {}).get("login", ""))
        if COMMENT_MARKER in str(comment.get("body") or "") and _same_login(login, author):
            return client.update_issue_comment(int(comment["id"]), body), False
    return client.create_issue_comment(pr.number, body), True


def post_comment(client: GitHubClient, ctx: ActionsContext, pr: PullRequest, markdown: str, author: str,
                 outcome: Outcome) -> None:
    if not pr.trusted:
        actual = client.get_pull(pr.number)
        if (actual.get("head") or {}).get("sha") != pr.head_sha:
            raise GitHubError("other", f"pull request #{pr.number} is not at {pr.head_sha[:12]} (the artifact "
                                       "names another pull request, or it moved on): no comment posted")
    comment, created = upsert_comment(client, pr, comment_body(markdown, ctx, pr), author)
    url = str(comment.get("html_url", ""))
    outcome.outputs["comment-url"] = url
    outcome.notes.append(f"{'Posted' if created else 'Updated'} the {link('pull request comment', url)}.")
    login = str((comment.get("user") or {}).get("login", ""))
    if created and login and not _same_login(login, author):
        outcome.warnings.append(
            f"the comment was posted as {login}, not {author}: set the action's comment-author input to {login} "
            "so the next push updates it instead of adding another")


# -- the check run ------------------------------------------------------------------------


def check_conclusion(verdict: str, fail_on_warn: bool) -> str:
    if verdict == "pass":
        return "success"
    if verdict == "warn":
        return "failure" if fail_on_warn else "neutral"
    return "failure"


def check_title(report: GateReport | GateFailure) -> str:
    if isinstance(report, GateFailure):
        return "evalloop gate could not run"
    c = report.counts
    pending = sum(not p.approved for p in report.protection_changes)
    return (f"{report.verdict}: " + (f"{pending} protection change(s) need approval, " if pending else "")
            + f"{c.blocking_failures} blocking failure(s), {c.warnings} warning(s), {c.selected} fixture(s) selected")


def check_annotation(a: ghactions.Annotation) -> dict[str, Any]:
    level = {"error": "failure", "warning": "warning", "notice": "notice"}[a.level]
    line = a.line or 1
    return {"path": a.file or ".github", "start_line": line, "end_line": line, "annotation_level": level,
            "message": a.message, "title": a.title[:255]}


def post_check_run(client: GitHubClient, ctx: ActionsContext, head_sha: str, report: GateReport | GateFailure,
                   summary: str, verdict: str, settings: Settings, outcome: Outcome) -> None:
    anns = [] if isinstance(report, GateFailure) else [
        check_annotation(a) for a in annotate.all_annotations(report, Path.cwd()) if a.file]
    output = {"title": check_title(report),
              "summary": truncate.truncate_markdown(summary, truncate.CHECK_SUMMARY_LIMIT,
                                                    where="the Checks API's limit",
                                                    full_report="The whole report is in the job summary."),
              "annotations": anns[:CHECK_ANNOTATIONS_PER_REQUEST]}
    payload: dict[str, Any] = {
        "name": settings.check_name, "head_sha": head_sha, "status": "completed",
        "conclusion": check_conclusion(verdict, settings.fail_on_warn),
        "completed_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "external_id": ctx.get("GITHUB_RUN_ID"), "output": output,
    }
    if ctx.run_url:
        payload["details_url"] = ctx.run_url
    run = client.create_check_run(payload)
    # The Checks API takes 50 annotations a request; later updates append the rest.
    for start in range(CHECK_ANNOTATIONS_PER_REQUEST, len(anns), CHECK_ANNOTATIONS_PER_REQUEST):
        client.update_check_run(int(run["id"]), {"output": {
            "title": output["title"], "summary": output["summary"],
            "annotations": anns[start:start + CHECK_ANNOTATIONS_PER_REQUEST]}})
    url = str(run.get("html_url", ""))
    outcome.outputs["check-run-url"] = url
    outcome.notes.append(f"Created the {link('check run', url)} {code(settings.check_name)}: "
                         f"{payload['conclusion']}.")


# -- what the API failures mean ------------------------------------------------------------


def explain_failure(what: str, exc: GitHubError, pr: PullRequest | None) -> str:
    if exc.kind == "forbidden":
        needs = "`checks: write`" if what == "check run" else "`pull-requests: write`"
        text = f"the token is read-only (fork pull request?) or lacks {needs}: no {what} posted."
        if pr is not None and pr.fork:
            text += (" The summary and annotations carry the verdict; for comments on fork pull requests use the "
                     "workflow_run pattern of evalloop's docs/github-action.md.")
        return f"{text} ({exc})"
    if exc.kind == "rate_limited":
        return f"GitHub's rate limit held after retries: no {what} posted. ({exc})"
    if exc.kind in ("server", "network"):
        return f"GitHub did not answer after retries: no {what} posted. ({exc})"
    if exc.kind == "not_found":
        return f"GitHub answered 404 (wrong repository or pull request, or no access): no {what} posted. ({exc})"
    return f"no {what} posted: {exc}"


# -- publishing ------------------------------------------------------------------------------


def publish(ctx: ActionsContext, report: GateReport | GateFailure, settings: Settings,
            write: Callable[[str], object]) -> Outcome:
    """Log, annotate, summarise, post and set the step outputs; what could not be posted is in
    the returned outcome's warnings (already written to the log and the summary)."""
    report_dir = settings.report_path.parent
    verdict = report.verdict if isinstance(report, GateReport) else "error"
    in_pr_run = ctx.event_name != "workflow_run"
    pr = pull_request(ctx, report_dir)
    if pr is not None and in_pr_run:
        write_pull_request_file(report_dir, pr)
    outcome = Outcome(outputs={
        "verdict": verdict,
        "selected": str(report.counts.selected) if isinstance(report, GateReport) else "0",
        "failed": str(failed_count(report)) if isinstance(report, GateReport) else "0",
        "report-path": str(settings.report_path.resolve()),
        "report-dir": str(report_dir.resolve()),
    })

    # The log: the headline is ours; fixture ids, messages and the gate's own output are not,
    # so they go between stop-commands markers.
    reason = verdict_reason(report) if isinstance(report, GateReport) else ""
    write(f"evalloop gate verdict: {verdict}" + (f" ({reason})" if reason else ""))
    _log_details(report, write)

    # Annotations belong to the pull request's own run; a workflow_run job is attached to the
    # default branch, where they would land on the wrong commit (its check run carries them).
    if in_pr_run:
        if isinstance(report, GateReport):
            for a in annotate.choose(report, Path.cwd()):
                write(a.command())
        else:
            write(ghactions.command("error", _first_lines(report.message), {"title": "evalloop gate could not run"}))

    summary_md = _summary_markdown(report, _links(ctx))
    summary_path = ctx.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        room = ghactions.summary_room(Path(summary_path)) - truncate.SUMMARY_NOTE_ROOM
        ghactions.append_summary(summary_path, truncate.truncate_markdown(
            summary_md, max(room, 0), where="GitHub's 1 MiB job summary limit",
            full_report=f"The whole report is `{settings.report_path.name}` (step output `report-path`)."))

    token = ctx.get("GITHUB_TOKEN")
    wants_api = (settings.comment and pr is not None) or settings.check_run
    if wants_api and not token:
        outcome.warnings.append("no token (the action's token input is empty): nothing posted to the pull request")
    elif wants_api:
        _post(ctx, pr, report, verdict, summary_md, settings, outcome, token)
    if settings.comment and pr is None:
        outcome.notes.append(f"No pull request in this {code(ctx.event_name or 'unknown')} event: no comment posted.")

    for warning in outcome.warnings:
        write(ghactions.command("warning", warning, {"title": "evalloop publish"}))
    if summary_path and (outcome.notes or outcome.warnings):
        # Notes are markdown built from md()/link() pieces; warnings quote GitHub's answers whole.
        lines = ["", "### Publishing", ""] + [f"- {n}" for n in outcome.notes] + \
                [f"- ⚠️ {md_code(w)}" for w in outcome.warnings]
        ghactions.append_summary(summary_path, "\n".join(lines))
    ghactions.write_outputs(ctx.get("GITHUB_OUTPUT"), outcome.outputs)
    return outcome


def _post(ctx: ActionsContext, pr: PullRequest | None, report: GateReport | GateFailure, verdict: str,
          summary_md: str, settings: Settings, outcome: Outcome, token: str) -> None:
    repository = ctx.get("GITHUB_REPOSITORY")
    try:
        client = GitHubClient(ctx.get("GITHUB_API_URL", "https://api.github.com"), token, repository,
                              policy=RetryPolicy.from_env(dict(ctx.env)))
    except ValueError as exc:
        outcome.warnings.append(f"cannot reach the GitHub API: {exc}")
        return
    with client:
        if settings.comment and pr is not None:
            try:
                post_comment(client, ctx, pr, _comment_markdown(report, _links(ctx)), settings.comment_author,
                             outcome)
            except GitHubError as exc:
                outcome.warnings.append(explain_failure("comment", exc, pr))
            except (ValueError, KeyError, TypeError) as exc:  # a body not of the documented shape
                outcome.warnings.append(f"unexpected answer from GitHub: no comment posted ({exc!r})")
        if settings.check_run:
            head_sha = pr.head_sha if pr is not None else ctx.get("GITHUB_SHA")
            if not _SHA.fullmatch(head_sha or ""):
                outcome.warnings.append("no commit to attach a check run to: no check run posted")
                return
            try:
                post_check_run(client, ctx, head_sha, report, summary_md, verdict, settings, outcome)
            except GitHubError as exc:
                outcome.warnings.append(explain_failure("check run", exc, pr))
            except (ValueError, KeyError, TypeError) as exc:
                outcome.warnings.append(f"unexpected answer from GitHub: no check run posted ({exc!r})")


def _first_lines(text: str, n: int = 6) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[-n:]) or text


def _links(ctx: ActionsContext) -> RepoLinks | None:
    """Where the repository is, for links to fixtures and incident records (none when unknown)."""
    return RepoLinks.of(ctx.server_url, ctx.get("GITHUB_REPOSITORY"))


def _summary_markdown(report: GateReport | GateFailure, links: RepoLinks | None) -> str:
    if isinstance(report, GateFailure):
        return failure_markdown(report)
    # The summary has room for more detail than a comment: render again with its budget.
    return render_markdown(report, limit=truncate.JOB_SUMMARY_LIMIT - truncate.SUMMARY_NOTE_ROOM, links=links)


def _comment_markdown(report: GateReport | GateFailure, links: RepoLinks | None) -> str:
    """The comment, rendered from the JSON report, never taken from a markdown file.

    The gate's report.md (`evalloop publish --markdown`) is not posted: the step that wrote it
    ran the pull request's code, and in the workflow_run pattern it is a fork's artifact.
    Posted as it is, it could say PASS, mention anyone or carry our marker. The JSON report
    is validated and rendered here with every value escaped, protection changes first."""
    if isinstance(report, GateFailure):
        return failure_markdown(report)
    return render_markdown(report, links=links)


def _log_details(report: GateReport | GateFailure, write: Callable[[str], object]) -> None:
    with ghactions.stop_commands(write):
        if isinstance(report, GateFailure):
            write(clean(report.message))
            return
        for p in report.protection_changes:
            status = f"approved: {p.approval or 'yes'}" if p.approved else \
                f"NEEDS APPROVAL by {p.owner or 'the fixture owner (none on base)'}"
            write(clean(f"PROTECTION CHANGE {p.id} [{p.kind}] {p.base_path}: {p.detail}; {status}"))
        c = report.counts
        write(f"{c.selected} selected, {c.passed} passed, {c.blocking_failures} blocking failure(s), "
              f"{c.warnings} warning(s), {c.flaky} flaky, {c.errored} error(s)")
        for r in report.results:
            if r.status == "pass":
                continue
            write(clean(f"{r.status.upper():7} {r.id} [{r.severity}]" + (f" {r.path}" if r.path else "")))
            if r.error:
                write(clean(f"    error: {r.error}"))
            for f in r.failures:
                write(clean(f"    - {f.kind}: {f.message}"))
        for note in report.notes:
            write(clean(f"note: {note}"))

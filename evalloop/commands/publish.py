"""`evalloop publish`: put the gate's verdict where the pull request shows it.

Run by the Action after `evalloop gate`. The work is evalloop.github.publish (job
summary, annotations, step outputs, the sticky comment, the check run); this command
reads the gate's report and decides the exit status from its verdict alone: a GitHub
API that refuses or fails never changes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from evalloop.github import publish as publishing
from evalloop.github.context import ActionsContext

DEFAULT_AUTHOR = "github-actions[bot]"  # who GITHUB_TOKEN comments as


@dataclass
class Options:
    report: Path
    # Accepted, never posted: the comment is rendered from the validated JSON report
    # (evalloop.github.publish explains why).
    markdown: Path | None = None
    gate_exit_code: int | None = None
    gate_log: Path | None = None
    comment: bool = True
    check_run: bool = False
    fail_on_warn: bool = False
    comment_author: str = DEFAULT_AUTHOR
    check_name: str = "evalloop"


def exit_status(verdict: str, fail_on_warn: bool) -> int:
    if verdict == "block":
        return 1
    if verdict == "warn":
        return 1 if fail_on_warn else 0
    return 0 if verdict == "pass" else 2


def publish(opts: Options, env: Mapping[str, str] | None = None,
            write: Callable[[str], object] = click.echo) -> int:
    ctx = ActionsContext.from_env(dict(os.environ) if env is None else env)
    report = publishing.load_report(opts.report, opts.gate_exit_code, opts.gate_log)
    publishing.publish(ctx, report, publishing.Settings(
        report_path=opts.report, comment=opts.comment, check_run=opts.check_run, fail_on_warn=opts.fail_on_warn,
        comment_author=opts.comment_author, check_name=opts.check_name), write)
    if isinstance(report, publishing.GateFailure):
        return 2
    return exit_status(report.verdict, opts.fail_on_warn)

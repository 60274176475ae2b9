"""`shadow`: a candidate revision and a baseline on the same inputs, compared run by run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalloop.cli.gates import JOBS_DEFAULT, JOBS_HELP, SELECT_HELP
from evalloop.main import cli


@cli.command("shadow")
@click.option("--baseline", required=True, metavar="REV",
              help="The revision to compare against (what runs in production now), e.g. origin/main.")
@click.option("--candidate", default=None, metavar="REV",
              help="The revision to try. Default: the work tree as it is, uncommitted changes included "
              "(what `evalloop run` runs).")
@click.option("--select", "select", multiple=True, metavar="EXPR",
              help=SELECT_HELP + " Default: every fixture of the candidate.")
@click.option("--inputs", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help='Captured production inputs instead of the fixtures: JSON Lines of {"id": ..., "input": '
              '{...}, "context": {...}}. No expectations, so no verdicts: only the differences.')
@click.option("--runs", type=click.IntRange(min=1, max=100), default=None, metavar="K",
              help="Run each input K times on each side and pair run n with run n. Default: each "
              "fixture's own `runs:` (a captured input: 1).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help="Write the report in --format to FILE (stdout then gets nothing).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=JOBS_DEFAULT, show_default=True, help=JOBS_HELP)
def shadow_command(baseline: str, candidate: str | None, select: tuple[str, ...], inputs: Path | None,
                   runs: int | None, fmt: str, output: Path | None, jobs: int) -> None:
    """Shadow mode: run the candidate's and the baseline's artifacts (prompts, policies, model
    routes, workflows, the agent) on the same inputs through the harness, and compare each pair of
    runs: tool selection (the tool calls in order, added, removed, where they first diverge),
    policy denials, cost and latency, final status, stop reason and route, and for fixtures
    whether the verdict flips. The inputs are the candidate's fixtures (narrowed by --select) or
    captured production inputs (--inputs); the baseline runs in a temporary worktree.

    A pair regresses when a side could not run or be judged (fail closed), a blocking fixture
    passes on the baseline and fails on the candidate, the candidate is denied by a policy the
    baseline was not, or a blocking fixture fails on both sides and its tool calls changed.
    Cost, latency and outcome changes are reported, never decide. See docs/shadow.md.

    Exit 0 when no pair regresses, 1 when any pair regresses, 2 usage.

    \b
    Examples:
      evalloop shadow --baseline origin/main                 # the work tree against main
      evalloop shadow --baseline v1.4 --candidate HEAD --select 'route:refund_assist'
      evalloop shadow --baseline origin/main --inputs captured.jsonl --runs 3
      evalloop shadow --baseline origin/main --format markdown --output shadow.md"""
    from evalloop.commands import shadow as cmd

    sys.exit(cmd.shadow(baseline=baseline, candidate=candidate, select=select, inputs=inputs, runs=runs,
                        fmt=fmt, output=output, jobs=jobs))

"""`readiness`: is the feedback loop ready for production?"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop.main import _DATE, cli


@cli.command("readiness")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the report here instead of stdout.")
@click.option("--fail-on-gap", is_flag=True, help="Exit 1 when any question has a gap (for CI).")
@click.option("--today", type=_DATE, default=None, help="Date to judge expiry against (YYYY-MM-DD).")
def readiness_command(fmt: str, output: Path | None, fail_on_gap: bool, today: dt.datetime | None) -> None:
    """Answer the seed's Feedback Loop Readiness Questions and Design Checklist from this
    repository: which signals become evals (triage rules), who owns the loop (evalloop.yaml
    `loop:`), what blocks release (blocking fixtures with owner and reason), what expires, how
    recurrence is measured (incident links, gate and release ledgers), how rollback connects
    (canary.yaml targets and known-good versions), whether tools can be mocked and runs replayed.
    Each answer comes with its evidence, and a gap where the repository cannot answer.

    Exit 0; 1 with --fail-on-gap when there is a gap.

    \b
    Examples:
      evalloop readiness
      evalloop readiness --format markdown --output readiness.md
      evalloop readiness --fail-on-gap          # in CI"""
    from evalloop.commands import readiness as cmd

    sys.exit(cmd.readiness(fmt=fmt, output=output, fail_on_gap=fail_on_gap,
                           today=today.date() if today else None))

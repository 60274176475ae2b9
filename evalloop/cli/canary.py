"""`canary`: the release decision on production traces."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop.main import cli

_TRACES = click.Path(path_type=Path, exists=False)


@cli.command("canary")
@click.option("--baseline", "baseline", multiple=True, required=True, type=_TRACES, metavar="PATH",
              help="Production traces of the baseline (files or folders, any trace format), or one metric "
              "summary. Repeat for more.")
@click.option("--candidate", "candidate", multiple=True, required=True, type=_TRACES, metavar="PATH",
              help="Production traces of the candidate, or one metric summary.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("canary.yaml"), show_default=True, help="The canary definition.")
@click.option("--step", type=click.IntRange(min=1), default=1, show_default=True,
              help="The traffic step being decided (1 = the first in canary.yaml).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the report here instead of stdout.")
@click.option("--record", is_flag=True,
              help="Append the decision and its evidence to the release ledger (releases/<env>.jsonl).")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="The time the step is judged at (ISO 8601, UTC when no offset), for reproducible runs.")
def canary_command(baseline: tuple[Path, ...], candidate: tuple[Path, ...], config_path: Path, step: int,
                   fmt: str, output: Path | None, record: bool, now: dt.datetime | None) -> None:
    """Decide whether the candidate in canary.yaml is promoted, held or rolled back, from production
    traces of both versions.

    Every invariant is judged on every candidate run it applies to: one violation rolls back at
    once (statistics cannot clear a rare safety event at canary sample sizes). Each metric is
    compared with an exact test (rates) or Mann-Whitney U (cost, latency) and shown with both
    values, the change, its 95% interval, p and the smallest change the sample could detect. A
    metric past its critical change rolls back; past its allowed change, too few samples, missing
    data or a sample too small to tell holds; otherwise the step is promoted. A frozen artifact
    (after a rollback) is never promoted automatically. docs/canary.md has the whole rule.

    Exit 0 promote, 1 rollback, 3 hold, 2 unusable input. (An internal error exits 3 as well,
    with one line on stderr: like a hold, it never promotes.)

    \b
    Examples:
      evalloop canary --baseline traces/v41/ --candidate traces/v42/
      evalloop canary --baseline base.jsonl --candidate cand.jsonl --step 2 --record
      evalloop canary --config deploy/canary.yaml --baseline b.json --candidate c.json --format markdown"""
    from evalloop.commands import canary as cmd

    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    sys.exit(cmd.canary(baseline=list(baseline), candidate=list(candidate), config_path=config_path, step=step,
                        fmt=fmt, output=output, record=record, now=now))

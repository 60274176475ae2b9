"""`metrics`: the loop measuring itself."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop.main import _DATE, cli


@cli.command("metrics")
@click.option("--since", type=_DATE, default=None,
              help="First day of the window (YYYY-MM-DD; default: metrics.window_days before --until).")
@click.option("--until", type=_DATE, default=None, help="Last day of the window (YYYY-MM-DD; default: today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]), default="text",
              show_default=True, help="html: the dashboard, one self-contained page with the trends as charts.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help="Write the report in --format to FILE instead of stdout.")
@click.option("--traces", "traces", multiple=True, type=click.Path(path_type=Path), metavar="PATH",
              help="A sample of production traces (a file or a folder of them, any format `evalloop check` "
              "reads), for trace coverage and policy-denial accuracy. Repeatable; adds to metrics.traces.")
@click.option("--signals", "signals", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE", help="Production signals files, instead of the metrics.signals globs. Repeatable.")
@click.option("--gate-reports", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR",
              help="A folder of the gate's JSON reports (the Action's uploaded artifacts), read as gate ledger "
              "lines besides metrics.gate_ledger.")
@click.option("--github", "github", default=None, metavar="OWNER/REPO",
              help="Also read the gate's JSON reports from the repository's Actions artifacts through the REST "
              "API (token: GITHUB_TOKEN with actions: read; API: GITHUB_API_URL, default api.github.com).")
@click.option("--github-artifact", "github_artifacts", multiple=True, metavar="NAME",
              help="The artifact name to read with --github (default: evalloop-report). Repeatable, e.g. one "
              "per shard.")
@click.option("--branch", default=None, metavar="REV",
              help="The main line whose first-parent history is read (default: metrics.branch, HEAD).")
@click.option("--fail-on", type=click.Choice(["block", "investigate"]), default=None,
              help="Exit 1 when a metric says block or roll back (block), or also investigate (investigate).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
def metrics_command(since: dt.datetime | None, until: dt.datetime | None, fmt: str, output: Path | None,
                    traces: tuple[Path, ...], signals: tuple[Path, ...], gate_reports: Path | None,
                    github: str | None, github_artifacts: tuple[str, ...], branch: str | None,
                    fail_on: str | None, config_path: Path | None) -> None:
    """The loop's health: every metric of the seed (incident-to-eval conversion, eval catch rate,
    recurrence, time to regression test, blocking evals, flaky evals, trace coverage, policy-denial
    accuracy, human overrides, rollbacks, time to detect) over the window, each with its status
    against the dashboard thresholds (ok, investigate, block or roll back), its owner and action.
    A metric whose data is missing says which, never shows a zero (docs/metrics.md).

    Reads incidents/, the fixtures, the main line's git history, the gate ledger
    (`evalloop gate --record`), releases/*.jsonl, production signals and a trace sample. In
    GitHub the gate's results are also read from the uploaded report artifacts (--gate-reports
    for a downloaded folder, --github to read them through the REST API). An artifact that is
    not a readable gate report stops the command with its id (exit 2): the data would be incomplete.

    Exit 0; with --fail-on, 1 when a metric reaches that status; 2 on unusable input.

    \b
    Examples:
      evalloop metrics
      evalloop metrics --since 2026-04-01 --format markdown
      evalloop metrics --traces traces/sample/ --format html --output loop-health.html
      gh run download -n evalloop-report -D reports/ && evalloop metrics --gate-reports reports/
      GITHUB_TOKEN=$(gh auth token) evalloop metrics --github octo-org/agent --format json
      evalloop metrics --fail-on block              # a CI job that fails on a red metric"""
    from evalloop.commands import metrics as cmd

    sys.exit(cmd.metrics(since=since.date() if since else None, until=until.date() if until else None, fmt=fmt,
                         output=output, config_path=config_path, traces=list(traces), signals=list(signals),
                         gate_reports=gate_reports, branch=branch, fail_on=fail_on, github=github,
                         github_artifacts=list(github_artifacts)))

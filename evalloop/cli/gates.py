"""`check`, `gate`, `merge`, `publish` and `run`: judging runs and gating changes."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evalloop.main import _DATE, cli

F = TypeVar("F", bound=Callable[..., Any])


def _run_display(command: F) -> F:
    """--verbose, --save-runs and --color: what `run` and `gate` show of the runs, the same on both."""
    command = click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                           show_default=True, help="Colour and, on a terminal, a live display of the fixtures "
                           "as they finish; auto honours NO_COLOR.")(command)
    command = click.option("--save-runs", "save_runs", type=click.Path(path_type=Path, file_okay=False),
                           default=None, metavar="DIR", help="Write each run as evalloop run JSON to "
                           "DIR/<fixture-id>.run<N>.json, for `evalloop check FIXTURE FILE`.")(command)
    return click.option("--verbose", "-v", is_flag=True, help="Also print each run's trajectory: spans in order "
                        "with their arguments and status, the output, time, tokens and cost.")(command)


@cli.command()
@click.argument("fixture", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("trace", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--run", "run_id", default=None,
              help="Judge only this run (run or trace id, or #N); without it every run is judged.")
@click.option("--trace-format",
              type=click.Choice(["native", "otlp", "openinference", "jaeger", "any_agent", "langfuse", "aws", "spans"]),
              default=None, help="Force the trace format instead of detecting it.")
def check(fixture: Path, trace: Path, fmt: str, run_id: str | None,
          trace_format: str | None) -> None:
    """Evaluate one recorded run in TRACE against FIXTURE and list every violation
    with its evidence.

    Exit 0 when the run passes, 1 when it fails, 2 on unusable input.

    \b
    Examples:
      evalloop check fixtures/refund.yaml runs/refund.run1.json
      evalloop check fixtures/refund.yaml trace.json --trace-format otlp --run '#2'
      evalloop check fixtures/refund.yaml trace.json --format json"""
    from evalloop.commands import check as cmd

    sys.exit(cmd.check(fixture, trace, fmt=fmt, run_id=run_id, trace_format=trace_format))


_FORMATS = click.Choice(["text", "json", "markdown", "junit"])

# The options `evalloop run` and `evalloop gate` share mean the same on both, with the same words.
FAIL_ON_WARN_HELP = "Exit 1 on a warn verdict as well as on block."
JOBS_DEFAULT = 4
JOBS_HELP = "Fixtures run at a time; results keep file order whatever the number."
OUTPUT_HELP = "Write the report in --format to FILE."
SELECT_HELP = ("Fixtures to run: ids, id globs, severity:S, owner:O, gate:KIND, route:R, incident:ID, path:GLOB, "
               "combined with and/or/not and parentheses. Repeat for 'any of'.")


@cli.command()
@click.option("--base", required=True, help="Base revision (the pull request's target), e.g. origin/main.")
@click.option("--head", default="HEAD", show_default=True, help="Head revision (the change).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help=OUTPUT_HELP + " Stdout then gets no report (only --verbose's trajectories).")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the JSON report here (what `evalloop merge` and the Action read).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=JOBS_DEFAULT, show_default=True, help=JOBS_HELP)
@click.option("--shard", "shard_spec", default=None, metavar="I/N",
              help="Run only the I-th of N deterministic, balanced shares of the selection.")
@click.option("--explain", "explain_id", default=None, metavar="ID",
              help="Say why fixture ID is or is not selected, and stop.")
@click.option("--select", "select", multiple=True, metavar="EXPR",
              help=SELECT_HELP + " Narrows what the change selects; a match the change does not select is "
              "reported, not run.")
@click.option("--select-only", is_flag=True, help="Report the selection without running anything.")
@click.option("--fail-on-warn", is_flag=True, help=FAIL_ON_WARN_HELP)
@click.option("--record", "record", is_flag=False, flag_value="", default=None, metavar="[FILE]",
              help="Append the result as one line to the gate ledger `evalloop metrics` reads: FILE, or "
              "metrics.gate_ledger of evalloop.yaml (ledgers/gates.jsonl). Not with --select-only.")
@click.option("--today", type=_DATE, default=None, help="Date for quarantine expiry (YYYY-MM-DD).")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="A label of the pull request (repeatable). Also read: EVALLOOP_PR_LABELS (one per line) and, in "
              "GitHub Actions, the pull_request event's labels. A label listed in the base config's "
              "protection.approval_labels approves the protection changes.")
@_run_display
def gate(base: str, head: str, config_path: Path | None, fmt: str, output: Path | None, json_path: Path | None,
         jobs: int, shard_spec: str | None, explain_id: str | None, select: tuple[str, ...], select_only: bool,
         fail_on_warn: bool, record: str | None, today: dt.datetime | None, labels: tuple[str, ...], verbose: bool,
         save_runs: Path | None, color: str) -> None:
    """The release gate: diff BASE...HEAD (from their merge-base, as a pull request does), classify
    each changed artifact, select the fixtures that protect the behaviours it can affect, run them
    through the agent harness and decide.

    A fixture that blocks on the merge-base and that the change deletes, moves out of the fixture globs,
    downgrades, narrows or quarantines is a protection change: it blocks until its owner approves it
    (docs/protection.md), and its base version runs against head's agent.

    Verdict: block if a blocking fixture fails, errors, is flaky (unless quarantined) or has no run;
    warn if a warning fixture fails; pass otherwise. Exit 0 pass/warn, 1 block (and warn with --fail-on-warn),
    2 usage.

    \b
    Examples:
      evalloop gate --base origin/main                  # the pull request's gate
      evalloop gate --base origin/main --select-only    # what would run, and why
      evalloop gate --base origin/main --select severity:blocking --fail-on-warn
      evalloop gate --base origin/main --explain refund-approval-bypass-regression
      evalloop gate --base origin/main --verbose        # and what the agent did, span by span
      evalloop gate --base origin/main --save-runs runs/ && \\
        evalloop check fixtures/refund.yaml runs/refund.run1.json
      evalloop gate --base origin/main --shard 1/4 --json shard1.json
      evalloop gate --base origin/main --record         # and add it to ledgers/gates.jsonl"""
    from evalloop.commands import gate as cmd

    sys.exit(cmd.gate(base=base, head=head, config_path=config_path, fmt=fmt, output=output,
                      json_path=json_path, jobs=jobs, shard_spec=shard_spec, explain_id=explain_id,
                      select=select, select_only=select_only, fail_on_warn=fail_on_warn,
                      today=today.date() if today else None,
                      labels=list(labels), verbose=verbose, save_runs=save_runs, color=color,
                      record=record))


@cli.command()
@click.argument("reports", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=None)
def merge(reports: tuple[Path, ...], fmt: str, output: Path | None, json_path: Path | None) -> None:
    """Combine the JSON reports of `evalloop gate --shard I/N` runs into one report and verdict.
    A missing shard, or a selected fixture no shard ran, blocks. Exit 0 pass/warn, 1 block, 2 usage.

    \b
    Examples:
      evalloop merge shard1.json shard2.json shard3.json shard4.json
      evalloop merge shard*.json --format markdown --output report.md --json report.json"""
    from evalloop.commands import merge as cmd

    sys.exit(cmd.merge(list(reports), fmt=fmt, output=output, json_path=json_path))


@cli.command()
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The gate's JSON report (`evalloop gate --json FILE`).")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ignored (kept for old workflows): the comment is always rendered from the validated "
              "--report, since a markdown file written beside the pull request's code could say anything.")
@click.option("--gate-exit-code", type=int, default=None,
              help="How `evalloop gate` exited; 2 or a missing report publishes 'could not run'.")
@click.option("--gate-log", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The gate's output, quoted when it could not run.")
@click.option("--comment/--no-comment", default=True, show_default=True, envvar="EVALLOOP_COMMENT",
              help="Create or update the sticky pull request comment.")
@click.option("--check-run/--no-check-run", default=False, show_default=True, envvar="EVALLOOP_CHECK_RUN",
              help="Also create a check run on the head commit (needs `checks: write`).")
@click.option("--fail-on-warn/--no-fail-on-warn", default=False, show_default=True, envvar="EVALLOOP_FAIL_ON_WARN",
              help="Exit 1 on warn as well as on block.")
@click.option("--comment-author", default="github-actions[bot]", show_default=True,
              envvar="EVALLOOP_COMMENT_AUTHOR",
              help="Login the token comments as; only its comments with the marker are updated.")
@click.option("--check-name", default="evalloop", show_default=True, envvar="EVALLOOP_CHECK_NAME")
def publish(report_path: Path, markdown_path: Path | None, gate_exit_code: int | None, gate_log: Path | None,
            comment: bool, check_run: bool, fail_on_warn: bool, comment_author: str, check_name: str) -> None:
    """Publish a gate report in a GitHub Actions job: job summary, annotations, step outputs
    (verdict, selected, failed, report-path), one sticky pull request comment and optionally a
    check run, from the GITHUB_* environment. API failures are reported, never change the verdict.

    Exit 0 pass (and warn unless --fail-on-warn), 1 block, 2 when the gate produced no report.

    \b
    Examples:
      evalloop publish --report report.json --gate-exit-code "$code"
      evalloop publish --report report.json --check-run --fail-on-warn"""
    from evalloop.commands import publish as cmd

    sys.exit(cmd.publish(cmd.Options(
        report=report_path, markdown=markdown_path, gate_exit_code=gate_exit_code, gate_log=gate_log,
        comment=comment, check_run=check_run, fail_on_warn=fail_on_warn,
        comment_author=comment_author.strip() or cmd.DEFAULT_AUTHOR, check_name=check_name.strip() or "evalloop")))


@cli.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATH]...")
@click.option("--select", "select", multiple=True, metavar="EXPR", help=SELECT_HELP)
@click.option("--explain", "explain_id", default=None, metavar="ID",
              help="Say why fixture ID is or is not chosen by the PATHs and --select, and stop.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=JOBS_DEFAULT, show_default=True, help=JOBS_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="FILE",
              help=OUTPUT_HELP + " Stdout still gets the table.")
@click.option("--fail-on-warn", is_flag=True, help=FAIL_ON_WARN_HELP)
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
@_run_display
def run_command(paths: tuple[Path, ...], select: tuple[str, ...], explain_id: str | None, jobs: int, fmt: str,
                output: Path | None, fail_on_warn: bool,
                config_path: Path | None, verbose: bool, save_runs: Path | None, color: str) -> None:
    """Run fixtures through the agent adapter (evalloop.yaml `agent:`) against the mocked
    toolbox, judge each trajectory and print the verdict: block, warn or pass.

    Every fixture runs, or those PATH names: fixture files or folders of them (each must be a
    fixture by the config's `fixtures:` globs); --select then narrows them.

    Exit 0 on pass or warn, 1 on block (and on warn with --fail-on-warn), 2 on usage errors.

    \b
    Examples:
      evalloop run                                   # every fixture, four runs at a time
      evalloop run -j 1 --select severity:blocking   # the blocking ones, one at a time
      evalloop run --select 'refund-* and not incident:*' --verbose
      evalloop run --select severity:warning --explain shipping-status-lookup
      evalloop run fixtures/refund/ fixtures/shipping.yaml --select severity:blocking
      evalloop run --save-runs runs/ && \\
        evalloop check fixtures/refund.yaml runs/refund.run1.json
      evalloop run --format junit --output report.xml"""
    from evalloop.commands import run as cmd

    sys.exit(cmd.run(paths=paths, select=select, explain_id=explain_id, jobs=jobs, fmt=fmt, output=output,
                     fail_on_warn=fail_on_warn, config_path=config_path, verbose=verbose,
                     save_runs=save_runs, color=color))

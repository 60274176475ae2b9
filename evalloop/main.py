"""The command line: parses arguments and hands them to `evalloop.commands.*`."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import sys
import tempfile
from pathlib import Path

import click

from evalloop import __version__
from evalloop.errors import EvalloopError, escape_controls

INTERNAL_ERROR = 3  # 0 pass, 1 block or findings, 2 usage: 3 says "evalloop itself failed"

EPILOG = ("Exit codes: 0 pass, 1 block (or findings), 2 usage or config error, 3 internal error "
          "(one line on stderr; the traceback goes to $XDG_CACHE_HOME/evalloop/evalloop.log).")


class _Group(click.Group):
    """Turns every EvalloopError into a one-line message and its exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except EvalloopError as exc:
            click.echo(f"evalloop: error: {escape_controls(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own usage errors and exits keep their codes
        except KeyboardInterrupt:
            click.echo("evalloop: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # the reader went away (`evalloop validate | head`): not a crash, and Python would
            # complain again flushing stdout at exit, so point it at nothing first
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except Exception as exc:
            # A bug, not the user's input: a CI log gets one line it can show, and the traceback
            # goes to a file (as pre-commit does) for the bug report.
            import traceback  # here, not at start-up: every run of the pre-commit hook pays for imports

            where = _write_crash_log(traceback.format_exc())
            what = escape_controls(f"{type(exc).__name__}: {exc}")
            if len(what) > 500:
                what = what[:497] + "..."
            click.echo(f"evalloop: internal error: {what} ({where})", err=True)
            ctx.exit(INTERNAL_ERROR)


def crash_log_path() -> Path:
    """$XDG_CACHE_HOME/evalloop/evalloop.log, or ~/.cache/evalloop/evalloop.log."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # a relative XDG_CACHE_HOME is ignored, as the XDG base-directory rules say
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
    return base / "evalloop" / "evalloop.log"


def _write_crash_log(trace: str) -> str:
    """Write the traceback; returns how to find it for the one-line message."""
    import platform

    text = (f"evalloop {__version__} (Python {platform.python_version()}, {platform.platform()})\n"
            f"command: {' '.join(sys.argv)}\n\n{trace}")
    try:
        path = crash_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        try:  # an unwritable cache (read-only home in CI): a fresh temporary file instead
            fd, name = tempfile.mkstemp(prefix="evalloop-", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            path = Path(name)
        except OSError as exc:
            return f"the traceback could not be written: {exc.strerror or exc}"
    return f"full traceback written to {escape_controls(str(path))}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, prog_name="evalloop")
def cli() -> None:
    """evalloop: production failures of LLM agents become owned, reviewed regression
    fixtures, and every change to the agent is gated on the fixtures it can affect.

    \b
    Examples:
      evalloop init && evalloop validate
      evalloop run --select severity:blocking
      evalloop gate --base origin/main
      evalloop COMMAND --help                 # a command's options and examples
    """


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@cli.command()
@click.option("--example", type=click.Choice(["generic", "refund"]), default="generic", show_default=True,
              help="The example fixture: about no agent in particular, or the refund agent's approval gate.")
def init(example: str) -> None:
    """Scaffold evalloop.yaml, owners.yaml, the artifact folders and one example
    fixture in the current repository (its git root), plus a .pre-commit-config.yaml
    with the evalloop-validate hook and .github/workflows/evalloop.yml with the gate.

    Never overwrites: when evalloop.yaml, owners.yaml or the example exist nothing is
    written (exit 1); an existing pre-commit config or workflow is kept and what to add
    is printed.

    \b
    Examples:
      evalloop init && evalloop validate
      evalloop init --example refund
    """
    from evalloop.commands import init as cmd

    sys.exit(cmd.init(Path.cwd(), example=example))


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="github prints workflow-command annotations.")
@click.option("--today", type=_DATE, default=None,
              help="Date to check expiry against (YYYY-MM-DD), for reproducible runs.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Config file (default: evalloop.yaml at the repository root).")
def validate(files: tuple[Path, ...], fmt: str, today: dt.datetime | None,
             config_path: Path | None) -> None:
    """Check fixtures: syntax, schema, unique ids, known owners, expiry, references and
    redaction. Without FILES, every fixture, incident and config file of the repository.

    Exit 0 when clean (warnings allowed), 1 with findings, 2 on usage or config errors.

    \b
    Examples:
      evalloop validate                            # every fixture, incident and config file
      evalloop validate fixtures/refund.yaml --today 2026-06-01
      evalloop validate --format github            # annotations in a GitHub Actions log"""
    from evalloop.commands import validate as cmd

    sys.exit(cmd.validate(list(files) or None, fmt=fmt,
                          today=today.date() if today else None, config_path=config_path))


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
@click.option("--today", type=_DATE, default=None, help="Date for quarantine expiry (YYYY-MM-DD).")
@click.option("--label", "labels", multiple=True, metavar="NAME",
              help="A label of the pull request (repeatable). Also read: EVALLOOP_PR_LABELS (one per line) and, in "
              "GitHub Actions, the pull_request event's labels. A label listed in the base config's "
              "protection.approval_labels approves the protection changes.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print each run's trajectory: spans in order with their arguments and status, "
              "the output, time, tokens and cost.")
@click.option("--save-runs", "save_runs", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="DIR", help="Write each run as evalloop run JSON to DIR/<fixture-id>.run<N>.json, "
              "for `evalloop check FIXTURE FILE`.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour and, on a terminal, a live display of the fixtures as they finish; auto honours "
              "NO_COLOR.")
def gate(base: str, head: str, config_path: Path | None, fmt: str, output: Path | None, json_path: Path | None,
         jobs: int, shard_spec: str | None, explain_id: str | None, select: tuple[str, ...], select_only: bool,
         fail_on_warn: bool, today: dt.datetime | None, labels: tuple[str, ...], verbose: bool,
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
      evalloop gate --base origin/main --shard 1/4 --json shard1.json"""
    from evalloop.commands import gate as cmd

    sys.exit(cmd.gate(base=base, head=head, config_path=config_path, fmt=fmt, output=output,
                      json_path=json_path, jobs=jobs, shard_spec=shard_spec, explain_id=explain_id,
                      select=select, select_only=select_only, fail_on_warn=fail_on_warn,
                      today=today.date() if today else None,
                      labels=list(labels), verbose=verbose, save_runs=save_runs, color=color))


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
@click.option("--verbose", "-v", is_flag=True,
              help="Also print each run's trajectory: spans in order with their arguments and status, "
              "the output, time, tokens and cost.")
@click.option("--save-runs", "save_runs", type=click.Path(path_type=Path, file_okay=False), default=None,
              metavar="DIR", help="Write each run as evalloop run JSON to DIR/<fixture-id>.run<N>.json, "
              "for `evalloop check FIXTURE FILE`.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour and, on a terminal, a live display of the fixtures as they finish; auto honours "
              "NO_COLOR.")
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


@cli.group("fixtures")
def fixtures_group() -> None:
    """The fixture lifecycle: what the repository holds, what expires, what no longer fits it,
    and the edits that keep it healthy. Edits change only the value they are about.

    \b
    Examples:
      evalloop fixtures expiring --within 30
      evalloop fixtures orphaned --format json
      evalloop fixtures prune --expired --dry-run
      evalloop fixtures transfer support-platform payments
    """


_VIEW_OPTIONS = [
    click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True),
    click.option("--today", type=_DATE, default=None, help="Date to judge expiry against (YYYY-MM-DD)."),
    click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
                 help="Config file (default: evalloop.yaml at the repository root)."),
]


def _view(name: str, summary: str) -> None:
    def command(fmt: str, today: dt.datetime | None, config_path: Path | None, within: int | None = None) -> None:
        from evalloop.commands import fixtures as cmd

        sys.exit(cmd.show(name, fmt=fmt, today=today.date() if today else None, within=within,
                          config_path=config_path))

    command.__doc__ = (f"{summary}\n\n\b\nExamples:\n  evalloop fixtures {name}"
                       f"{' --within 30' if name == 'expiring' else ''}\n"
                       f"  evalloop fixtures {name} --format json --today 2026-06-01\n")
    for option in reversed(_VIEW_OPTIONS):
        command = option(command)
    if name == "expiring":
        command = click.option("--within", type=click.IntRange(min=0), default=None, metavar="DAYS",
                               help="Days ahead (default: expiry_warning_days).")(command)
    fixtures_group.command(name)(command)


_view("list", "Every fixture: id, owner, severity, expiry, path (unreadable ones say why).")
_view("expiring", "Fixtures that expire within --within days (default: the config's expiry_warning_days).")
_view("expired", "Fixtures past their expires_at. Exit 1 when there are any.")
_view("orphaned", "Fixtures that no longer fit the repository: unknown owner, a tool the manifest no longer "
      "lists, a policy version no policy file declares, an incident with no record. Exit 1 when there are any.")


@fixtures_group.command("prune")
@click.option("--expired", "expired_only", is_flag=True, required=True, help="Prune the expired fixtures (required).")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option("--archive", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Move them under this folder (keeping their paths) instead of deleting them.")
@click.option("--today", type=_DATE, default=None, help="Date to judge expiry against (YYYY-MM-DD).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None)
def fixtures_prune(expired_only: bool, dry_run: bool, archive: Path | None, today: dt.datetime | None,
                   config_path: Path | None) -> None:
    """Remove (or --archive) expired fixtures. A blocking fixture removed this way is still a
    protection change the pull request needs its owner to approve.

    \b
    Examples:
      evalloop fixtures prune --expired --dry-run
      evalloop fixtures prune --expired --archive archive/"""
    from evalloop.commands import fixtures as cmd

    sys.exit(cmd.prune(dry_run=dry_run, archive=archive, today=today.date() if today else None,
                       config_path=config_path))


@fixtures_group.command("transfer")
@click.argument("old")
@click.argument("new")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None)
def fixtures_transfer(old: str, new: str, dry_run: bool, config_path: Path | None) -> None:
    """Give every fixture whose file names owner OLD to NEW (a known owner), changing only that value.
    Exit 1 when no fixture names OLD.

    \b
    Examples:
      evalloop fixtures transfer support-platform payments --dry-run
      evalloop fixtures transfer support-platform payments"""
    from evalloop.commands import fixtures as cmd

    sys.exit(cmd.transfer(old, new, dry_run=dry_run, config_path=config_path))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="evalloop", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    finally:
        if argv is None:
            # Run as the program (the console script, `python -m evalloop`): the process ends next,
            # and the collector's last pass over every object at exit (pydantic's schemas and
            # validators, ~25 ms, a tenth of a pre-commit run) would only free what the exit frees.
            gc.freeze()
    return 0


@cli.command("triage")
@click.argument("signals", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--today", type=_DATE, default=None,
              help="Date to check deadlines against (YYYY-MM-DD), for reproducible runs.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
def triage_command(signals: Path, fmt: str, today: dt.datetime | None, config_path: Path | None) -> None:
    """Decide what each production signal in SIGNALS (JSON Lines, or a YAML/JSON list) becomes:
    a blocking, warning or exploratory eval, trace evidence to keep, or a UX/docs fix first; with
    the rule that fired, the owner, the release gates and, for blocking and warning evals, the
    deadline (two business days after the signal). Rules in evalloop.yaml `triage:` come first.

    Exit 0, 1 when a conversion is overdue, 2 on unusable input.

    \b
    Examples:
      evalloop triage signals.jsonl
      evalloop triage signals.yaml --format markdown --today 2026-06-01"""
    from evalloop.commands import triage as cmd

    sys.exit(cmd.triage(signals, fmt=fmt, today=today.date() if today else None, config_path=config_path))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, dir_okay=False), metavar="TRACE")
@click.option("--incident", "incident", metavar="ID",
              help="The incident record (incidents/ID.yaml) it reproduces. [required]")
@click.option("--owner", metavar="O", help="The fixture's owner, one the repository knows. [required]")
@click.option("--severity", type=click.Choice(["blocking", "warning", "exploratory"]), default=None,
              help="Default: defaults.severity of evalloop.yaml.")
@click.option("--run", "run_id", default=None,
              help="The run to draw from, in a file of several (run or trace id, or #N).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write it (default: <fixtures folder>/<id>.yaml). Never overwritten.")
@click.option("--id", "fixture_id", default=None,
              help="The fixture's id (default: the incident's, plus the offending span).")
@click.option("--forbid", multiple=True, metavar="SPAN",
              help="Also forbid this span (type:name), when the trace's own marks do not show the failure.")
@click.option("--require", multiple=True, metavar="SPAN", help="Also require this span (type:name).")
@click.option("--trace-format",
              type=click.Choice(["native", "otlp", "openinference", "jaeger", "any_agent", "langfuse", "aws", "spans"]),
              default=None, help="Force the trace format instead of detecting it.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
@click.option("--scan", is_flag=True,
              help="Instead: scan the FILES given (traces, captured material) for unredacted data (the "
              "evalloop-redaction hook).")
def capture(paths: tuple[Path, ...], incident: str | None, owner: str | None, severity: str | None,
            run_id: str | None, out: Path | None, fixture_id: str | None, forbid: tuple[str, ...],
            require: tuple[str, ...], trace_format: str | None, config_path: Path | None, scan: bool) -> None:
    """Draft the minimal fixture of an incident from a recorded TRACE (any format `evalloop check`
    reads): the redacted user input, the tool outputs the agent saw, the observed trajectory as
    comments, and expectations for review: the side effect or customer message that ran without
    approval forbidden, the missing approval required, the stop reason to expect. Personal data
    and credentials become placeholders (<EMAIL_1>...), the same everywhere; the mapping goes to
    stderr, never to a file. The fixture is validated and replayed against the run: it must fail.

    Exit 0 when it fails on the run (it catches the incident), 1 when it passes, does not validate
    or the file exists, 2 on unusable input. `--scan FILES`: exit 1 on unredacted data.

    \b
    Examples:
      evalloop capture trace.json --incident INC-2026-04-18-001 --owner support-platform
      evalloop capture trace.json --incident INC-2026-04-18-001 --owner support-platform \\
        --run '#2' --forbid tool:send_customer_email
      evalloop capture --scan traces/*.json"""
    from evalloop.commands import capture as cmd

    if scan:
        sys.exit(cmd.scan(list(paths)))
    if len(paths) != 1:
        raise click.UsageError("give one TRACE (or --scan FILES)")
    if not incident or not owner:
        raise click.UsageError("--incident and --owner are required")
    sys.exit(cmd.capture(paths[0], incident=incident, owner=owner, severity=severity, run_id=run_id, out=out,
                         fixture_id=fixture_id, forbid=forbid, require=require, trace_format=trace_format,
                         config_path=config_path))


@cli.group()
def incident() -> None:
    """Incident records (incidents/ID.yaml): what happened in production.

    \b
    Examples:
      evalloop incident new INC-2026-04-18-001 --severity sev2 --signal money_movement \\
        --owner support-platform --summary 'Refund promised before approval.'
    """


@incident.command("new")
@click.argument("incident_id", metavar="ID")
@click.option("--severity", required=True, help="sev1..sev4, or blocking / warning / exploratory.")
@click.option("--signal", required=True, metavar="K",
              help="safety, privacy, money_movement, authorization, side_effect, human_correction, policy_override, "
              "cost_outlier, latency_outlier, tool_error_recovered, near_miss, user_confusion or regression.")
@click.option("--owner", required=True, metavar="O", help="A known owner.")
@click.option("--summary", required=True, metavar="TEXT", help="What happened, in a sentence or two.")
@click.option("--opened-at", default=None, metavar="T", help="YYYY-MM-DD or an ISO 8601 time (default: now, UTC).")
@click.option("--link", "links", multiple=True, metavar="URL", help="Postmortem, ticket or trace (repeatable).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Config file (default: evalloop.yaml at the repository root).")
def incident_new(incident_id: str, severity: str, signal: str, owner: str, summary: str, opened_at: str | None,
                 links: tuple[str, ...], config_path: Path | None) -> None:
    """Write the record of incident ID to the config's incidents_dir, ready for `evalloop validate`
    and for the fixtures `evalloop capture` draws from it. Never overwrites (exit 1).

    \b
    Examples:
      evalloop incident new INC-2026-04-18-001 --severity sev2 --signal money_movement \\
        --owner support-platform --summary 'Refund promised before approval.' \\
        --link https://example.com/postmortems/42"""
    from evalloop.commands import incident as cmd

    sys.exit(cmd.new(incident_id, severity=severity, signal=signal, owner=owner, summary=summary,
                     opened_at=opened_at, links=links, config_path=config_path))

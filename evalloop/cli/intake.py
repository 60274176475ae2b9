"""`triage`, `capture` and `incident`: production intake."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop.main import _DATE, cli


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

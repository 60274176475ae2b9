"""The command line: parses arguments and hands them to `evalloop.commands.*`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop import __version__
from evalloop.errors import EvalloopError


class _Group(click.Group):
    """Turns every EvalloopError into a one-line message and its exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except EvalloopError as exc:
            click.echo(f"evalloop: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("evalloop: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalloop")
def cli() -> None:
    """evalloop: production failures of LLM agents become owned, reviewed regression
    fixtures, and every change to the agent is gated on the fixtures it can affect."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@cli.command()
def init() -> None:
    """Scaffold evalloop.yaml, owners.yaml, the artifact folders and one example
    fixture in the current repository. Refuses to overwrite anything (exit 1)."""
    from evalloop.commands import init as cmd

    sys.exit(cmd.init(Path.cwd()))


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

    Exit 0 when clean (warnings allowed), 1 with findings, 2 on usage or config errors."""
    from evalloop.commands import validate as cmd

    sys.exit(cmd.validate(list(files) or None, fmt=fmt,
                          today=today.date() if today else None, config_path=config_path))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="evalloop", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return 0

"""`init`, `validate` and the `fixtures` lifecycle: the repository's own files."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from evalloop.main import _DATE, cli


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

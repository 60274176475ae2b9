"""The command line: parses arguments and hands them to `evalloop.commands.*`."""

from __future__ import annotations

import contextlib
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


# The commands register themselves on `cli` when their modules load; they import `cli` and
# `_DATE` from here, so they are loaded after both exist.
from evalloop.cli import canary, gates, intake, metrics, readiness, release, repository, shadow  # noqa: E402, F401

"""`evalloop run`: run the selected fixtures through the agent, judge them and decide
(`evalloop.report.table.RULES`).

Exit 0 when the verdict is pass or warn, 1 when it is block (or warn with --fail-on-warn), 2 on usage errors
(no agent configured, a `--select` that matches nothing or does not parse, a PATH that is not
a fixture file or a folder of them).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evalloop.errors import EvalloopError, UsageError
from evalloop.gate.execute import FixtureOutcome, execute
from evalloop.gate.run import explain, fixtures_to_run, run_report
from evalloop.model.results import decide, started_now
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write
from evalloop.report.progress import Terminal, live_progress
from evalloop.report.table import format_table
from evalloop.text import clean


def run(*, select: tuple[str, ...], jobs: int, fmt: str, output: Path | None, config_path: Path | None,
        verbose: bool = False, save_runs: Path | None = None, color: str = "auto", fail_on_warn: bool = False,
        paths: tuple[Path, ...] = (), explain_id: str | None = None) -> int:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    if explain_id is not None:
        sys.stdout.write(clean(explain(root, config, select, paths, Path.cwd(), explain_id), lines=True) + "\n")
        return 0
    if config.agent is None:
        raise UsageError("evalloop.yaml has no `agent:`: name a Python entrypoint or a command "
                         "(see docs/adapter.md)")
    chosen = fixtures_to_run(root, config, select, paths, Path.cwd())
    terminal = Terminal.detect(color)
    stamp = started_now()
    started = time.monotonic()
    with live_progress(terminal, "evalloop run") as progress:
        outcomes = execute(root, config, chosen, jobs=jobs, watcher=progress)
    elapsed = time.monotonic() - started
    results = [o.result for o in outcomes]
    table = format_table(results, elapsed, jobs)
    if verbose:  # with the table on stdout, unless a machine format has stdout
        show_trajectories(outcomes, terminal if fmt == "text" or output is not None else None, color)
    if fmt != "text" or output is not None:
        from evalloop.report.formats import RENDERERS

        text = table if fmt == "text" else RENDERERS[fmt](run_report(results, select, stamp, paths))
        if output is not None:
            atomic_write(output, text)
            terminal.write(table)
        else:
            sys.stdout.write(text)
    else:
        terminal.write(table)
    if save_runs is not None:
        save(outcomes, save_runs)
    return exit_code(decide(results), fail_on_warn)


def exit_code(verdict: str, fail_on_warn: bool) -> int:
    """1 on block (and on warn with `--fail-on-warn`), else 0."""
    return 1 if verdict == "block" or (fail_on_warn and verdict == "warn") else 0


def show_trajectories(outcomes: Sequence[FixtureOutcome], terminal: Terminal | None, color: str) -> None:
    """`--verbose`: the trajectories on `terminal`, or on stderr when stdout carries a
    machine-readable report (`terminal` None)."""
    from evalloop.report.trajectory import render_trajectories

    (terminal or Terminal.detect(color, sys.stderr)).write(render_trajectories(outcomes) + "\n")


def save(outcomes: Sequence[FixtureOutcome], directory: Path) -> None:
    """`--save-runs`: each run written, and said on stderr. Called after the report is out, so a
    directory that cannot be written costs the runs, not the report."""
    from evalloop.report.trajectory import save_runs

    try:
        written, missing = save_runs(outcomes, directory)
    except OSError as exc:
        raise EvalloopError(f"--save-runs: cannot write the runs: {exc.strerror or exc}",
                            path=clean(exc.filename or directory)) from None
    unsaved = f"; {missing} unfinished run{'s' if missing != 1 else ''} had nothing to save" if missing else ""
    sys.stderr.write(clean(f"evalloop: saved {len(written)} run{'s' if len(written) != 1 else ''} to "
                           f"{directory}{unsaved}") + "\n")

"""`evalloop gate`: what changed, which fixtures protect it, run them, decide (`evalloop.gate.gate`).

Exit 0 when the verdict is pass or warn (and after --explain), 1 when it is block (or warn with
--fail-on-warn), 2 on usage errors.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.gate import gate as gating
from evalloop.github.actions import pr_labels
from evalloop.model.results import GateReport
from evalloop.repo.config import find_root
from evalloop.repo.fs import atomic_write
from evalloop.report.formats import RENDERERS
from evalloop.report.progress import Terminal, live_progress


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise UsageError(f"--shard {spec!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise UsageError(f"--shard {spec!r}: I must be between 1 and N")
    return i, n


def in_ci(env: Mapping[str, str]) -> bool:
    """GitHub Actions (`GITHUB_ACTIONS=true`) or any CI that sets `CI=true`."""
    return env.get("GITHUB_ACTIONS", "").lower() == "true" or env.get("CI", "").lower() == "true"


def gate(*, base: str, head: str, config_path: Path | None, fmt: str, output: Path | None,
         json_path: Path | None, jobs: int, shard_spec: str | None, explain_id: str | None,
         select_only: bool, today: dt.date | None, fail_on_warn: bool = False, select: tuple[str, ...] = (),
         labels: list[str] | None = None,
         verbose: bool = False, save_runs: Path | None = None, color: str = "auto",
         record: str | None = None) -> int:
    """`record`: the gate ledger file to append the result to ("": the one evalloop.yaml names)."""
    shard = parse_shard(shard_spec)
    if record is not None and (select_only or explain_id is not None):
        raise UsageError("--record needs a gate that runs its fixtures (not --select-only or --explain)")
    opts = gating.Options(
        root=find_root(config_path.parent if config_path else Path.cwd()), config_path=config_path,
        base=base, head=head, labels=[*(labels or []), *pr_labels(os.environ)], today=today or dt.date.today(),
        jobs=jobs, shard=shard, select_only=select_only, select=select,
        ci=in_ci(os.environ))
    if explain_id is not None:
        print(gating.explain(opts, explain_id))
        return 0
    from evalloop.commands.run import exit_code, save, show_trajectories
    from evalloop.gate.execute import Recorder

    terminal = Terminal.detect(color)
    with live_progress(terminal, "evalloop gate") as progress:
        recorder = Recorder(progress)
        report = gating.gate(opts, recorder)
    outcomes = recorder.in_order(report.results)
    if verbose:  # stdout has the text report, or nothing when the report goes to --output
        show_trajectories(outcomes, terminal if fmt == "text" or output is not None else None, color)
    emit(report, fmt, output, json_path, terminal)
    if save_runs is not None:
        save(outcomes, save_runs)
    if record is not None:
        _record(report, record, opts.root, config_path)
    return exit_code(report.verdict, fail_on_warn)


def _record(report: GateReport, record: str, root: Path, config_path: Path | None) -> None:
    from evalloop.metrics import ledger
    from evalloop.repo.config import load_config

    path = Path(record) if record else root / load_config(root, config_path).metrics.gate_ledger
    ledger.append(path, ledger.record_of(report, os.environ))


def emit(report: GateReport, fmt: str, output: Path | None, json_path: Path | None,
         terminal: Terminal | None = None) -> None:
    """The report in `fmt` to `output` or stdout (a text report coloured as `terminal` allows),
    and the JSON report to `json_path`."""
    text = RENDERERS[fmt](report)
    if output is not None:
        atomic_write(output, text)
    elif fmt == "text" and terminal is not None:
        terminal.write(text)
    else:
        sys.stdout.write(text)
    if json_path is not None:
        atomic_write(json_path, RENDERERS["json"](report))

"""`evalloop run`: run the selected fixtures through the agent, judge them and decide
(`evalloop.report.table.RULES`).

Exit 0 when the verdict is pass or warn, 1 when it is block, 2 on usage errors
(no agent configured, a `--select` that matches nothing or does not parse).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.gate.execute import run_fixtures
from evalloop.gate.run import fixtures_to_run, run_report
from evalloop.model.results import decide, started_now
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write
from evalloop.report.table import format_table


def run(*, select: tuple[str, ...], jobs: int, fmt: str, output: Path | None, config_path: Path | None) -> int:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    if config.agent is None:
        raise UsageError("evalloop.yaml has no `agent:`: name a Python entrypoint or a command "
                         "(see docs/adapter.md)")
    chosen = fixtures_to_run(root, config, select)
    stamp = started_now()
    started = time.monotonic()
    results = run_fixtures(root, config, chosen, jobs=jobs)
    elapsed = time.monotonic() - started
    table = format_table(results, elapsed, jobs)
    if fmt != "text" or output is not None:
        from evalloop.report.formats import RENDERERS

        text = table if fmt == "text" else RENDERERS[fmt](run_report(results, select, stamp))
        if output is not None:
            atomic_write(output, text)
            sys.stdout.write(table)
        else:
            sys.stdout.write(text)
    else:
        sys.stdout.write(table)
    return 1 if decide(results) == "block" else 0

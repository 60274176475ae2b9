"""`evalloop metrics`: the loop's health with the seed's dashboard thresholds (docs/metrics.md).

Exit 0 (SPEC section 5); with `--fail-on block` 1 when a metric says block or roll back, with
`--fail-on investigate` also when one says investigate; 2 on unusable input.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from evalloop import clock
from evalloop.errors import UsageError
from evalloop.extras import require
from evalloop.metrics import compute, sources
from evalloop.metrics.render import render
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write

FAIL_ON = {"block": ("block",), "investigate": ("block", "investigate")}


def metrics(*, since: dt.date | None, until: dt.date | None, fmt: str, output: Path | None,
            config_path: Path | None, traces: list[Path], signals: list[Path], gate_reports: Path | None,
            branch: str | None, fail_on: str | None, now: dt.datetime | None = None,
            github: str | None = None, github_artifacts: list[str] | None = None,
            env: dict[str, str] | None = None) -> int:
    if fmt == "html":  # before anything is read: the dashboard's charts need the extra
        require("matplotlib", "dashboard", "evalloop metrics --format html")
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    if github_artifacts and github is None:
        raise UsageError("--github-artifact names an artifact to read with --github OWNER/REPO")
    at = now or clock.now()
    window = compute.window(since, until, at, config.metrics.window_days)
    data = sources.load(root, config, sources.Options(gate_reports=gate_reports, traces=traces, signals=signals,
                                                      branch=branch, github=github,
                                                      github_artifacts=list(github_artifacts or []),
                                                      env=dict(os.environ) if env is None else env))
    report = compute.report(data, window)
    text = render(report, fmt)
    if output is not None:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)
    failing = FAIL_ON.get(fail_on or "", ())
    return 1 if any(m.status in failing for m in report.metrics) else 0

"""`evalloop triage SIGNALS`: decide what each production signal becomes (docs/intake.md).

Exit 0, or 1 when a blocking or warning conversion is overdue (past its deadline of two
business days after the signal); 2 on unusable input (a bad record, with its position).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evalloop.intake.evidence import TraceChecker
from evalloop.intake.render import render
from evalloop.intake.signals import load_signals
from evalloop.intake.triage import triage as decide_all
from evalloop.repo.config import find_root, load_config


def triage(signals_path: Path, *, fmt: str = "text", today: dt.date | None = None,
           config_path: Path | None = None) -> int:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    signals = load_signals(signals_path)
    day = today or dt.date.today()
    decisions = decide_all(signals, config, day, TraceChecker(root))
    print(render(decisions, fmt, day))
    return 1 if any(d.overdue for d in decisions) else 0

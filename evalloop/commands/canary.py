"""`evalloop canary --baseline B --candidate C`: promote, hold or roll back a candidate artifact.

Exit 0 promote, 1 rollback, 3 hold, 2 unusable input (SPEC section 5).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from evalloop.canary.analyze import analyze
from evalloop.canary.config import load_canary
from evalloop.canary.observe import load_side
from evalloop.model.release import LedgerEntry
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write
from evalloop.report import canary as render

EXIT = {"promote": 0, "rollback": 1, "hold": 3}


def canary(*, baseline: list[Path], candidate: list[Path], config_path: Path, step: int, fmt: str,
           output: Path | None, record: bool, now: dt.datetime | None) -> int:
    cfg = load_canary(config_path)
    root = find_root(config_path.resolve().parent)
    mapping = tuple((m.attribute, m.type) for m in load_config(root).trace_mapping)
    base = load_side("baseline", baseline, mapping)
    cand = load_side("candidate", candidate, mapping)
    from evalloop.release import ledger

    entries = ledger.read_ledger(root, cfg.env)
    result = analyze(cfg, base, cand, step=step, frozen=ledger.frozen(entries, cfg.artifact), now=now)
    text = {"text": render.format_text, "markdown": render.format_markdown, "json": render.format_json}[fmt](
        cfg, result)
    if output is not None:
        atomic_write(output, text)
    else:
        print(text, end="")
    if record:
        evidence = render.to_dict(cfg, result)
        ledger.append_entry(root, cfg.env, LedgerEntry(
            at=now or dt.datetime.now(dt.UTC), env=cfg.env, event="canary", artifact=cfg.artifact, kind=cfg.kind,
            revision=cfg.candidate.revision, decision=result.decision, step=step, evidence=evidence,
            by=os.environ.get("GITHUB_ACTOR") or None))
    return EXIT[result.decision]

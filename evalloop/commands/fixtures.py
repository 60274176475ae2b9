"""`evalloop fixtures list|expiring|expired|orphaned|prune|transfer`: the fixture lifecycle."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from evalloop.intake import lifecycle
from evalloop.model.config import Config
from evalloop.repo.config import find_root, load_config
from evalloop.report.escape import md
from evalloop.text import clean


def _load(config_path: Path | None) -> tuple[Path, Config, list[lifecycle.Entry]]:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    return root, config, lifecycle.inventory(root, config)


def _render(entries: list[lifecycle.Entry], fmt: str, notes: list[str]) -> str:
    if fmt == "json":
        return json.dumps({"fixtures": [e.as_dict() for e in entries], "notes": notes}, indent=2) + "\n"
    cols = ("id", "owner", "severity", "expires", "path")
    rows = [(e.id, e.owner or "-", e.severity or "-", e.expires_at.isoformat() if e.expires_at else "-", e.path)
            for e in entries]
    extra = {e.path: (["unreadable: " + e.error] if e.error else []) + e.orphaned for e in entries}
    if fmt == "markdown":
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for row, e in zip(rows, entries, strict=True):
            why = "; ".join(extra[e.path])
            lines.append("| " + " | ".join(md(v) for v in row) + " |" + (f"\n|  | {md(why)} | | | |" if why else ""))
        return "\n".join(lines + [f"\n{md(n)}" for n in notes]) + "\n"
    widths = [max([len(c), *(len(clean(r[i])) for r in rows)]) for i, c in enumerate(cols)]
    out = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    for row, e in zip(rows, entries, strict=True):
        out.append("  ".join(clean(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        out += [f"    - {clean(why)}" for why in extra[e.path]]
    out += [f"note: {clean(n)}" for n in notes]
    out.append(f"{len(entries)} fixture(s)")
    return "\n".join(out) + "\n"


def show(view: str, *, fmt: str, today: dt.date | None, within: int | None, config_path: Path | None) -> int:
    root, config, entries = _load(config_path)
    day = today or dt.date.today()
    notes: list[str] = []
    if view == "expiring":
        entries = lifecycle.expiring(entries, day, within if within is not None else config.expiry_warning_days)
    elif view == "expired":
        entries = lifecycle.expired(entries, day)
    elif view == "orphaned":
        notes = lifecycle.mark_orphans(root, config, entries)
        entries = [e for e in entries if e.orphaned or e.error]
    sys.stdout.write(_render(entries, fmt, notes))
    # a list that finds trouble says so in its exit code, so CI can act on it
    return 1 if view in ("expired", "orphaned") and entries else 0


def prune(*, dry_run: bool, archive: Path | None, today: dt.date | None, config_path: Path | None) -> int:
    root, _config, entries = _load(config_path)
    done = lifecycle.prune(root, entries, today or dt.date.today(), dry_run=dry_run,
                           archive=(root / archive) if archive and not archive.is_absolute() else archive)
    for line in done or ["nothing expired"]:
        print(clean(line))
    if done and not dry_run:
        print("note: a blocking fixture removed from the fixtures globs is a protection change: the pull request "
              "needs its owner's approval (docs/protection.md)")
    return 0


def transfer(old: str, new: str, *, dry_run: bool, config_path: Path | None) -> int:
    root, config, entries = _load(config_path)
    done = lifecycle.transfer(root, config, entries, old, new, dry_run=dry_run)
    for line in done or [f"no fixture names owner {old}"]:
        print(clean(line))
    return 0 if done else 1

"""`evalloop validate`: schema, ids, owners, expiry, references and redaction."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.model.findings import Finding, format_github, format_json, format_text
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import repository_of
from evalloop.validate.checks import validate as run_checks
from evalloop.validate.repository import Repo


def validate(files: list[Path] | None, *, fmt: str = "text", today: dt.date | None = None,
             config_path: Path | None = None) -> int:
    if files:
        missing = [f for f in files if not os.path.lexists(f)]
        if missing:
            raise UsageError("no such file", path=str(missing[0]))
    day = today or dt.date.today()
    findings: list[Finding] = []
    checked = 0
    for root, group in _by_root(files, config_path):
        result = run_checks(Repo(root=root, config=load_config(root, config_path)), group, day)
        findings += result.findings
        checked += result.files
    findings.sort(key=Finding.sort_key)
    if fmt == "json":
        print(format_json(findings, files=checked))
    elif fmt == "github":
        out = format_github(findings)
        if out:
            print(out)
    else:
        out = format_text(findings)
        if out:
            print(out)
        errors = sum(f.level == "error" for f in findings)
        warnings = len(findings) - errors
        print(f"{checked} file(s) checked: {errors} error(s), {warnings} warning(s)",
              file=sys.stderr)
    return 1 if any(f.level == "error" for f in findings) else 0


def _by_root(files: list[Path] | None, config_path: Path | None) -> list[tuple[Path, list[Path] | None]]:
    """Each evalloop root with the named files under it: the folder of the nearest evalloop.yaml
    above each file (so a config in a subfolder governs its files, as the gate reads it), else
    the git top level. `--config` puts every file under that config. No files: the root of the
    current folder, every file it has."""
    if config_path is not None or not files:
        return [(find_root(config_path.parent if config_path else Path.cwd()), files)]
    groups: dict[Path, list[Path]] = {}
    here = find_root(Path.cwd())
    for f in files:
        # named, not resolved: a file reached through a symlinked folder belongs to the repository
        # it is named in, which then refuses to read it, never to the folder the link points at
        groups.setdefault(repository_of(f) or here, []).append(f)
    return list(groups.items())

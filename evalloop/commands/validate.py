"""`evalloop validate`: schema, ids, owners, expiry, references and redaction."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.model.findings import format_github, format_json, format_text
from evalloop.repo.config import find_root, load_config
from evalloop.validate.checks import validate as run_checks
from evalloop.validate.repository import Repo


def validate(files: list[Path] | None, *, fmt: str = "text", today: dt.date | None = None,
             config_path: Path | None = None) -> int:
    start = Path.cwd()
    if files:
        missing = [f for f in files if not f.exists()]
        if missing:
            raise UsageError("no such file", path=str(missing[0]))
    root = find_root(config_path.parent if config_path else start)
    repo = Repo(root=root, config=load_config(root, config_path))
    result = run_checks(repo, files, today or dt.date.today())
    if fmt == "json":
        print(format_json(result.findings, files=result.files))
    elif fmt == "github":
        out = format_github(result.findings)
        if out:
            print(out)
    else:
        out = format_text(result.findings)
        if out:
            print(out)
        errors = sum(f.level == "error" for f in result.findings)
        warnings = len(result.findings) - errors
        print(f"{result.files} file(s) checked: {errors} error(s), {warnings} warning(s)",
              file=sys.stderr)
    return 1 if any(f.level == "error" for f in result.findings) else 0

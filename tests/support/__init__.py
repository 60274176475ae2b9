"""Helpers shared by the tests: paths, the CLI in-process and in a subprocess, files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from evalloop.main import cli

PROJECT = Path(__file__).resolve().parents[2]
SHARED = PROJECT.parent / "shared"
DATA = PROJECT / "tests" / "data"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_evalloop(*args: str, cwd: Path, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as users and hooks do."""
    return subprocess.run([sys.executable, "-m", "evalloop", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=300)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

"""The gate ledger: one line per gate run (`evalloop gate --record`), and the same record read
back from the ledger or from a folder of the gate's JSON reports (what CI uploads).

Appending is one `write` on a file opened with O_APPEND: concurrent gates on one machine each add
a whole line, and a line is never rewritten. A ledger whose last line was cut short (a crash) gets
the new line on a line of its own; the cut line stays and is reported when read (fail closed).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.metrics import GateRecord, RecordedCounts, RecordedResult
from evalloop.model.results import GateReport
from evalloop.repo import fs, parse
from evalloop.text import clean

MAX_LEDGER_BYTES = 64 << 20
MAX_REPORT_BYTES = 32 << 20


def record_of(report: GateReport, env: Mapping[str, str] | None = None) -> GateRecord:
    """The ledger line of a gate report; `env` gives the CI run's id and attempt (GitHub Actions)."""
    env = env or {}
    when = report.timestamp or report.started_at
    if when is None:
        raise EvalloopError("the gate report has no timestamp (nor started_at): it cannot be placed in time")
    attempt = env.get("GITHUB_RUN_ATTEMPT", "")
    return GateRecord(
        timestamp=_utc(dt.datetime.fromisoformat(when)), started_at=report.started_at,
        base=report.base, head=report.head, merge_base=report.merge_base, verdict=report.verdict, shard=report.shard,
        run_id=env.get("GITHUB_RUN_ID") or None,
        run_attempt=int(attempt) if attempt.isdigit() and int(attempt) else None,
        changed_kinds=sorted({c.kind for c in report.changed}),
        results=[RecordedResult(id=r.id, severity=r.severity, status=r.status, runs=r.runs, passes=r.passes,
                                quarantined=r.quarantined, owner=r.owner, incident_id=r.incident_id)
                 for r in report.results],
        counts=RecordedCounts.model_validate(report.counts.model_dump()))


def append(path: Path, record: GateRecord) -> None:
    """Add `record` as the ledger's last line (the folder is made when missing)."""
    line = record.model_dump_json() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    line = "\n" + line
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_ledger(path: Path, display: str | None = None) -> list[GateRecord]:
    """The ledger's records in file order; EvalloopError with file and line for a bad one."""
    shown = display or str(path)
    text = fs.read_text(path, shown, MAX_LEDGER_BYTES) if path.stat().st_size else ""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(GateRecord.model_validate_json(line))
        except ValidationError as exc:
            raise EvalloopError(clean(f"invalid gate ledger line: {parse.first_error(exc)}"),
                                path=shown, line=lineno) from None
    return out


# The file the Action writes beside report.json in its report folder (action.yml `report-dir`).
ACTION_CONTEXT_FILE = "pull-request.json"


def read_reports(folder: Path) -> list[GateRecord]:
    """The gate's JSON reports under `folder` (`evalloop gate --format json` or `--json`, as the
    Action uploads them), each as its ledger line; files that are not gate reports are errors."""
    if not folder.is_dir():
        raise EvalloopError("no such folder of gate reports", path=str(folder))
    out = []
    for path in sorted(folder.rglob("*.json")):
        if path.name == ACTION_CONTEXT_FILE:
            continue  # the Action uploads the pull request's context beside its report
        shown = str(path)
        text = fs.read_text(path, shown, MAX_REPORT_BYTES)
        try:
            report = GateReport.model_validate_json(text)
        except ValidationError as exc:
            raise EvalloopError(clean(f"not a gate report: {parse.first_error(exc)}"), path=shown) from None
        try:
            out.append(record_of(report))
        except EvalloopError as exc:
            exc.path = shown
            raise
    return out


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)

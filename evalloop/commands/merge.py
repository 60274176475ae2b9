"""`evalloop merge`: one report and verdict from the shards of a gate run (`evalloop.gate.merge`).

Exit 0 when the merged verdict is pass or warn, 1 when it is block, 2 on usage errors."""

from __future__ import annotations

from pathlib import Path

from evalloop.commands.gate import emit
from evalloop.errors import UsageError
from evalloop.gate.merge import load_shard, merge_reports


def merge(paths: list[Path], *, fmt: str, output: Path | None, json_path: Path | None) -> int:
    if not paths:
        raise UsageError("give the shard JSON reports to merge")
    report = merge_reports([load_shard(p) for p in paths])
    emit(report, fmt, output, json_path)
    return 1 if report.verdict == "block" else 0

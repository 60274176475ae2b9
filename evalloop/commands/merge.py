"""`evalloop merge`: one report and verdict from the shards of a gate run (`--shard I/N`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from evalloop.commands.gate import emit
from evalloop.errors import UsageError
from evalloop.verdict import FixtureResult, GateReport, count, decide


def _load(path: Path) -> GateReport:
    try:
        return GateReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read shard report: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UsageError(f"not a gate JSON report: {'.'.join(map(str, err['loc']))}: {err['msg']}",
                         path=str(path)) from None


def merge_reports(reports: list[GateReport]) -> GateReport:
    """Union of shard results; a missing shard, or a selected fixture without a result, blocks."""
    first = reports[0]
    notes: list[str] = []
    for r in reports[1:]:
        if (r.base, r.head) != (first.base, first.head):
            raise UsageError(f"shards disagree on the revisions: {first.base}..{first.head} vs {r.base}..{r.head}")
    totals = {r.shard.split("/")[1] for r in reports if r.shard}
    if len(totals) > 1:
        raise UsageError(f"shards of different splits: {sorted(totals)}")
    seen = {int(r.shard.split("/")[0]) for r in reports if r.shard}
    if totals:
        n = int(next(iter(totals)))
        missing = sorted(set(range(1, n + 1)) - seen)
        if missing:
            notes.append(f"shard(s) {', '.join(f'{i}/{n}' for i in missing)} missing: their fixtures have no run")
    results: dict[str, FixtureResult] = {}
    for r in reports:
        for res in r.results:
            results.setdefault(res.id, res)
        notes += [n for n in r.notes if n not in notes]
    for s in first.selected:
        if s.id not in results:
            results[s.id] = FixtureResult(id=s.id, severity=s.severity, status="no_run", path=s.path,
                                          error="no shard reported a result for it")
    order = {s.id: i for i, s in enumerate(first.selected)}
    merged = sorted(results.values(), key=lambda x: (order.get(x.id, -1), x.id))
    return first.model_copy(update={
        "results": merged, "verdict": decide(merged), "counts": count(merged, len(first.selected)),
        "notes": notes, "shard": None,
    })


def merge(paths: list[Path], *, fmt: str, output: Path | None, json_path: Path | None) -> int:
    if not paths:
        raise UsageError("give the shard JSON reports to merge")
    report = merge_reports([_load(p) for p in paths])
    emit(report, fmt, output, json_path)
    return 1 if report.verdict == "block" else 0

"""What the canary observed on each side: production runs (any trace format, files or
folders) or a metric summary, reduced to the numbers each metric compares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from evalloop.canary.invariants import applies, monitor_passes
from evalloop.errors import EvalloopError, UsageError
from evalloop.model.canary import Invariant, Metric, MetricSummary
from evalloop.model.run import Run
from evalloop.repo import parse

TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson")
SUMMARY_KIND = "evalloop.canary-summary"
MAX_SUMMARY_BYTES = 64 * 1024 * 1024


@dataclass
class Side:
    """One side of the canary: its runs, or the summary it was given as."""

    name: str  # baseline | candidate
    sources: list[str]
    runs: list[Run] | None = None
    summary: MetricSummary | None = None
    unrecognised_tools: int = 0  # tool-like spans no importer rule recognised
    first_ms: float | None = None  # the earliest span start seen (epoch ms)

    @property
    def samples(self) -> int:
        if self.runs is not None:
            return len(self.runs)
        return self.summary.runs if self.summary else 0


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TRACE_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not found:
            raise UsageError(f"no trace files ({', '.join(TRACE_SUFFIXES)}) in the folder", path=str(path))
        return found
    if not path.exists():
        raise UsageError("no such file or folder", path=str(path))
    return [path]


def _summary(path: Path) -> MetricSummary | None:
    """The metric summary in `path`, or None when the file is not one (it is a trace)."""
    if path.suffix not in (".yaml", ".yml", ".json") or path.stat().st_size > MAX_SUMMARY_BYTES:
        return None
    doc = parse.load_document(path, max_bytes=MAX_SUMMARY_BYTES)
    if not (isinstance(doc.data, dict) and doc.data.get("kind") == SUMMARY_KIND):
        if path.suffix != ".json":
            raise UsageError(f"not a metric summary (kind: {SUMMARY_KIND}); traces are JSON or JSON Lines",
                             path=str(path))
        return None
    try:
        return MetricSummary.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line, col = parse.locate(doc, tuple(err["loc"]), key=err["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise EvalloopError(f"invalid metric summary: {where}: {err['msg']}", path=doc.display,
                            line=line, col=col) from None


def load_side(name: str, paths: Sequence[Path], mapping: tuple[tuple[str, str], ...] = ()) -> Side:
    """The runs (or the one summary) in `paths`."""
    from evalloop.traces.load import load_runs_report

    files = [f for p in paths for f in _files(p)]
    side = Side(name, [str(f) for f in files])
    # A summary stands alone: only a single file is read twice to tell (a folder of traces is not).
    summary = _summary(files[0]) if len(files) == 1 else None
    if summary is not None:
        side.summary = summary
        return side
    side.runs = []
    for f in files:
        runs, unrecognised = load_runs_report(f, mapping=mapping)
        side.runs.extend(runs)
        side.unrecognised_tools += sum(1 for us in unrecognised.values() for u in us if u.kind == "tool")
    starts = [s.start_ms for r in side.runs for s in r.spans if s.start_ms is not None and math.isfinite(s.start_ms)]
    side.first_ms = min(starts) if starts else None
    return side


@dataclass
class Observed:
    """A metric's data on one side: counts for a rate, values for a continuous metric."""

    events: int | None = None
    total: int | None = None
    values: list[float] = field(default_factory=list)
    missing: str | None = None  # why the metric has no (or no complete) data on this side


def _measure(run: Run, measure: str) -> float | None:
    if measure == "cost_usd":
        return run.cost_usd
    if measure == "latency_ms":
        return run.latency_ms
    if measure == "tokens":
        if run.input_tokens is None and run.output_tokens is None:
            return None
        return float((run.input_tokens or 0) + (run.output_tokens or 0))
    return float(sum(1 for s in run.spans if s.type == "tool"))


def observe(side: Side, name: str, metric: Metric, monitors: Sequence[Invariant]) -> Observed:
    """The metric's data on `side`, from its runs or its summary; prometheus is read elsewhere."""
    if side.summary is not None:
        if metric.type == "rate":
            count = side.summary.rates.get(name)
            if count is None:
                return Observed(missing=f"the {side.name} summary has no rate {name!r}")
            return Observed(count.events, count.total)
        values = side.summary.values.get(name)
        if values is None:
            return Observed(missing=f"the {side.name} summary has no values {name!r}")
        return Observed(values=[float(v) for v in values])
    runs = side.runs or []
    if metric.type == "rate":
        if name == "quality":
            passed, total, unjudged = monitor_passes(monitors, runs)
            why = f"{unjudged} {side.name} runs could not be judged by the monitors" if unjudged else None
            return Observed(passed, total, missing=why)
        return Observed(sum(1 for r in runs if applies(metric.when, r)), len(runs))
    assert metric.measure is not None
    measured = [_measure(r, metric.measure) for r in runs]
    kept = [v for v in measured if v is not None and math.isfinite(v)]
    lacking = len(measured) - len(kept)
    # A run that lost its measurement could be the slowest or the dearest: no conclusion without it.
    why = f"{lacking} of {len(measured)} {side.name} runs record no {metric.measure}" if lacking else None
    return Observed(values=kept, missing=why)

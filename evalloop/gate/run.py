"""`evalloop run`, the gate without a change: the fixtures to run (every fixture file, or those
`--select` picks) and the report of their results."""

from __future__ import annotations

from pathlib import Path

from evalloop.errors import UsageError
from evalloop.gate.execute import load_fixture_file
from evalloop.gate.expressions import Subject, compile_select
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, GateReport, Selected, count, decide
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.globs import glob_files


def fixtures_to_run(root: Path, config: Config, select: tuple[str, ...]) -> list[LoadedFixture | str]:
    """The fixtures to run, in file order. An unreadable fixture is always kept (it becomes an
    error result): what cannot be read cannot be shown to be outside the selection (fail closed).
    Without --select nothing is parsed here: the fixtures are read while the first ones run."""
    files = glob_files(root, config.fixtures)
    if not select:
        if not files:
            raise UsageError(f"no fixture files match {config.fixtures}")
        return [str(p) for p in files]
    predicate = compile_select(select)
    chosen: list[LoadedFixture | str] = []
    for path in files:
        item = load_fixture_file(root, config, path)
        if isinstance(item, FixtureResult):
            chosen.append(str(path))
        elif predicate(Subject.of(item)):
            chosen.append(item)
    if not chosen:
        raise UsageError(f"no fixture matches --select {' / '.join(select)}")
    return chosen


def run_report(results: list[FixtureResult], select: tuple[str, ...], started: tuple[str, str] | None = None
               ) -> GateReport:
    """The results as a gate report: no change, every fixture selected by the command line;
    `started` is (started_at, hostname) of the run."""
    started_at, hostname = started or (None, None)
    why = [f"--select {' / '.join(select)}"] if select else ["evalloop run: every fixture"]
    return GateReport(
        verdict=decide(results), results=results, counts=count(results, len(results)),
        started_at=started_at, hostname=hostname,
        selected=[Selected(id=r.id, severity=r.severity, path=r.path or "", reasons=why) for r in results],
    )

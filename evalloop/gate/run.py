"""`evalloop run`, the gate without a change: the fixtures to run (every fixture file, or the
files and folders named on the command line, of which those `--select` picks) and the report of
their results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.gate.execute import load_fixture_file
from evalloop.gate.expressions import Subject, compile_select
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, GateReport, Selected, count, decide
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.globs import glob_files


def named_files(root: Path, config: Config, files: list[Path], paths: Sequence[Path], cwd: Path) -> list[Path]:
    """The fixture files among `files` (the config's) that `paths` name, in file order: each path
    a fixture file or a folder holding some, inside the root; anything else is a usage error."""
    top = root.resolve()
    globs = ", ".join(config.fixtures)
    by_rel = {p.relative_to(root).as_posix(): p for p in files}
    wanted: set[str] = set()
    for given in paths:
        where = (cwd / given).resolve()
        if not where.exists():
            raise UsageError(f"{given}: no such file or folder")
        try:
            rel = where.relative_to(top).as_posix()
        except ValueError:
            raise UsageError(f"{given}: outside the evalloop root {top}") from None
        if where.is_dir():
            inside = {r for r in by_rel if rel == "." or r.startswith(rel + "/")}
            if not inside:
                raise UsageError(f"{given}: a folder with no fixture file in it (the fixtures globs: {globs})")
            wanted |= inside
        elif rel in by_rel:
            wanted.add(rel)
        else:
            raise UsageError(f"{given}: not a fixture file: the config's fixtures globs ({globs}) do not match it")
    return [p for r, p in by_rel.items() if r in wanted]


def fixtures_to_run(root: Path, config: Config, select: tuple[str, ...], paths: Sequence[Path] = (),
                    cwd: Path | None = None) -> list[LoadedFixture | str]:
    """The fixtures to run, in file order: every fixture file, or those `paths` name (relative
    to `cwd`), narrowed by `select`. An unreadable fixture is always kept (it becomes an
    error result): what cannot be read cannot be shown to be outside the selection (fail closed).
    Without --select nothing is parsed here: the fixtures are read while the first ones run."""
    files = glob_files(root, config.fixtures)
    if paths:
        files = named_files(root, config, files, paths, cwd or Path.cwd())
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


def explain(root: Path, config: Config, select: tuple[str, ...], paths: Sequence[Path], cwd: Path,
            fixture_id: str) -> str:
    """`evalloop run --explain ID`: whether fixture ID is chosen by the PATHs and `--select`, and why."""
    compile_select(select)  # a --select that does not parse is a usage error here too
    files = glob_files(root, config.fixtures)
    named = {str(p) for p in named_files(root, config, files, paths, cwd)} if paths else None
    for path in files:
        item = load_fixture_file(root, config, path)
        if isinstance(item, FixtureResult) or item.fixture.id != fixture_id:
            continue
        subject = Subject.of(item)
        labels = (f"severity {subject.severity}, owner {subject.owner or '-'}, "
                  f"gates {', '.join(subject.gates) if subject.gates is not None else '(every kind)'}, "
                  f"routes {', '.join(subject.routes) or '-'}, incident {subject.incident_id or '-'}, "
                  f"path {subject.path}")
        reasons: list[str] = []
        chosen = True
        if named is not None:
            inside = str(path) in named
            chosen = inside
            reasons.append(f"its file {'is' if inside else 'is not'} among the PATHs given")
        if select:
            hits = [e for e in select if compile_select([e])(subject)]
            chosen = chosen and bool(hits)
            reasons += [f"--select {e!r} {'matches' if e in hits else 'does not match'} it" for e in select]
        if not reasons:
            reasons.append("no PATH and no --select: every fixture runs")
        return (f"{fixture_id} is {'chosen' if chosen else 'not chosen'}:\n"
                + "\n".join(f"  - {r}" for r in [*reasons, f"its labels: {labels}"]))
    return f"no fixture with id {fixture_id!r} in {', '.join(config.fixtures)}"


def run_report(results: list[FixtureResult], select: tuple[str, ...], started: tuple[str, str] | None = None,
               paths: Sequence[Path] = ()) -> GateReport:
    """The results as a gate report: no change, every fixture selected by the command line;
    `started` is (started_at, hostname) of the run."""
    started_at, hostname = started or (None, None)
    why = [*([f"named: {' '.join(str(p) for p in paths)}"] if paths else []),
           *([f"--select {' / '.join(select)}"] if select else [])] or ["evalloop run: every fixture"]
    return GateReport(
        verdict=decide(results), results=results, counts=count(results, len(results)),
        started_at=started_at, hostname=hostname,
        selected=[Selected(id=r.id, severity=r.severity, path=r.path or "", reasons=why) for r in results],
    )

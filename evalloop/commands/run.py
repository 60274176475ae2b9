"""`evalloop run`: run the selected fixtures through the agent, judge them and decide (`RULES`).

Exit 0 when the verdict is pass or warn, 1 when it is block, 2 on usage errors
(no agent configured, a `--select` that matches nothing or does not parse).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.gate.execute import load_fixture_file, run_fixtures
from evalloop.gate.expressions import Subject, compile_select
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult, GateReport, Selected, count, decide, gating_failure
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.fs import atomic_write
from evalloop.repo.globs import glob_files
from evalloop.report.escape import clean
from evalloop.report.text import evidence_text

RULES = (
    "block: a blocking fixture failed, errored, was flaky or had no run",
    "warn:  a warning fixture failed (and nothing blocks)",
    "pass:  otherwise; exploratory fixtures are reported and never gate",
)


def _select(root: Path, config: Config, select: tuple[str, ...]) -> list[LoadedFixture | str]:
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


def format_table(results: list[FixtureResult], elapsed: float, jobs: int) -> str:
    """One line per fixture, then the failures with their evidence, then the verdict and why."""
    width = max([len("FIXTURE"), *(len(r.id) for r in results)])
    lines = [f"{'STATUS':7} {'SEVERITY':11} {'RUNS':5} {'FIXTURE':{width}}  OWNER"]
    for r in results:
        runs = f"{r.passes}/{r.runs}" if r.runs else "-"
        lines.append(f"{r.status.upper():7} {r.severity:11} {runs:5} {clean(r.id):{width}}  {clean(r.owner or '-')}")
    for r in results:
        if r.status == "pass":
            continue
        lines.append("")
        lines.append(f"{r.status.upper()} {clean(r.id)} ({r.severity}, {clean(r.path or '?')})")
        if r.reason:
            lines.append(f"  reason: {clean(r.reason)}")
        if r.incident_id:
            lines.append(f"  incident: {clean(r.incident_id)}")
        if r.error:
            lines.append(f"  error: {clean(r.error)}")
        for f in r.failures:
            lines.append(f"  - {clean(f.kind)}: {clean(f.message)}")
            ev = evidence_text(f)
            if ev:
                lines.append(f"      evidence: {clean(ev)}")
    verdict = decide(results)
    c = count(results, len(results))
    lines.append("")
    lines.append(f"{c.selected} fixtures in {elapsed:.1f}s (jobs {jobs}): {c.passed} passed, {c.failed} failed, "
                 f"{c.errored} errors, {c.flaky} flaky")
    deciding = [r.id for r in results if gating_failure(r)
                and r.severity == ("blocking" if verdict == "block" else "warning")]
    because = f"{'blocking' if verdict == 'block' else 'warning'}: {', '.join(deciding)}" if deciding else ""
    lines.append(f"verdict: {verdict.upper()}" + (f" ({clean(because)})" if because else ""))
    lines += [f"  {rule}" for rule in RULES]
    return "\n".join(lines) + "\n"


def report_for(results: list[FixtureResult], select: tuple[str, ...]) -> GateReport:
    why = [f"--select {' / '.join(select)}"] if select else ["evalloop run: every fixture"]
    return GateReport(
        verdict=decide(results), results=results, counts=count(results, len(results)),
        selected=[Selected(id=r.id, severity=r.severity, path=r.path or "", reasons=why) for r in results],
    )


def run(*, select: tuple[str, ...], jobs: int, fmt: str, output: Path | None, config_path: Path | None) -> int:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    if config.agent is None:
        raise UsageError("evalloop.yaml has no `agent:`: name a Python entrypoint or a command "
                         "(see docs/adapter.md)")
    chosen = _select(root, config, select)
    started = time.monotonic()
    results = run_fixtures(root, config, chosen, jobs=jobs)
    elapsed = time.monotonic() - started
    table = format_table(results, elapsed, jobs)
    if fmt != "text" or output is not None:
        from evalloop.report.formats import RENDERERS

        text = table if fmt == "text" else RENDERERS[fmt](report_for(results, select))
        if output is not None:
            atomic_write(output, text)
            sys.stdout.write(table)
        else:
            sys.stdout.write(text)
    else:
        sys.stdout.write(table)
    return 1 if decide(results) == "block" else 0

"""Fixtures run and judged: each fixture file loaded, run `runs` times through the agent
harness, every run judged with the trajectory evaluator, and the fixture's result decided.

`runs: n` / `min_passes: k`: k passes pass, none fail, in between is flaky; a
run the harness could not finish, or that cannot be judged, makes the fixture
an error. Nothing fails silently: an unreadable fixture, a missing agent or a
broken manifest gives an `error` result for each fixture concerned. Besides
what the fixture expects, a call of a tool the manifest does not list fails
the run (`unknown_tool`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.evaluate.evaluator import Evaluator, compile_fixture
from evalloop.evaluate.judgement import Violation
from evalloop.harness.batch import run_batch
from evalloop.harness.channel import HarnessError
from evalloop.harness.manifest import ToolManifest
from evalloop.harness.protocol import Session
from evalloop.harness.toolbox import unknown_tool_calls
from evalloop.model.config import AgentConfig, Config
from evalloop.model.fixture import Fixture
from evalloop.model.results import FixtureResult, ResultStatus, Selected
from evalloop.model.run import Run
from evalloop.repo import fixtures
from evalloop.repo.fixtures import LoadedFixture

FixtureSource = str | os.PathLike[str]


@dataclass
class _Outcome:
    """One run, judged."""

    passed: bool = False
    error: str | None = None
    failures: list[dict[str, Any]] | None = None
    run: Run | None = None  # what the agent did: the result's time, tokens and cost, the trajectory shown


@dataclass(frozen=True)
class RunOutcome:
    """One run of a fixture as it was judged: its number (from 1), what the agent did (None when
    the harness could not finish the run or the fixture could not be judged), whether it passed,
    why it has no verdict, and the violations of a failing run (`Violation.to_dict()` form)."""

    number: int
    run: Run | None
    passed: bool
    error: str | None = None
    failures: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class FixtureOutcome:
    """A fixture's result with the runs it was decided on. The runs stay here, out of
    `FixtureResult`: the JSON report carries the verdicts, and a run can be megabytes."""

    result: FixtureResult
    runs: tuple[RunOutcome, ...] = ()


class Watcher(Protocol):
    """Told of the batch as it goes (a live display, a collector). Calls never overlap."""

    def planned(self, count: int) -> None:
        """`count` more fixtures are to be run."""

    def finished(self, outcome: FixtureOutcome) -> None:
        """A fixture is decided: every one of its runs is judged."""


class Recorder:
    """A `Watcher` that keeps every outcome it hears of, and passes each on to `then`: how a
    command that gets only results back (the gate's report) keeps the runs behind them."""

    def __init__(self, then: Watcher | None = None) -> None:
        self.outcomes: list[FixtureOutcome] = []
        self.then = then

    def planned(self, count: int) -> None:
        if self.then is not None:
            self.then.planned(count)

    def finished(self, outcome: FixtureOutcome) -> None:
        self.outcomes.append(outcome)
        if self.then is not None:
            self.then.finished(outcome)

    def in_order(self, results: Sequence[FixtureResult]) -> list[FixtureOutcome]:
        """The outcomes in the order of `results` (a report's), each with its result as there
        (quarantined, reproduced); results with no outcome are left out."""
        by_id = {o.result.id: o for o in self.outcomes}
        return [dataclasses.replace(by_id[r.id], result=r) for r in results if r.id in by_id]


def _outcome(result: FixtureResult, outcomes: Sequence[_Outcome] = ()) -> FixtureOutcome:
    return FixtureOutcome(result, tuple(RunOutcome(n, o.run, o.passed, o.error, tuple(o.failures or ()))
                                        for n, o in enumerate(outcomes, 1)))


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_fixture_file(root: Path, config: Config, path: FixtureSource) -> LoadedFixture | FixtureResult:
    """A fixture file (relative to `root` or absolute), or the error result that stands for it."""
    full = Path(path) if Path(path).is_absolute() else root / path
    rel = _rel(root, full)
    try:
        return fixtures.load_file(root, config, full, rel)
    except (EvalloopError, ValidationError) as exc:
        from evalloop.validate.repository import scan_id

        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        ident = scan_id(full, config.max_fixture_bytes) or rel
        return FixtureResult(id=ident, severity=config.defaults.severity, status="error", path=rel,
                             owner=config.defaults.owner, error=f"fixture unreadable: {message}")


def _result(config: Config, lf: LoadedFixture, outcomes: list[_Outcome]) -> FixtureResult:
    """k-of-n: passes >= k pass; none fail; in between flaky; any error is an error."""
    fx = lf.fixture
    n = len(outcomes)
    need = fx.min_passes or n
    passes = sum(o.passed for o in outcomes)
    errors = [(i, o.error) for i, o in enumerate(outcomes, 1) if o.error is not None]
    failing = next((o.failures for o in outcomes if not o.passed and o.failures), None)
    base: dict[str, Any] = dict(
        id=fx.id, severity=lf.severity, path=lf.path, owner=fx.owner, reason=fx.reason, incident_id=fx.incident_id,
        runs=n, passes=passes, failures=failing or [], **_usage([o.run for o in outcomes if o.run is not None]))
    if errors:
        i, reason = errors[0]
        where = f"run {i} of {n}: " if n > 1 else ""
        return FixtureResult(status="error", error=where + str(reason), **base)
    status: ResultStatus = "pass" if passes >= need else "fail" if passes == 0 else "flaky"
    return FixtureResult(status=status, **base)


def _usage(runs: list[Run]) -> dict[str, Any]:
    """A result's time, tokens and cost: summed over the runs that recorded each (None when none
    did); values no budget could judge (NaN, infinite) are left out of the sum, not shown."""
    def total(values: list[Any]) -> Any:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        return sum(finite) if finite else None

    return {"duration_ms": total([r.latency_ms for r in runs]), "input_tokens": total([r.input_tokens for r in runs]),
            "output_tokens": total([r.output_tokens for r in runs]), "cost_usd": total([r.cost_usd for r in runs])}


def _judge(session: Session, evaluator: Evaluator, run: Run) -> _Outcome:
    try:
        judgement = evaluator.evaluate(run, tool_schemas=session.tool_schemas)
    except EvalloopError as exc:  # an expectation that cannot be evaluated, a bad tool schema
        return _Outcome(error=f"cannot evaluate: {exc.message}", run=run)
    violations = [*judgement.violations, *_unknown_tools(session, run)]
    return _Outcome(passed=not violations, failures=[v.to_dict() for v in violations], run=run)


def _unknown_tools(session: Session, run: Run) -> list[Violation]:
    return unknown_tools(session.manifest, session.agent.tools, run)


def unknown_tools(manifest: ToolManifest | None, manifest_name: str | None, run: Run) -> list[Violation]:
    """With a manifest, a call of a tool it does not list fails the run, whatever the fixture
    expects: the toolbox answered it with an error, but an agent reaching for a capability
    nobody reviewed (a typo, a hallucinated tool, a tool dropped from the manifest) must
    not pass because it coped with the error. `evalloop check` holds recorded runs to the same."""
    if manifest is None:
        return []
    listed = [t.name for t in manifest.tools]
    out = []
    for calls in unknown_tool_calls(run.spans, set(listed)):
        first = calls.spans[0]
        times = f", {len(calls.spans)} calls in all" if len(calls.spans) > 1 else ""
        out.append(Violation(
            "unknown_tool", f"tool {calls.name} is not in the tool manifest ({manifest_name}): called at "
            f"span {first} (tool call #{calls.positions[0]}){times}", expected=listed, actual=calls.name,
            span_index=first, ref=f"tool:{calls.name}", span_id=run.spans[first].span_id,
            details={"manifest": manifest_name, "spans": calls.spans, "tool_calls": calls.positions}))
    return out


@dataclass
class _Pending:
    """One fixture of the batch as it goes: what loading gave, why it cannot be judged (then
    it does not run), its evaluator, the judging of each run handed to the judge thread, each
    run's outcome by run number as it comes in, and once every run is in, the fixture's outcome."""

    loaded: LoadedFixture | FixtureResult | None = None
    unjudgeable: str | None = None
    evaluator: Evaluator | None = None
    judging: list[Future[None]] = field(default_factory=list)
    outcomes: dict[int, _Outcome] = field(default_factory=dict)
    decided: FixtureOutcome | None = None

    def decide(self, config: Config) -> FixtureOutcome | None:
        """The outcome once every run is in (None before); computed once."""
        loaded = self.loaded
        assert loaded is not None, "the batch prepares every fixture"
        if self.decided is None:
            if isinstance(loaded, FixtureResult):
                self.decided = _outcome(loaded)
            elif self.unjudgeable is not None:
                outcomes = [_Outcome(error=self.unjudgeable)] * loaded.fixture.runs
                self.decided = _outcome(_result(config, loaded, outcomes), outcomes)
            elif len(self.outcomes) == loaded.fixture.runs:
                outcomes = [self.outcomes[n] for n in range(1, loaded.fixture.runs + 1)]
                self.decided = _outcome(_result(config, loaded, outcomes), outcomes)
        return self.decided


def _run_and_judge(root: Path, config: Config, session: Session, fixtures: Sequence[FixtureSource | LoadedFixture],
                   jobs: int, watcher: Watcher | None) -> list[FixtureOutcome]:
    pending = [_Pending() for _ in fixtures]
    lock = threading.Lock()  # runs finish in the workers and the judge thread at once

    def settle(i: int, run_number: int | None = None, outcome: _Outcome | None = None) -> None:
        """Record a judged run (or a fixture that will not run); tell the watcher of the
        fixture once its last run is in."""
        with lock:
            p = pending[i]
            if run_number is not None and outcome is not None:
                p.outcomes[run_number] = outcome
            if p.decided is not None:
                return
            decided = p.decide(config)
            if decided is not None and watcher is not None:
                watcher.finished(decided)

    def prepare(i: int) -> Fixture | None:
        item, p = fixtures[i], pending[i]
        p.loaded = item if isinstance(item, LoadedFixture) else load_fixture_file(root, config, item)
        if isinstance(p.loaded, FixtureResult):
            settle(i)
            return None
        try:
            p.evaluator = compile_fixture(p.loaded.fixture)
        except EvalloopError as exc:  # an expectation that cannot be evaluated: do not run at all
            p.unjudgeable = f"cannot evaluate: {exc.message}"
            settle(i)
            return None
        return p.loaded.fixture

    def judge(i: int, run_number: int, run: Run) -> None:
        evaluator = pending[i].evaluator
        assert evaluator is not None
        settle(i, run_number, _judge(session, evaluator, run))

    def done(i: int, run_number: int, ran: Run | HarnessError) -> None:
        p = pending[i]
        if isinstance(ran, HarnessError):
            settle(i, run_number, _Outcome(error=ran.reason))
        else:
            p.judging.append(judges.submit(judge, i, run_number, ran))

    if watcher is not None:
        watcher.planned(len(fixtures))
    # one judge thread is enough (judging is CPU work under one interpreter lock); it judges
    # runs while the batch's workers go on with the next ones
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalloop-judge") as judges:
        run_batch(session, range(len(fixtures)), prepare, done, jobs=jobs)
        for p in pending:
            for future in p.judging:
                future.result()  # a judge that raised ends the batch, as a worker that raised does
    decided = [p.decide(config) for p in pending]
    assert all(d is not None for d in decided), "every run of every fixture is judged"
    return [d for d in decided if d is not None]


def _unrunnable(root: Path, config: Config, fixtures: Sequence[FixtureSource | LoadedFixture],
                problem: str, watcher: Watcher | None) -> list[FixtureOutcome]:
    """Without an agent to run them, each fixture is an error (with its own id, owner and severity)."""
    if watcher is not None:
        watcher.planned(len(fixtures))
    out = []
    for item in fixtures:
        lf = item if isinstance(item, LoadedFixture) else load_fixture_file(root, config, item)
        out.append(_outcome(lf) if isinstance(lf, FixtureResult) else
                   _outcome(_result(config, lf, [_Outcome(error=problem)]), [_Outcome(error=problem)]))
        if watcher is not None:
            watcher.finished(out[-1])
    return out


def execute(root: Path, config: Config, fixtures: Sequence[FixtureSource | LoadedFixture], *,
            jobs: int = 1, agent: AgentConfig | None = None, watcher: Watcher | None = None) -> list[FixtureOutcome]:
    """Run and judge fixtures, `jobs` runs at a time; one outcome per fixture, in the given order,
    each with the runs it was decided on.

    `fixtures` are loaded fixtures or fixture files (relative to `root` or
    absolute). Everything about the agent comes from `root` and `agent` (default:
    `config.agent`): to run against another checkout, pass its root and its
    config. A fixture with `runs: n` runs n times (see `_result` for k-of-n).
    `watcher` hears of each fixture as soon as it is decided, in the order they finish.
    """
    agent = agent or config.agent
    if agent is None:
        return _unrunnable(root, config, fixtures,
                           "no agent configured: add `agent:` (entrypoint or command) to evalloop.yaml", watcher)
    try:
        session = Session(root, agent, parallel=jobs)
    except EvalloopError as exc:
        return _unrunnable(root, config, fixtures, f"cannot set up the agent: {exc}", watcher)
    with session:
        return _run_and_judge(root, config, session, fixtures, jobs, watcher)


def run_fixtures(root: Path, config: Config, fixtures: Sequence[FixtureSource | LoadedFixture], *,
                 jobs: int = 1, agent: AgentConfig | None = None) -> list[FixtureResult]:
    """The results of `execute`, without the runs."""
    return [o.result for o in execute(root, config, fixtures, jobs=jobs, agent=agent)]


def run_selected(root: Path, config: Config, selected: list[Selected], jobs: int,
                 loaded: Sequence[LoadedFixture | str] | None = None, watcher: Watcher | None = None
                 ) -> list[FixtureResult]:
    """Run the selected fixtures through the agent harness; no agent is an error each.

    `loaded` (one per selected fixture: a LoadedFixture, or why it could not be loaded) gives
    the fixtures as the revision's objects have them; without it the files under `root` are read.
    `watcher` hears of each fixture as it is decided (see `execute`)."""
    if not selected:
        return []
    if loaded is None:
        return [o.result for o in execute(root, config, [s.path for s in selected], jobs=jobs, watcher=watcher)]
    errors = [FixtureResult(id=s.id, severity=s.severity, status="error", path=s.path,
                            error=f"fixture unreadable: {lf}") for s, lf in zip(selected, loaded, strict=True)
              if isinstance(lf, str)]
    if watcher is not None and errors:
        watcher.planned(len(errors))
        for error in errors:
            watcher.finished(_outcome(error))
    ran = execute(root, config, [lf for lf in loaded if not isinstance(lf, str)], jobs=jobs, watcher=watcher)
    return errors + [o.result for o in ran]


__all__ = ["FixtureOutcome", "LoadedFixture", "Recorder", "RunOutcome", "Watcher", "execute", "load_fixture_file",
           "run_fixtures", "run_selected"]

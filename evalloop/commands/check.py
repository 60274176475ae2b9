"""`evalloop check FIXTURE TRACE`: evaluate one recorded run against one fixture.

Exit 0 when the run passes, 1 when it violates the fixture, 2 when the input is
unusable (unreadable or invalid fixture, unreadable trace, no run or several
runs to choose from without `--run`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from evalloop import parse
from evalloop.config import Config
from evalloop.errors import EvalloopError, UsageError
from evalloop.fixtures import Fixture
from evalloop.report import clean
from evalloop.runs import Run
from evalloop.trajectory import FixtureError, Verdict, compile


def load_fixture(path: Path) -> Fixture:
    """The fixture in `path`; a one-line, positioned EvalloopError when it is not one."""
    if not path.is_file():
        raise UsageError("no such fixture file", path=str(path))
    max_bytes = Config.model_fields["max_fixture_bytes"].default
    doc = parse.load_document(path, max_bytes=max_bytes)
    try:
        fixture = Fixture.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first["loc"])
        line, col = parse.locate(doc, loc, key=first["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc if isinstance(p, str | int)) or "(root)"
        more = f" (and {len(errors) - 1} more; see `evalloop validate`)" if len(errors) > 1 else ""
        # Keys and messages can carry the fixture's own text: keep it off the terminal.
        raise EvalloopError(clean(f"invalid fixture: {where}: {first['msg']}{more}"),
                            path=doc.display, line=line, col=col) from None
    try:
        compile(fixture)
    except FixtureError as exc:
        line, col = parse.locate(doc, exc.loc)
        raise EvalloopError(clean(f"invalid fixture: {exc.message}"), path=doc.display,
                            line=line, col=col) from None
    return fixture


def pick_run(runs: list[Run], run_id: str | None, path: Path) -> Run:
    """The run to judge: the only one, or the one `--run` names. Never a guess."""
    ids = [r.run_id or r.trace_id or f"#{i}" for i, r in enumerate(runs)]
    shown = ", ".join(ids[:20]) + (f", ... ({len(ids)} runs)" if len(ids) > 20 else "")
    if run_id is None:
        if len(runs) == 1:
            return runs[0]
        if not runs:
            raise EvalloopError("the trace holds no run", path=str(path))
        raise UsageError(f"the trace holds {len(runs)} runs; choose one with --run: {clean(shown)}",
                         path=str(path))
    for r in runs:
        if run_id in (r.run_id, r.trace_id):
            return r
    if re.fullmatch(r"#\d+", run_id) and int(run_id[1:]) < len(runs):
        return runs[int(run_id[1:])]
    raise UsageError(f"no run {clean(run_id)!r} in the trace; it holds: {clean(shown)}",
                     path=str(path))


def _value(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return clean(text if len(text) <= limit else text[: limit - 3] + "...")


def format_text(verdict: Verdict, fixture_path: Path, trace_path: Path) -> str:
    head = "PASS" if verdict.passed else "FAIL"
    run = f" run {verdict.run_id}" if verdict.run_id else ""
    count = len(verdict.violations)
    lines = [clean(f"{head} {verdict.fixture_id}{run} ({trace_path})" +
                  ("" if verdict.passed else f": {count} violation{'s' if count != 1 else ''}"))]
    for v in verdict.violations:
        lines.append(f"  {v.kind}: {clean(v.message)}")
        where = []
        if v.span_index is not None:
            where.append(f"span {v.span_index}")
        if v.ref is not None:
            where.append(clean(v.ref))
        if v.span_id is not None:
            where.append(f"id {clean(v.span_id)}")
        if where:
            lines.append(f"      at: {' '.join(where)}")
        if v.expected is not None:
            lines.append(f"      expected: {_value(v.expected)}")
        lines.append(f"      actual: {_value(v.actual) if v.actual is not None else '(none)'}")
        if v.details:
            lines.append(f"      details: {_value(dict(v.details), 300)}")
    return "\n".join(lines)


def check(fixture_path: Path, trace_path: Path, *, fmt: str = "text", run_id: str | None = None,
          trace_format: str | None = None) -> int:
    from evalloop.traces import load_runs

    fixture = load_fixture(fixture_path)
    if not trace_path.is_file():
        raise UsageError("no such trace file", path=str(trace_path))
    runs = load_runs(trace_path, trace_format)
    run = pick_run(runs, run_id, trace_path)
    verdict = compile(fixture).evaluate(run)
    if fmt == "json":
        sys.stdout.write(verdict.to_json() + "\n")
    else:
        sys.stdout.write(format_text(verdict, fixture_path, trace_path) + "\n")
    return 0 if verdict.passed else 1

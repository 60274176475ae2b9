"""`evalloop check FIXTURE TRACE`: evaluate one recorded run against one fixture.

Exit 0 when the run passes, 1 when it violates the fixture, 2 when the input is
unusable (unreadable or invalid fixture, unreadable trace, no run). A file of
several runs without `--run` has each judged: 1 when any fails.

Spans no importer rule recognised that look like tool calls, model calls or
agents are listed (`unrecognised`); a fixture with tool expectations fails
closed on tool-looking ones unless `trace_mapping` in evalloop.yaml maps them.

Tool-call arguments are validated against the JSON Schemas of the tool manifest
that the fixture's repository names (`agent.tools` in its evalloop.yaml), read
as the harness reads it, so a recorded run is held to the schemas a replayed
one is; a manifest that cannot be read makes the input unusable.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from evalloop.errors import EvalloopError, UsageError
from evalloop.evaluate.evaluator import compile_fixture
from evalloop.evaluate.judgement import FixtureError, Judgement, Violation
from evalloop.harness.manifest import ToolManifest
from evalloop.model.config import Config
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from evalloop.repo import parse
from evalloop.text import clean
from evalloop.traces.unrecognised import Unrecognised


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
        compile_fixture(fixture)
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


def format_text(judgement: Judgement, fixture_path: Path, trace_path: Path) -> str:
    head = "PASS" if judgement.passed else "FAIL"
    run = f" run {judgement.run_id}" if judgement.run_id else ""
    count = len(judgement.violations)
    lines = [clean(f"{head} {judgement.fixture_id}{run} ({trace_path})" +
                  ("" if judgement.passed else f": {count} violation{'s' if count != 1 else ''}"))]
    for v in judgement.violations:
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


def judges_tools(fixture: Fixture) -> bool:
    """Whether the fixture has an expectation an unrecognised tool call could pass."""
    e = fixture.expected
    forbidden = [*e.forbidden_spans, *(fixture.forbidden_spans or [])]
    return bool(e.tools_called or e.tools_not_called or e.tool_args or e.tool_sequence
                or (e.budget is not None and e.budget.max_tool_calls is not None)
                or any(ref.startswith("tool:") for ref in forbidden))


def _cannot_judge(tools: list[Unrecognised]) -> Violation:
    names = sorted({u.name for u in tools})
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return Violation(
        "unrecognised_spans",
        f"cannot judge: {len(tools)} span{'s look' if len(tools) != 1 else ' looks'} like tool calls "
        f"but were not recognised ({shown}); map them with trace_mapping in evalloop.yaml",
        actual=[u.to_dict() for u in tools[:20]], details={"judged": False})


def judge(fixture: Fixture, run: Run, unrecognised: list[Unrecognised],
          tools: tuple[ToolManifest | None, str | None] = (None, None)) -> Judgement:
    """The run judged as the harness judges a replayed one: the fixture's expectations, the
    manifest's argument schemas, and no call of a tool the manifest does not list."""
    from evalloop.gate.execute import unknown_tools

    manifest, manifest_name = tools
    judgement = compile_fixture(fixture).evaluate(run, tool_schemas=manifest.schemas() if manifest else None)
    unlisted = unknown_tools(manifest, manifest_name, run)
    if unlisted:
        judgement = Judgement(judgement.fixture_id, False, [*judgement.violations, *unlisted], judgement.run_id)
    unseen = [u for u in unrecognised if u.kind == "tool"]
    if unseen and judges_tools(fixture):
        return Judgement(judgement.fixture_id, False, [_cannot_judge(unseen), *judgement.violations],
                         judgement.run_id)
    return judgement


def agent_tools(fixture_path: Path) -> tuple[ToolManifest | None, str | None]:
    """The tool manifest of the agent that runs the fixture (the evalloop.yaml nearest the
    fixture) and its name as the config writes it; (None, None) when it names none."""
    from evalloop.harness.manifest import agent_manifest
    from evalloop.repo.config import find_root, load_config

    root = find_root(fixture_path.parent)
    agent = load_config(root).agent
    return agent_manifest(root, agent), agent.tools if agent else None


def _mapping(trace_path: Path) -> tuple[tuple[str, str], ...]:
    from evalloop.repo.config import find_root, load_config

    root = find_root(trace_path.parent if trace_path.parent != Path() else Path.cwd())
    cfg = load_config(root)
    if not cfg.trace_mapping:
        root = find_root(Path.cwd())
        cfg = load_config(root)
    return tuple((m.attribute, m.type) for m in cfg.trace_mapping)


def _unrecognised_note(unrecognised: list[Unrecognised]) -> str:
    kinds: dict[str, list[str]] = {}
    for u in unrecognised:
        kinds.setdefault(u.kind, []).append(u.name)
    parts = []
    for kind, names in sorted(kinds.items()):
        shown = ", ".join(sorted(set(names))[:5])
        parts.append(f"{len(names)} look like {kind}s ({clean(shown)})")
    return ("  note: spans not recognised: " + "; ".join(parts) +
            " (see `--format json`; map them with trace_mapping in evalloop.yaml)")


def _doc(judgement: Judgement, unrecognised: list[Unrecognised]) -> dict[str, Any]:
    doc = judgement.to_dict()
    doc["unrecognised"] = [u.to_dict() for u in unrecognised]
    return doc


def _dumps(doc: Any) -> str:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode()


def check(fixture_path: Path, trace_path: Path, *, fmt: str = "text", run_id: str | None = None,
          trace_format: str | None = None) -> int:
    """Judge the run `--run` names, the only run, or every run of the file."""
    from evalloop.traces.load import load_runs_report

    fixture = load_fixture(fixture_path)
    tools = agent_tools(fixture_path)
    if not trace_path.is_file():
        raise UsageError("no such trace file", path=str(trace_path))
    runs, unrecognised = load_runs_report(trace_path, trace_format, _mapping(trace_path))
    chosen = [pick_run(runs, run_id, trace_path)] if run_id is not None or len(runs) <= 1 \
        else runs
    results = []
    for run in chosen:
        found = unrecognised.get(run.trace_id or "", []) if run.trace_id is not None else []
        results.append((run, judge(fixture, run, found, tools), found))
    if len(results) == 1:
        _run, judgement, found = results[0]
        if fmt == "json":
            sys.stdout.write(_dumps(_doc(judgement, found)) + "\n")
        else:
            text = format_text(judgement, fixture_path, trace_path)
            if found:
                text += "\n" + _unrecognised_note(found)
            sys.stdout.write(text + "\n")
        return 0 if judgement.passed else 1
    failed = sum(not v.passed for _r, v, _f in results)
    if fmt == "json":
        sys.stdout.write(_dumps([_doc(v, f) for _r, v, f in results]) + "\n")
    else:
        ids = [clean(v.run_id or r.trace_id or f"#{i}") for i, (r, v, _f) in enumerate(results)]
        width = max(len("run"), *(len(i) for i in ids))
        lines = [clean(f"{'FAIL' if failed else 'PASS'} {fixture.id} ({trace_path}): "
                       f"{len(results)} runs, {failed} failed"),
                 f"  {'run':<{width}}  result  violations"]
        for rid, (_r, v, _f) in zip(ids, results, strict=True):
            lines.append(f"  {rid:<{width}}  {'pass' if v.passed else 'FAIL':<6}  "
                         f"{len(v.violations)}")
        for _r, v, f in results:
            if v.passed and not f:
                continue
            lines.append("")
            lines.append(format_text(v, fixture_path, trace_path))
            if f:
                lines.append(_unrecognised_note(f))
        sys.stdout.write("\n".join(lines) + "\n")
    return 1 if failed else 0

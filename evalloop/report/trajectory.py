"""What the agent did, run by run: the trajectory `--verbose` prints, and the native run JSON
`--save-runs` writes (what `evalloop check FIXTURE FILE` reads back).

A trajectory lists each span in order (position, status, type, name, arguments, what it
returned, its error), then the run's output, how it ended, its time, tokens and cost.
Values are shown as JSON, shortened at a word boundary with the full length said; every
untrusted value goes through `evalloop.text.clean`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evalloop.model.run import Run, Span
from evalloop.repo.fs import atomic_write
from evalloop.report.text import Usage, plural
from evalloop.report.values import shorten, show
from evalloop.text import clean

if TYPE_CHECKING:
    from evalloop.gate.execute import FixtureOutcome, RunOutcome

ARGS_LIMIT = 120  # characters of a span's arguments on its line
RESULT_LIMIT = 100
OUTPUT_LIMIT = 400
NAME_LIMIT = 40
def _span_lines(spans: Sequence[Span]) -> list[str]:
    if not spans:
        return ["      (no spans)"]
    kinds = [clean(s.type) for s in spans]
    names = [clean(shorten(s.name, NAME_LIMIT)) for s in spans]
    index_width = len(str(len(spans) - 1))
    type_width, name_width = max(map(len, kinds)), max(map(len, names))
    indent = " " * (6 + index_width + 2 + 10)
    out = []
    for i, (s, kind, name) in enumerate(zip(spans, kinds, names, strict=True)):
        args = "" if s.args is None else show(s.args, ARGS_LIMIT)
        out.append(f"      {i:>{index_width}}  {s.status:10}{kind:{type_width}} {name:{name_width}}  {args}".rstrip())
        if s.result is not None:
            out.append(f"{indent}-> {show(s.result, RESULT_LIMIT)}")
        if s.error is not None:
            out.append(f"{indent}error: {clean(shorten(s.error, OUTPUT_LIMIT))}")
    return out


def _run_lines(ran: RunOutcome, of: int) -> list[str]:
    verdict = "PASS" if ran.passed else "ERROR" if ran.error is not None else "FAIL"
    head = f"  run {ran.number} of {of}: {verdict}"
    if ran.error is not None:
        head += f": {clean(ran.error)}"
    elif ran.failures:
        kinds = ", ".join(dict.fromkeys(clean(f.get("kind", "?")) for f in ran.failures))
        head += f" ({plural(len(ran.failures), 'violation', 'violations')}: {kinds})"
    run = ran.run
    if run is None:
        return [head, "      (nothing recorded: the run did not finish)"]
    ended = [f"{key} {clean(value)}" for key, value in
             (("stop_reason", run.stop_reason), ("final_status", run.final_status), ("route", run.route))
             if value is not None]
    time, tokens, cost = Usage(run.latency_ms, run.input_tokens, run.output_tokens, run.cost_usd).cells()
    return [head, *_span_lines(run.spans),
            f"    output: {show(run.output, OUTPUT_LIMIT)}",
            *([f"    ended: {', '.join(ended)}"] if ended else []),
            f"    time {time}, tokens in/out {tokens}, cost {cost}"]


def render_trajectories(outcomes: Sequence[FixtureOutcome]) -> str:
    """Each fixture's runs, span by span, in the order given."""
    out = ["Trajectories:", ""]
    for o in outcomes:
        r = o.result
        where = f", {clean(r.path)}" if r.path else ""
        out.append(f"{r.status.upper()} {clean(r.id)} ({r.severity}{where})")
        if not o.runs:
            out.append(f"  (no run: {clean(r.error or 'nothing ran')})")
        for ran in o.runs:
            out += _run_lines(ran, len(o.runs))
        out.append("")
    return "\n".join(out)


# -- native run JSON -------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# names Windows keeps for devices, whatever extension follows
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)")
_NAME_LIMIT = 120


def run_json(run: Run) -> str:
    """The run in the native format. NaN and infinities are written as Python's json writes them,
    which the native reader accepts: the saved run must be judged as the run was (a NaN cost
    fails its budget), not as a run with nothing recorded."""
    data = run.model_dump(mode="python")
    try:
        text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=True, default=str)
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from an in-process agent: escaped, not lost
        text = json.dumps(data, ensure_ascii=True, indent=2, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):  # a key JSON cannot have, an integer too long to print
        text = run.model_dump_json(indent=2)
    return text + "\n"


def file_stem(fixture_id: str) -> str:
    """A fixture id as a file name on any file system: unsafe characters replaced, and then a
    short hash of the id so that two ids never share a file."""
    stem = _UNSAFE.sub("_", fixture_id).lstrip(".-")[:_NAME_LIMIT] or "fixture"
    if stem != fixture_id or _RESERVED.match(stem):
        stem += "-" + hashlib.sha256(fixture_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return stem


def save_runs(outcomes: Sequence[FixtureOutcome], directory: Path) -> tuple[list[Path], int]:
    """Write each recorded run to `directory/<fixture-id>.run<N>.json`, atomically; returns the
    files written and how many runs had nothing to write (the harness did not finish them)."""
    written: list[Path] = []
    taken: dict[str, str] = {}  # case-folded stem -> the id that has it (case-insensitive file systems)
    missing = 0
    for o in outcomes:
        stem = file_stem(o.result.id)
        if taken.setdefault(stem.casefold(), o.result.id) != o.result.id:
            stem += "-" + hashlib.sha256(o.result.id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        for ran in o.runs:
            if ran.run is None:
                missing += 1
                continue
            path = directory / f"{stem}.run{ran.number}.json"
            atomic_write(path, run_json(ran.run))
            written.append(path)
    return written, missing

"""Recorded agent traces as normalized runs (`evalloop.model.run`): the importers' entry point.

    load_runs(path, fmt=None) -> list[Run]
    detect_format(data) -> one of FORMATS

A file holds one JSON document or JSON Lines of them. The format is chosen by
content (`fmt` forces one). Trace formats give one run per trace id, ordered
by start time: a reader per format (`traces.otlp`, `traces.jaeger`, ...) hands
its spans to the `Collector` of `traces.assemble`, which maps them by the
attribute rules every format shares (`traces.classify`).
Unusable input raises EvalloopError naming the file, never returns zero runs.
docs/traces.md is the user-facing description.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.run import Run
from evalloop.traces import anyagent, aws, jaeger, langfuse, otlp
from evalloop.traces.assemble import Collector, build_runs
from evalloop.traces.raw import RawSpan
from evalloop.traces.unrecognised import Unrecognised

FORMATS: tuple[str, ...] = ("native", "otlp", "openinference", "jaeger", "any_agent",
                            "langfuse", "aws", "spans")

_RUN_KEYS = frozenset(Run.model_fields)
_BOM = b"\xef\xbb\xbf"
_NON_SPACE = re.compile(rb"[^ \t\r\n]")
_EXPECTED = ('expected an evalloop run, OTLP/JSON ({"resourceSpans": [...]}), Jaeger JSON '
             '({"data": [...]}), an any-agent trace ({"spans": [...], "final_output": ...}), '
             'a Langfuse export ({"trace": ..., "observations": [...]}) or span objects '
             '(aws/spans lines, {"traceId", "spanId", "name", "attributes"})')


def load_runs(path: Path, fmt: str | None = None) -> list[Run]:
    """The runs recorded in `path`; EvalloopError (with the path) when it has none."""
    return load_runs_report(path, fmt)[0]



def load_runs_report(path: Path, fmt: str | None = None,
                     mapping: tuple[tuple[str, str], ...] = (),
                     ) -> tuple[list[Run], dict[str, list[Unrecognised]]]:
    """The runs in `path` and, by trace id, the spans no rule recognised that look
    like a tool call, a model call or an agent (`unrecognised.looks_like`).

    `mapping` is the user's `trace_mapping`: (attribute, span type) pairs.
    """
    shown = str(path)
    if fmt is not None and fmt not in FORMATS:
        raise EvalloopError(f"unknown trace format {fmt!r} (expected one of {', '.join(FORMATS)})",
                            path=shown)
    raw = _read(path, shown)
    # A large import allocates millions of containers and none of them can form
    # a cycle; the collector's passes over the growing heap cost more than the
    # import itself. One young-generation pass at the end settles the account
    # here, instead of on the caller's next allocation.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(raw, shown, fmt, mapping)
    except EvalloopError as exc:
        if exc.path is None:
            exc.path = shown
        raise
    except RecursionError:
        raise EvalloopError("JSON nested too deeply", path=shown) from None
    finally:
        if was_enabled:
            gc.collect(0)
            gc.enable()


def detect_format(data: Any) -> str:
    """Which importer reads `data` (one parsed document); EvalloopError when none does."""
    if otlp.is_otlp(data):
        return "openinference" if otlp.has_openinference(data) else "otlp"
    if langfuse.is_langfuse(data):  # before native: a Langfuse trace has `output`
        return "langfuse"
    if _is_native(data):
        return "native"
    if jaeger.trace_list(data) is not None:
        return "jaeger"
    if anyagent.span_list(data) is not None:
        return "any_agent"
    if aws.span_list(data) is not None:
        return "aws" if aws.is_aws(data) else "spans"
    if type(data) is list and data:
        if all(otlp.is_otlp(d) for d in data[:10]):
            return detect_format(data[0])
        raise EvalloopError(f"unknown trace format: a list whose first item is "
                            f"{_describe(data[0])}; {_EXPECTED}")
    raise EvalloopError(f"unknown trace format: {_describe(data)}; {_EXPECTED}")


# --- reading and parsing --------------------------------------------------------------

def _read(path: Path, shown: str) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalloopError(f"cannot read file: {exc.strerror or exc}", path=shown) from None
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    if not raw or raw.isspace():
        raise EvalloopError("empty file (no spans found)", path=shown)
    return raw


def _json_error(exc: ValueError, shown: str, line: int | None = None) -> EvalloopError:
    if isinstance(exc, json.JSONDecodeError):
        return EvalloopError(f"not JSON: {exc.msg}", path=shown,
                             line=exc.lineno if line is None else line, col=exc.colno)
    return EvalloopError(f"not JSON: {exc}", path=shown, line=line)


class _NumberTooLong(ValueError):
    """A JSON integer with more digits than Python converts (`int()` refuses them
    with a ValueError naming an interpreter setting, which is no help here)."""


_MAX_DIGITS = 4300  # sys.get_int_max_str_digits() by default


def _exact_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > _MAX_DIGITS:
        raise _NumberTooLong(f"a number of {digits} digits is too long ({_MAX_DIGITS} at most)")
    return int(text)


def _orjson_int(text: str) -> int | float:
    """An integer as orjson reads one: exact within 64 bits, a float beyond, an error
    beyond a double."""
    if len(text) <= 18:
        return int(text)
    number = float(text)
    if math.isinf(number):
        raise ValueError("number is infinity when parsed as double")
    value = int(text)  # 310 digits at most here
    return value if -2**63 <= value < 2**64 else number


def _orjson_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError("number is infinity when parsed as double")
    return number


def fast_loads(data: bytes | memoryview) -> Any:
    """orjson, and what it refuses but Python's `json.dumps` writes: the NaN,
    Infinity and -Infinity of a measurement that went wrong.

    Such a run must reach the evaluator, which says its budget cannot be judged;
    "not JSON" would hide that behind the file. Only those constants are let
    through: the second parse reads numbers as orjson does, and anything orjson
    cannot write back (lone surrogates) fails with orjson's own error.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            doc = json.loads(bytes(data), parse_int=_orjson_int, parse_float=_orjson_float)
            orjson.dumps(doc)
        except (ValueError, TypeError, RecursionError):  # TypeError: orjson.JSONEncodeError
            pass
        else:
            return doc
        raise


def exact_loads(data: bytes) -> Any:
    """Python's json, for integers beyond 64 bits (any-agent's decimal ids)."""
    return json.loads(data, parse_int=_exact_int)


Documents = tuple[int | None, Any, Iterator[tuple[int, Any]]]


def _documents(raw: bytes, shown: str, loads: Any) -> Documents:
    """(line of the first document, None when the file is one document; the first
    document; the rest as (line, document) pairs)."""
    first = _NON_SPACE.search(raw)
    if first is None:
        raise EvalloopError("empty file (no spans found)", path=shown)
    start = raw.rfind(b"\n", 0, first.start()) + 1
    stop = raw.find(b"\n", first.start())
    if stop >= 0 and _NON_SPACE.search(raw, stop) is not None:
        # JSON Lines when the first line is a document of its own; parsing the
        # whole file first would cost a pass over 100 MB just to fail.
        view = memoryview(raw)
        try:
            doc = loads(view[start:stop] if loads is fast_loads else raw[start:stop])
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, _NumberTooLong
            pass
        else:
            lineno = raw.count(b"\n", 0, start) + 1
            return lineno, doc, _lines(raw, view, stop + 1, lineno + 1, shown, loads)
    try:
        return None, loads(raw), iter(())
    except UnicodeDecodeError as exc:
        raise EvalloopError(f"not UTF-8 text: {exc}", path=shown) from None
    except ValueError as exc:  # orjson's error is a JSONDecodeError; _NumberTooLong
        raise _json_error(exc, shown) from None


def _lines(raw: bytes, view: memoryview, start: int, lineno: int, shown: str,
           loads: Any) -> Iterator[tuple[int, Any]]:
    size = len(raw)
    use_view = loads is fast_loads
    find = raw.find
    while start < size:
        end = find(b"\n", start)
        if end < 0:
            end = size
        if end > start:
            chunk = view[start:end] if use_view else raw[start:end]
            try:
                yield lineno, loads(chunk)
            except ValueError as exc:  # JSONDecodeError, _NumberTooLong
                if raw[start:end].strip():
                    raise _json_error(exc, shown, lineno) from None
        start, lineno = end + 1, lineno + 1


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(list(map(str, data))[:8]) or "none"
        return f"an object with keys {keys}"
    if isinstance(data, list):
        return "an empty list" if not data else f"a list of {type(data[0]).__name__}"
    return f"a JSON {type(data).__name__}"


def _is_native(data: Any) -> bool:
    if type(data) is list:
        return bool(data) and _is_native_run(data[0])
    if type(data) is dict and type(data.get("runs")) is list:
        return True
    return _is_native_run(data)


def _is_native_run(data: Any) -> bool:
    if type(data) is not dict:
        return False
    spans = data.get("spans")
    if spans is None:
        # A run without spans: recognizable by its outcome fields.
        return bool(data) and any(k in data for k in ("final_status", "stop_reason", "output",
                                                      "run_id"))
    if type(spans) is not list:
        return False
    first = spans[0] if spans else None
    if first is None:
        return "final_output" not in data and bool(set(data) & (_RUN_KEYS - {"spans"}))
    return type(first) is dict and "type" in first and "context" not in first \
        and "spanId" not in first


# --- importers ----------------------------------------------------------------------

def _load(raw: bytes, shown: str, fmt: str | None, mapping: tuple[tuple[str, str], ...] = (),
          ) -> tuple[list[Run], dict[str, list[Unrecognised]]]:
    first_line, first, rest = _documents(raw, shown, fast_loads)
    chosen = fmt or detect_format(first)
    if chosen == "any_agent":
        # orjson turns integers beyond 64 bits (any-agent's decimal ids) into floats.
        first_line, first, rest = _documents(raw, shown, exact_loads)
    if chosen == "native":
        return _native(first_line, first, rest, shown), {}
    collector = Collector(oi_first=chosen == "openinference", mapping=mapping)
    outputs: dict[str, str] = {}
    reader = _reader(chosen, first)
    add = collector.add
    n = reader(first, add, "document" if first_line is None else f"line {first_line}", outputs)
    for lineno, doc in rest:
        n += reader(doc, add, f"line {lineno}", outputs)
    if n == 0:
        raise EvalloopError(f"no spans found: the {_label(chosen)} data holds no spans")
    runs = build_runs(collector, source=f"{chosen}:{shown}", final_outputs=outputs)
    if not runs:
        raise EvalloopError(
            f"no spans found: {n} span(s) in {len(collector.traces)} trace(s), none with an "
            "agent meaning (gen_ai.operation.name, openinference.span.kind, evalloop.span.type, "
            "...)")
    return runs, collector.unrecognised


def _label(fmt: str) -> str:
    return {"otlp": "OTLP", "openinference": "OTLP", "jaeger": "Jaeger",
            "any_agent": "any-agent", "langfuse": "Langfuse", "aws": "aws/spans"}.get(fmt, fmt)


Add = Callable[[RawSpan], None]
Reader = Callable[[Any, Add, str, dict[str, str]], int]


def _read_otlp(doc: Any, add: Add, where: str, _outputs: dict[str, str]) -> int:
    return otlp.read(doc, add, where)


def _read_jaeger(doc: Any, add: Add, where: str, _outputs: dict[str, str]) -> int:
    return jaeger.read(doc, add, where)


def _reader(fmt: str, first: Any) -> Reader:
    if fmt == "openinference":
        # OpenInference is an attribute dialect: it arrives in OTLP or Jaeger containers.
        return _read_jaeger if jaeger.trace_list(first) is not None else _read_otlp
    readers: dict[str, Reader] = {"otlp": _read_otlp, "jaeger": _read_jaeger,
                                  "any_agent": anyagent.read,
                                  "langfuse": langfuse.read, "aws": aws.read,
                                  "spans": aws.read}
    return readers[fmt]


def _native(first_line: int | None, first: Any, rest: Iterator[tuple[int, Any]],
            shown: str) -> list[Run]:
    entries: list[tuple[str, int | None, Any]] = []
    if first_line is None:
        if type(first) is dict and "runs" in first:
            items = first["runs"]
            if type(items) is not list:
                raise EvalloopError("$.runs: expected a list of runs")
            entries = [(f"$.runs[{i}]", None, item) for i, item in enumerate(items)]
        elif type(first) is list:
            entries = [(f"$[{i}]", None, item) for i, item in enumerate(first)]
        else:
            entries = [("$", None, first)]
    else:
        entries = [("$", first_line, first)]
        entries += [("$", lineno, doc) for lineno, doc in rest]
    if not entries:
        raise EvalloopError("no spans found: the file holds no runs")
    runs = []
    for n, (where, line, item) in enumerate(entries, 1):
        try:
            run = Run.model_validate(item)
        except ValidationError as exc:
            raise EvalloopError(_validation_message(exc, where), line=line) from None
        if run.source is None:
            run.source = f"native:{shown}"
        if run.run_id is None:
            run.run_id = run.trace_id or f"{Path(shown).stem}#{n}"
        runs.append(run)
    return runs


def _validation_message(exc: ValidationError, where: str) -> str:
    errors = exc.errors()
    err = errors[0]
    path = where
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid run at {path}: {err['msg']}{more}"

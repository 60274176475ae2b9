"""The budgets: tool calls, retries of a failed call, tokens, cost and latency, each
judged only on a measurement that can be trusted."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalloop.evaluate.judgement import Violation
from evalloop.evaluate.values import call_text, dumps
from evalloop.evaluate.view import Check, View, span_evidence
from evalloop.model.fixture import Budget
from evalloop.model.run import COUNT_FIELDS, Run, Span, describe

_FAILING = frozenset({"failed", "denied"})


@dataclass(slots=True)
class _Reading:
    """A budget's measurement of a run: the value (None: not measured), where it
    came from, and every value met on the way that cannot be trusted."""

    value: float | None = None
    source: str = ""
    # (span index, field) -> why, in the order met; a dict so that thousands of broken
    # spans cost a lookup each, not a scan of the ones before
    problems: dict[tuple[int | None, str], str] | None = None

    def refuse(self, span_index: int | None, field: str, why: str) -> None:
        if self.problems is None:
            self.problems = {}
        # "abc" was stored as NaN: say so once, with what was recorded (the first reason wins)
        self.problems.setdefault((span_index, field), why)


def _wrong(value: Any) -> str | None:
    """Why a recorded cost or count cannot be judged (None: a finite number >= 0).

    Every test is written so that NaN lands on the failing side.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"is {describe(value)}, not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "is NaN" if value != value else f"is infinite ({value!r})"
    if not value >= 0:
        return f"is negative ({_num(value)})"
    return None


def _wrong_time(t: Any) -> str | None:
    """Why a recorded time cannot be used (None: a finite number, of any sign)."""
    if isinstance(t, bool) or not isinstance(t, int | float):
        return f"is {describe(t)}, not a time"
    if isinstance(t, float) and not math.isfinite(t):
        return "is NaN" if t != t else f"is infinite ({t!r})"
    return None


def _good_time(t: Any) -> bool:
    """A finite number; the float test first, as times nearly always are floats."""
    if type(t) is float:
        return -_FLOAT_MAX <= t <= _FLOAT_MAX
    return _wrong_time(t) is None


def _num(value: float) -> str:
    """A number for a message; `:g` of an int beyond a double's range raises."""
    if isinstance(value, int) and value.bit_length() > 1000:
        return describe(value)
    return f"{value:g}"


def _evidence(value: float) -> float | str:
    """A number for the evidence: orjson refuses integers beyond 64 bits."""
    if isinstance(value, int) and not -2**63 <= value < 2**64:
        return float(value) if value.bit_length() <= 1000 else describe(value)
    return value


def _recorded(run: Run, fields: tuple[str, ...], reading: _Reading) -> None:
    """The measurements the run recorded as non-numbers (see `evalloop.model.run`)."""
    for u in run.unjudged():
        if u.field in fields:
            what = "count" if u.field in COUNT_FIELDS else "number"
            reading.refuse(u.span_index, u.field, f"is {u.raw}, not a {what}")


def _tokens(run: Run) -> _Reading:
    """The run's token total, else the sum over its spans; every span's counts are
    checked either way, since importers sum the run's total from them."""
    reading = _Reading()
    _recorded(run, COUNT_FIELDS, reading)
    for field in COUNT_FIELDS:
        value = getattr(run, field)
        if value is not None and (why := _wrong(value)) is not None:
            reading.refuse(None, field, why)
    total, seen = 0, False
    for i, s in enumerate(run.spans):
        a, b = s.input_tokens, s.output_tokens
        if a is None and b is None:
            continue
        seen = True
        # the common case first, without a call: counts that are ints >= 0
        if (a is None or (type(a) is int and a >= 0)) and (b is None or (type(b) is int and b >= 0)):
            total += (a or 0) + (b or 0)
            continue
        for field, value in (("input_tokens", a), ("output_tokens", b)):
            if value is not None:
                if (why := _wrong(value)) is not None:
                    reading.refuse(i, field, why)
                else:
                    total += value
    if run.input_tokens is not None or run.output_tokens is not None:
        reading.value, reading.source = (run.input_tokens or 0) + (run.output_tokens or 0), "run"
    elif seen:
        reading.value, reading.source = total, "spans"
    return reading


_FLOAT_MAX = sys.float_info.max


def _cost(run: Run) -> _Reading:
    """The run's cost, else the sum over its spans; every span's cost is checked."""
    reading = _Reading()
    _recorded(run, ("cost_usd",), reading)
    if run.cost_usd is not None and (why := _wrong(run.cost_usd)) is not None:
        reading.refuse(None, "cost_usd", why)
    total, seen = 0.0, False
    for i, s in enumerate(run.spans):
        c = s.cost_usd
        if c is None:
            continue
        seen = True
        if type(c) is float and 0.0 <= c <= _FLOAT_MAX:  # finite, >= 0; NaN fails it
            total += c
        elif (why := _wrong(c)) is not None:
            reading.refuse(i, "cost_usd", why)
        else:
            total += c
    if run.cost_usd is not None:
        reading.value, reading.source = run.cost_usd, "run"
    elif seen:
        reading.value, reading.source = total, "spans"
    return reading


def _latency(run: Run) -> _Reading:
    """The run's latency, else the spans' extent (first start to last end).

    Unlike tokens and cost, span times are only checked when they are the
    measurement: the run's own latency (the harness's clock, a trace's root
    span) is not made of them.
    """
    reading = _Reading()
    latency = run.latency_ms
    if latency is not None:  # "abc" was stored as NaN, so it takes this way too
        _recorded(run, ("latency_ms",), reading)
        if (why := _wrong(latency)) is not None:
            reading.refuse(None, "latency_ms", why + (": the run ends before it starts"
                                                      if latency < 0 else ""))
        reading.value, reading.source = latency, "run"
        return reading
    _recorded(run, ("start_ms", "end_ms"), reading)
    first, last = math.inf, -math.inf
    for i, s in enumerate(run.spans):
        start, end = s.start_ms, s.end_ms
        # Times may be negative (relative to some origin); they must be finite, and
        # a span must not end before it starts. The chained comparison fails NaN.
        if start is not None:
            if _good_time(start):
                first = min(first, start)
            else:
                reading.refuse(i, "start_ms", _wrong_time(start) or "is not a time")
                start = None  # not compared with the end below
        if end is None:
            continue
        if not _good_time(end):
            reading.refuse(i, "end_ms", _wrong_time(end) or "is not a time")
            continue
        last = max(last, end)
        if start is not None and not end >= start:
            reading.refuse(i, "end_ms", f"({_num(end)}) is before its start_ms "
                           f"({_num(start)}): the span ends before it starts")
    if first != math.inf and last != -math.inf:
        if not last >= first and not reading.problems:  # else a span said why already
            reading.refuse(None, "latency_ms", f"would be negative: the spans' last end "
                           f"({_num(last)}) is before their first start ({_num(first)})")
        reading.value, reading.source = last - first, "spans"
    return reading


def _measured(kind: str, label: str, limit: float,
              measure: Callable[[Run], _Reading]) -> Check:
    def check(view: View, out: list[Violation]) -> None:
        run = view.run
        reading = measure(run)
        problems = [(i, f, w) for (i, f), w in (reading.problems or {}).items()]
        if problems:
            # A broken measurement fails the budget whatever the others say: the
            # total it belongs to cannot be trusted either. Spans first: a run's
            # total is most often summed from them, so they are where it broke.
            problems.sort(key=lambda p: p[0] is None)
            index, field, why = problems[0]
            span = run.spans[index] if index is not None and index < len(run.spans) else None
            where = "the run" if span is None else f"span {index} ({span.type}:{span.name})"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            shown = [f"{name} of {'the run' if i is None else f'span {i}'} {w}"
                     for i, name, w in problems[:20]]
            out.append(Violation(
                kind, f"budget cannot be judged: {field} of {where} {why}{more}; the budget is "
                f"{label} <= {_num(limit)}", expected=_evidence(limit), actual=why,
                details={"judged": False, "field": field, "problems": shown,
                         "run_source": run.source},
                **(span_evidence(index, span) if span is not None and index is not None else {})))
            return
        value = reading.value
        if value is None:
            out.append(Violation(kind, f"budget {label} <= {_num(limit)}, but the run does not "
                                 f"record {label}: not measured", expected=_evidence(limit),
                                 actual=None, details={"measured": False}))
        elif not value <= limit:  # the form in which NaN fails, should one get here
            out.append(Violation(kind, f"{label} {_num(value)} exceeds the budget of "
                                 f"{_num(limit)}", expected=_evidence(limit),
                                 actual=_evidence(value), details={"source": reading.source}))
    return check


def _max_tool_calls(limit: int) -> Check:
    def check(view: View, out: list[Violation]) -> None:
        calls = view.tools()
        if len(calls) > limit:
            i, s = calls[limit]
            out.append(Violation(
                "budget_tool_calls", f"{len(calls)} tool calls exceed the budget of {limit}; "
                f"call #{limit} at span {i} is the first over it", expected=limit,
                actual=len(calls), **span_evidence(i, s)))
    return check


def _call_key(s: Span) -> str:
    return s.name + "\x00" + dumps(s.args or {})


def _failing(s: Span) -> bool:
    return s.status in _FAILING or s.error is not None


def _max_retries(limit: int) -> Check:
    def check(view: View, out: list[Violation]) -> None:
        calls = view.tools()
        for _, s in calls:
            if s.status in _FAILING or s.error is not None:
                break
        else:
            return  # nothing failed, so nothing was retried
        failed: set[str] = set()
        retries: dict[str, list[int]] = {}
        for pos, (_, s) in enumerate(calls):
            key = _call_key(s)
            if key in failed:
                retries.setdefault(key, []).append(pos)
            if _failing(s):
                failed.add(key)
        if not retries:
            return
        worst = max(retries.values(), key=len)
        if len(worst) <= limit:
            return
        i, s = calls[worst[limit]]
        out.append(Violation(
            "budget_retries", f"{call_text(s.name, s.args or {})} was retried {len(worst)} "
            f"times after failing, over the budget of {limit}; span {i} is the first retry "
            "over it", expected=limit, actual=len(worst),
            details={"retry_spans": [calls[p][0] for p in worst],
                     "retries_by_call": {k.split("\x00", 1)[0]: len(v)
                                         for k, v in retries.items()}},
            **span_evidence(i, s)))
    return check


def budget_checks(b: Budget) -> list[Check]:
    checks: list[Check] = []
    if b.max_tool_calls is not None:
        checks.append(_max_tool_calls(b.max_tool_calls))
    if b.max_retries is not None:
        checks.append(_max_retries(b.max_retries))
    if b.max_tokens is not None:
        checks.append(_measured("budget_tokens", "tokens", b.max_tokens, _tokens))
    if b.max_cost_usd is not None:
        checks.append(_measured("budget_cost", "cost_usd", b.max_cost_usd, _cost))
    if b.max_latency_ms is not None:
        checks.append(_measured("budget_latency", "latency_ms", b.max_latency_ms, _latency))
    return checks


__all__ = ["budget_checks"]

"""The trajectory evaluator: judges one `Run` against one fixture's expectations.

The result is never a bare boolean. A `Judgement` lists every `Violation`, each with
a stable `kind` code and its evidence: the span (index into `run.spans`, its
`type:name` ref and id), the expected value and the actual one.

Semantics, chosen to protect the boundary a fixture exists for (fail closed):

* Spans are identified by their `type:name` ref, compared exactly. A span counts
  as having happened whatever its status: a required approval that is still
  `waiting` is present, and a forbidden tool call that `failed` or was `denied`
  was still attempted, which is what the fixture forbids.
* `order: [[A, B]]` means every occurrence of B is preceded by some A, i.e. the
  first A comes before the first B. A run with no A, or with no B, violates the
  pair too: an order that cannot be observed is not confirmed.
* `tool_args` (and `tool_sequence` in `subset` argument mode): the expected
  arguments are contained in the call's arguments; extra keys are allowed,
  nested objects are compared the same way, lists and scalars must be equal.
  Values compare as JSON does: `true` is not `1`, while `1` equals `1.0`.
* Output rules: a plain string is a case-insensitive whole-word (or whole-phrase)
  match, so `approved` matches "Approved!" and "pre-approved" but not
  "unapproved"; any run of whitespace in the phrase matches any whitespace.
  `{regex: ...}` is a case-insensitive search with Python's syntax. A run that
  recorded no output (`output` is null) cannot show it is clean, so any output
  rule then yields one `output_not_recorded` violation.
* Budgets: a budget the run has no measurement for is a violation ("not
  measured", `actual` null). Tokens and cost come from the run's totals, else
  the sum over its spans; latency from the run, else from the span times.
  A measurement that cannot be trusted is a violation too ("budget cannot be
  judged"): NaN, an infinity, a negative cost or token count, a span or run
  that ends before it starts, or a value that is not a number at all - found
  on the run or on any span, since a total summed from a broken span is
  broken as well. Comparisons are written so that NaN fails them.
  `max_retries` bounds, for each distinct tool call (same name, same
  arguments), the calls repeated after one of them failed (status `failed` or
  `denied`, or an `error`); the worst call is reported.
* A run with no spans and no outcome at all is a `run_error`: an importer that
  lost everything must not pass every "forbidden" check by default.
* Judging is bounded in time. Output rules run on the `regex` engine with a
  timeout per search (`regex_timeout_s`, 1 s by default); one that does not
  finish is a violation of its rule ("cannot be judged"), never a pass and
  never a hang. Patterns that backtrack catastrophically in an evident way
  (a quantifier nested in a quantifier that can split the same text in many
  ways, like `(a+)+`; alternatives in a repeat that match the same text, like
  `(a|a)*`) are refused when compiling, as a `FixtureError`. The whole
  evaluation of a run has a deadline (`deadline_s`, 10 s by default) that the
  regex timeouts count against; checks not started by then are reported as
  one `run_error`. The other checks are polynomial: tool sequences are paired
  by maximum matching (Kuhn), not by search.

Performance: `compile_fixture(fixture)` turns the expectations into a reusable
`Evaluator` once (cached per fixture object): span refs into sets, output
rules into compiled patterns, expected arguments into predicates that compare
with C-level `==` and check booleans only where JSON and Python disagree. A
run is then read once (its tool calls' names and arguments into lists); tool
sequences are paired in one greedy pass that is provably maximum in the common
cases, and a real maximum matching runs only for a tool whose greedy pairing
could have gone wrong (see `evalloop.evaluate.sequence`). Messages that render
arguments are built only when read. `bench/bench_check.py` measures it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

from evalloop.evaluate.budgets import budget_checks
from evalloop.evaluate.judgement import FixtureError, Judgement, Violation
from evalloop.evaluate.output import compile_rule, output_rules
from evalloop.evaluate.schemas import SchemaCache, schema_violations
from evalloop.evaluate.sequence import tool_sequence
from evalloop.evaluate.spans import forbidden_spans, outcome, required_spans, span_order
from evalloop.evaluate.tools import tool_args, tools_called, tools_not_called
from evalloop.evaluate.view import DEADLINE_S, REGEX_TIMEOUT_S, Check, View
from evalloop.model.fixture import Expected, Fixture
from evalloop.model.run import Run


def _run_error(view: View, out: list[Violation]) -> None:
    run = view.run
    if not run.spans and run.stop_reason is None and run.final_status is None \
            and run.output is None:
        out.append(Violation("run_error", "the run is empty: no spans and no outcome were "
                             "recorded", actual=None))


def _late(view: View, out: list[Violation], left: int) -> None:
    out.append(Violation(
        "run_error", f"judging did not finish within {view.deadline_s:g} s: {left} "
        f"expectation check{'s' if left != 1 else ''} not run, so the run cannot be judged",
        actual=None, details={"judged": False, "deadline_s": view.deadline_s,
                              "checks_not_run": left}))


def _expected_loc(fixture: Fixture, name: str) -> tuple[str | int, ...]:
    """Where an expectation sits in the document: at the top level (the regression shape) or
    under `expected`."""
    return (name,) if getattr(fixture, name, None) is not None else ("expected", name)


def _build_checks(fixture: Fixture, exp: Expected) -> list[Check]:
    checks: list[Check] = [_run_error]
    if exp.required_spans:
        checks.append(required_spans(list(dict.fromkeys(exp.required_spans))))
    if exp.forbidden_spans:
        checks.append(forbidden_spans(frozenset(exp.forbidden_spans)))
    if exp.order:
        pairs = []
        for n, (a, b) in enumerate(exp.order):
            if a == b:
                raise FixtureError(f"order pair names {a} twice", ("expected", "order", n))
            pairs.append((a, b))
        checks.append(span_order(pairs))
    for kind, attr in (("route", "route"), ("stop_reason", "stop_reason"),
                       ("final_status", "final_status")):
        want = getattr(exp, attr)
        if want is not None:
            checks.append(outcome(kind, attr, want))
    if exp.tools_called:
        checks.append(tools_called(list(dict.fromkeys(exp.tools_called))))
    if exp.tools_not_called:
        checks.append(tools_not_called(frozenset(exp.tools_not_called)))
    for name, args in exp.tool_args.items():
        checks.append(tool_args(name, args))
    if exp.tool_sequence is not None:
        checks.append(tool_sequence(exp.tool_sequence))
    if exp.output_must_contain or exp.output_must_not_contain:
        must = [compile_rule(r, (*_expected_loc(fixture, "output_must_contain"), n))
                for n, r in enumerate(exp.output_must_contain)]
        must_not = [compile_rule(r, (*_expected_loc(fixture, "output_must_not_contain"), n))
                    for n, r in enumerate(exp.output_must_not_contain)]
        checks.append(output_rules(must, must_not))
    if exp.budget is not None:
        checks.extend(budget_checks(exp.budget))
    return checks


class Evaluator:
    """A fixture's expectations compiled once, applied to any number of runs."""

    __slots__ = ("_checks", "_ref_names", "_schemas", "expected", "fixture_id")

    def __init__(self, fixture: Fixture) -> None:
        self.fixture_id = fixture.id
        self.expected = exp = fixture.expectations()
        self._checks = tuple(_build_checks(fixture, exp))
        refs = [*exp.required_spans, *exp.forbidden_spans, *(r for pair in exp.order for r in pair)]
        self._ref_names = frozenset(r.split(":", 1)[1] for r in refs)
        self._schemas = SchemaCache()

    def evaluate(self, run: Run, *, tool_schemas: Mapping[str, Any] | None = None,
                 deadline_s: float = DEADLINE_S,
                 regex_timeout_s: float = REGEX_TIMEOUT_S) -> Judgement:
        """Judge `run`. `deadline_s` bounds the whole evaluation, `regex_timeout_s` each
        search of an output rule (and counts against the deadline)."""
        view = View(run, self._ref_names, deadline_s=deadline_s, regex_timeout_s=regex_timeout_s)
        out: list[Violation] = []
        checks = self._checks
        for n, check in enumerate(checks):
            # Checked between checks: the clock costs next to nothing, and a check that
            # was never started must not count as passed.
            if n and time.monotonic() > view.deadline:
                _late(view, out, len(checks) - n + bool(tool_schemas))
                return Judgement(self.fixture_id, False, out, run.run_id)
            check(view, out)
        if tool_schemas:
            if time.monotonic() > view.deadline:
                _late(view, out, 1)
                return Judgement(self.fixture_id, False, out, run.run_id)
            schema_violations(view, self._schemas.get(tool_schemas), out)
        return Judgement(self.fixture_id, not out, out, run.run_id)


_CACHE: dict[int, tuple[weakref.ref[Fixture], Evaluator]] = {}
_CACHE_MAX = 4096


def compile_fixture(fixture: Fixture) -> Evaluator:
    """The fixture's `Evaluator`, built once per fixture object.

    Raises `FixtureError` (with the offending value's location) for expectations
    that cannot be evaluated, such as an invalid regular expression.
    """
    key = id(fixture)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is fixture:
        return hit[1]
    evaluator = Evaluator(fixture)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    # A weak reference, checked on lookup: a new fixture that reuses a dead one's
    # id is never served the old evaluator, and the cache keeps no fixture alive.
    _CACHE[key] = (weakref.ref(fixture), evaluator)
    return evaluator


def evaluate(fixture: Fixture, run: Run, *, tool_schemas: Mapping[str, Any] | None = None,
             deadline_s: float = DEADLINE_S, regex_timeout_s: float = REGEX_TIMEOUT_S) -> Judgement:
    """Judge `run` against `fixture`; see the module docstring for the semantics."""
    return compile_fixture(fixture).evaluate(run, tool_schemas=tool_schemas, deadline_s=deadline_s,
                                             regex_timeout_s=regex_timeout_s)


__all__ = ["Evaluator", "compile_fixture", "evaluate"]

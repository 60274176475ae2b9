"""The trajectory evaluator: judges one `Run` against one fixture's expectations.

The result is never a bare boolean. A `Verdict` lists every `Violation`, each with
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

Performance: `compile(fixture)` turns the expectations into a reusable
`Evaluator` once (cached per fixture object): span refs into sets, output
rules into compiled patterns, expected arguments into predicates that compare
with C-level `==` and check booleans only where JSON and Python disagree. A
run is then read once (its tool calls' names and arguments into lists); tool
sequences are paired in one greedy pass that is provably maximum in the common
cases, and a real maximum matching runs only for a tool whose greedy pairing
could have gone wrong (see `_pair`). Messages that render arguments are built
only when read. `bench/bench_check.py` measures it.
"""

from __future__ import annotations

import importlib
import math
import re
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import orjson
import regex  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import best_match

from evalloop.errors import EvalloopError
from evalloop.evaluate.matching import align, embed_in_order, max_matching
from evalloop.model.fixture import Budget, Expected, Fixture, RegexRule, ToolSequence
from evalloop.model.run import COUNT_FIELDS, Run, Span, describe

# The parser behind `re` (stdlib, private, stable since sre): it reads the pattern
# with exactly the syntax fixtures are documented to use, for the backtracking check.
_sre: Any = importlib.import_module("re._parser")

KINDS = (
    "run_error",
    "missing_span",
    "forbidden_span",
    "order",
    "route",
    "stop_reason",
    "final_status",
    "tool_not_called",
    "forbidden_tool",
    "tool_args",
    "tool_args_schema",
    "unknown_tool",  # a tool the manifest does not list (the harness checks it)
    "sequence",
    "output_contains",
    "output_missing",
    "output_not_recorded",
    "budget_tool_calls",
    "budget_retries",
    "budget_tokens",
    "budget_cost",
    "budget_latency",
)

_FAILING = frozenset({"failed", "denied"})
_SHOW = 80  # characters of a value shown inside a message; the evidence keeps it whole

REGEX_TIMEOUT_S = 1.0  # one search of one output rule
DEADLINE_S = 10.0  # the whole evaluation of one run


# --------------------------------------------------------------------------- results


class Violation:
    """One broken expectation and the evidence for it.

    `message` may be given as a function: sequence messages render call
    arguments, which costs more than judging the run, so they are only built
    when someone reads them (a gate over thousands of runs mostly does not).
    """

    __slots__ = ("_message", "actual", "details", "expected", "kind", "ref", "span_id",
                 "span_index")

    def __init__(self, kind: str, message: str | Callable[[], str], expected: Any = None,
                 actual: Any = None, span_index: int | None = None, ref: str | None = None,
                 span_id: str | None = None, details: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self._message = message
        self.expected = expected
        self.actual = actual
        self.span_index = span_index
        self.ref = ref
        self.span_id = span_id
        self.details: Mapping[str, Any] = details if details is not None else {}

    @property
    def message(self) -> str:
        if not isinstance(self._message, str):
            self._message = self._message()
        return self._message

    def to_dict(self) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "span_index": self.span_index,
            "ref": self.ref,
            "span_id": self.span_id,
            "expected": self.expected,
            "actual": self.actual,
        }
        if self.details:
            evidence["details"] = dict(self.details)
        return {"kind": self.kind, "message": self.message, "evidence": evidence}

    model_dump = to_dict

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Violation) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable evidence, like a dict

    def __repr__(self) -> str:
        return f"Violation({self.kind!r}, {self.message!r})"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one run: passed only when there is no violation."""

    fixture_id: str
    passed: bool
    violations: list[Violation]
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fixture_id": self.fixture_id,
            "run_id": self.run_id,
            "passed": self.passed,
            "violations": [v.to_dict() for v in self.violations],
        }

    model_dump = to_dict

    def to_json(self) -> str:
        # Values come from traces; anything JSON cannot carry is shown as text.
        doc = self.to_dict()
        try:
            return orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode()
        except orjson.JSONEncodeError:  # an integer beyond 64 bits in the evidence
            return orjson.dumps(_jsonable(doc), option=orjson.OPT_INDENT_2, default=str).decode()

    def kinds(self) -> list[str]:
        return [v.kind for v in self.violations]


class FixtureError(EvalloopError):
    """An expectation that cannot be evaluated (a bad regex, an impossible pair).

    `loc` is the path of the offending value in the fixture document, so callers
    holding the file can point at the line.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _jsonable(value: Any) -> Any:
    """`value` with the integers orjson refuses (beyond 64 bits) described as text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**64:
        return describe(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else describe(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def error_verdict(fixture_id: str, message: str, *, run_id: str | None = None) -> Verdict:
    """The verdict for a run that could not be produced or read: an error fails."""
    return Verdict(fixture_id, False, [Violation("run_error", message)], run_id)


# --------------------------------------------------------------------------- values


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON has it: `true` is not `1` (Python says it is), `1` is `1.0`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        if not isinstance(b, list | tuple) or len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def json_contains(expected: Mapping[str, Any], actual: Any) -> bool:
    """Every key of `expected` is in `actual` with an equal value; nested objects recurse."""
    if not isinstance(actual, dict):
        return False
    for k, v in expected.items():
        if k not in actual:
            return False
        got = actual[k]
        if isinstance(v, dict) and isinstance(got, dict):
            if not json_contains(v, got):
                return False
        elif not json_equal(v, got):
            return False
    return True


def _number_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], bool]]:
    """Paths to the number and boolean leaves of a value, each with whether it is a boolean.

    They are the only places where Python's `==` can disagree with JSON equality
    (`True == 1`); everywhere else `==`, which runs in C, is exact.
    """
    if isinstance(value, bool):
        return [(path, True)]
    if isinstance(value, int | float):
        return [(path, False)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _number_paths(v, (*path, k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _number_paths(v, (*path, i))]
    return []


def _leaf(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


ArgsTest = Callable[[dict[str, Any]], bool]


def _args_test(args: dict[str, Any], mode: str) -> ArgsTest:
    """A predicate on a call's arguments for one expected call spec (`exact` or `subset`).

    Both modes first compare with Python's C-level `==` (`subset`: dict items
    containment, `args.items() <= got.items()`), then check the boolean-ness of
    the few number and boolean leaves, where `==` is looser than JSON. Nested
    objects in `subset` mode are contained recursively (`json_contains`).
    """
    if mode != "exact" and any(isinstance(v, dict) for v in args.values()):
        return lambda got: json_contains(args, got)
    numbers = _number_paths(args)
    items = args.items()
    if not numbers:
        if mode == "exact":
            return lambda got: got == args
        return lambda got: items <= got.items()
    top = tuple((p[0], b) for p, b in numbers) if all(len(p) == 1 for p, _ in numbers) else None

    def test(got: dict[str, Any]) -> bool:
        if not (got == args if mode == "exact" else items <= got.items()):
            return False
        # The values compared equal, so every path exists in `got`; only a boolean
        # against a number can still differ. A plain loop: all() over a generator
        # costs more on this hot path.
        if top is not None:
            for k, b in top:  # noqa: SIM110
                if (type(got[k]) is bool) is not b:
                    return False
            return True
        return all((type(_leaf(got, p)) is bool) is b for p, b in numbers)
    return test


def _short(value: Any, limit: int = _SHOW) -> str:
    text = value if isinstance(value, str) else _dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(value)


def _call_text(name: str, args: Mapping[str, Any] | None) -> str:
    if args is None:
        return f"{name}(*)"
    inner = ", ".join(f"{k}={_short(v, 40)}" for k, v in args.items())
    return f"{name}({_short(inner, _SHOW)})"


# --------------------------------------------------------------------------- the run


class _View:
    """What the checks need from a run, each part computed once and only if asked for."""

    __slots__ = ("_args", "_by_name", "_first", "_names", "_ref_names", "_tools", "deadline",
                 "deadline_s", "regex_timeout_s", "run", "spans")

    def __init__(self, run: Run, ref_names: frozenset[str] = frozenset(), *,
                 deadline_s: float = DEADLINE_S, regex_timeout_s: float = REGEX_TIMEOUT_S) -> None:
        self.run = run
        self.spans = run.spans
        self.deadline_s = deadline_s
        self.deadline = time.monotonic() + deadline_s  # monotonic: immune to clock changes
        self.regex_timeout_s = regex_timeout_s
        self._ref_names = ref_names
        self._first: dict[str, int] | None = None
        self._tools: list[tuple[int, Span]] | None = None
        self._names: list[str] = []
        self._args: list[dict[str, Any]] = []
        self._by_name: dict[str, list[int]] | None = None

    def first(self) -> dict[str, int]:
        """Index of the first span of each `type:name` ref the fixture names.

        Only spans whose name the fixture's refs use are looked at (`ref_names`,
        known when compiling), so most spans cost a set lookup, not a string.
        """
        if self._first is None:
            first: dict[str, int] = {}
            wanted = self._ref_names
            for i, s in enumerate(self.spans):
                if s.name in wanted:
                    ref = f"{s.type}:{s.name}"
                    if ref not in first:
                        first[ref] = i
            self._first = first
        return self._first

    def tools(self) -> list[tuple[int, Span]]:
        """Tool calls with their span index, in run order."""
        if self._tools is None:
            # One pass collecting what the sequence checks read again and again:
            # attribute access on pydantic models costs about three list lookups.
            tools, names, args = [], self._names, self._args
            for i, s in enumerate(self.spans):
                if s.type == "tool":
                    tools.append((i, s))
                    names.append(s.name)
                    args.append(s.args or {})
            self._tools = tools
        return self._tools

    def tool_names(self) -> list[str]:
        """Name of each tool call, parallel to `tools()`."""
        self.tools()
        return self._names

    def tool_args(self) -> list[dict[str, Any]]:
        """Arguments of each tool call (`{}` for none), parallel to `tools()`."""
        self.tools()
        return self._args

    def by_name(self) -> dict[str, list[int]]:
        """Positions in `tools()` of the calls of each tool name."""
        if self._by_name is None:
            by_name: dict[str, list[int]] = {}
            for k, name in enumerate(self.tool_names()):
                by_name.setdefault(name, []).append(k)
            self._by_name = by_name
        return self._by_name


def _at(span_index: int, span: Span) -> dict[str, Any]:
    """Evidence keyword arguments naming a span."""
    return {"span_index": span_index, "ref": f"{span.type}:{span.name}", "span_id": span.span_id}


Check = Callable[[_View, list[Violation]], None]


# --------------------------------------------------------------------------- span checks


def _required(refs: list[str]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        first = view.first()
        for ref in refs:
            if ref not in first:
                kind = ref.split(":", 1)[0]
                similar = sorted({f"{s.type}:{s.name}" for s in view.spans if s.type == kind})
                out.append(Violation(
                    "missing_span", f"required span {ref} never happened",
                    expected=ref, actual=None, ref=ref,
                    details={"same_type_present": similar[:20]} if similar else {}))
    return check


def _forbidden(refs: frozenset[str]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        first = view.first()
        if first.keys().isdisjoint(refs):
            return
        for i, s in enumerate(view.spans):
            ref = f"{s.type}:{s.name}"
            if ref in refs:
                out.append(Violation(
                    "forbidden_span", f"forbidden span {ref} happened at span {i} "
                    f"(status {s.status})", expected=None,
                    actual={"status": s.status, "args": s.args}, **_at(i, s)))
    return check


def _order(pairs: list[tuple[str, str]]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        first = view.first()
        for a, b in pairs:
            ia, ib = first.get(a), first.get(b)
            if ia is not None and ib is not None and ia < ib:
                continue
            actual = {"first": ia, "second": ib}
            if ia is None and ib is None:
                msg = f"{a} must come before {b}, but neither happened"
                where: dict[str, Any] = {"ref": b}
            elif ia is None:
                assert ib is not None
                msg = f"{b} happened at span {ib} without any {a} before it"
                where = _at(ib, view.spans[ib])
            elif ib is None:
                msg = f"{a} happened at span {ia} but {b} never did, so the order is unconfirmed"
                where = {"ref": b}
            else:
                msg = f"{b} at span {ib} came before the first {a} (span {ia})"
                where = _at(ib, view.spans[ib])
            out.append(Violation("order", msg, expected=[a, b], actual=actual, **where))
    return check


def _outcome(kind: str, attr: str, want: str) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        got = getattr(view.run, attr)
        if got != want:
            shown = "nothing recorded" if got is None else repr(_short(got))
            out.append(Violation(kind, f"{attr} is {shown}, expected {want!r}",
                                 expected=want, actual=got))
    return check


# --------------------------------------------------------------------------- tool checks


def _tools_called(names: list[str]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        called = {s.name for _, s in view.tools()}
        for name in names:
            if name not in called:
                out.append(Violation(
                    "tool_not_called", f"tool {name} was never called",
                    expected=name, actual=sorted(called)[:50], ref=f"tool:{name}"))
    return check


def _tools_not_called(names: frozenset[str]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        for i, s in view.tools():
            if s.name in names:
                out.append(Violation(
                    "forbidden_tool", f"forbidden tool {s.name} was called at span {i} "
                    f"(status {s.status})", expected=None,
                    actual={"status": s.status, "args": s.args}, **_at(i, s)))
    return check


def _tool_args(name: str, args: dict[str, Any]) -> Check:
    test = _args_test(args, "subset")

    def check(view: _View, out: list[Violation]) -> None:
        calls = [(i, s) for i, s in view.tools() if s.name == name]
        if any(test(s.args or {}) for _, s in calls):
            return
        if not calls:
            out.append(Violation(
                "tool_args", f"tool {name} was never called, so no call carries {_short(args)}",
                expected=args, actual=None, ref=f"tool:{name}"))
            return
        # Point at the call that came closest: the most expected keys carried right.
        def agreeing(s: Span) -> int:
            got = s.args or {}
            return sum(1 for k, v in args.items() if k in got and json_contains({k: v}, got))

        best_i, best = max(calls, key=lambda c: agreeing(c[1]))
        got = best.args or {}
        differing = {k: got.get(k) for k in args if not json_contains({k: args[k]}, got)}
        out.append(Violation(
            "tool_args", f"no call of {name} carries {_short(args)}; closest is span {best_i} "
            f"with {_short(differing)}", expected=args, actual=best.args,
            details={"calls": len(calls), "missing_or_different": sorted(differing)},
            **_at(best_i, best)))
    return check


# --------------------------------------------------------------------------- tool sequence


@dataclass(frozen=True, slots=True)
class _Spec:
    index: int
    name: str
    args: dict[str, Any] | None
    test: ArgsTest | None  # None: any arguments match

    def text(self) -> str:
        return _call_text(self.name, self.args if self.test is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": self.args}


def _compile_specs(seq: ToolSequence) -> list[_Spec]:
    specs = []
    for i, c in enumerate(seq.calls):
        mode = seq.args_by_tool.get(c.name, seq.args)
        test = None if c.args is None or mode == "ignore" else _args_test(c.args, mode)
        specs.append(_Spec(i, c.name, c.args, test))
    return specs


@dataclass(frozen=True, slots=True)
class _Group:
    """The expected calls of one tool name."""

    name: str
    picky: tuple[_Spec, ...]  # specs that test arguments
    wild: tuple[_Spec, ...]  # specs that accept any arguments
    exact: bool  # argument mode `exact`: a spec and a call match iff their arguments are equal


def _groups(seq: ToolSequence, specs: list[_Spec]) -> tuple[_Group, ...]:
    by_name: dict[str, list[_Spec]] = {}
    for sp in specs:
        by_name.setdefault(sp.name, []).append(sp)
    return tuple(
        _Group(name, tuple(sp for sp in group if sp.test is not None),
               tuple(sp for sp in group if sp.test is None),
               seq.args_by_tool.get(name, seq.args) == "exact")
        for name, group in by_name.items())


@dataclass(frozen=True, slots=True)
class _Pairing:
    """The expected calls arranged for `_pair`, built once per fixture."""

    specs: tuple[_Spec, ...]
    tests: dict[str, tuple[tuple[int, ArgsTest], ...]]  # name -> (spec index, test) in order
    wild: dict[str, tuple[_Spec, ...]]
    wild_counts: dict[str, int]
    n_picky: int
    inexact: dict[str, _Group]  # names whose greedy pairing may not be maximum

    @classmethod
    def of(cls, specs: list[_Spec], groups: tuple[_Group, ...]) -> _Pairing:
        tests = {g.name: tuple((sp.index, sp.test) for sp in g.picky if sp.test is not None)
                 for g in groups if g.picky}
        wild = {g.name: g.wild for g in groups if g.wild}
        return cls(tuple(specs), tests, wild, {k: len(v) for k, v in wild.items()},
                   sum(len(t) for t in tests.values()),
                   {g.name: g for g in groups if not g.exact and len(g.picky) > 1})


def _pair(plan: _Pairing, names: list[str], args: list[dict[str, Any]]
          ) -> tuple[list[_Spec], list[int]]:
    """A maximum matching between specs and calls: `(unmatched specs, unmatched call positions)`.

    Only same-name pairs can match, so the matching splits into one per tool
    name, with one argument mode per name. One pass over the calls pairs each
    with the first free spec of its name that tests arguments and accepts it,
    else with a free spec of its name that accepts any arguments. That greedy
    pairing is already maximum for a name when

    * its argument mode is `exact` (or `ignore`): "equal arguments" is an
      equivalence, so the graph is a disjoint union of complete bipartite
      blocks, each ending with min(specs, calls) pairs whatever the order, and
      the any-arguments specs then take as many leftover calls as they can
      (no matching does better than min(|M| + wildcards, calls), M a maximum
      matching of the specs that test arguments);
    * at most one of its specs tests arguments (the same bound);
    * it leaves no spec and no call of that name both free: an augmenting
      path (Berge) needs one of each.

    Otherwise (`subset` mode, where containment is not transitive: [{}, {x: 1}]
    against [x=1, x=2] fails greedily) that name is paired again with a real
    maximum matching (`_match_group`).
    """
    tests = plan.tests
    taken = [False] * len(plan.specs)
    spare = plan.wild_counts.copy()
    lost_calls: list[int] = []
    paired = 0
    for pos, name in enumerate(names):
        cands = tests.get(name)
        if cands is not None:
            a = args[pos]
            for index, test in cands:
                if not taken[index] and test(a):
                    taken[index] = True
                    paired += 1
                    break
            else:
                cands = None
            if cands is not None:
                continue
        n = spare.get(name, 0)
        if n:
            spare[name] = n - 1
        else:
            lost_calls.append(pos)
    lost_specs: list[_Spec] = []
    if paired < plan.n_picky:
        lost_specs = [plan.specs[i] for group in tests.values() for i, _ in group
                      if not taken[i]]
    for name, n in spare.items():
        if n:
            group = plan.wild[name]
            lost_specs.extend(group[len(group) - n:])
    if plan.inexact and lost_specs and lost_calls:
        redo = ({names[p] for p in lost_calls} & {sp.name for sp in lost_specs}
                & plan.inexact.keys())
        for name in redo:
            positions = [k for k, n in enumerate(names) if n == name]
            g_specs, g_calls = _match_group(plan.inexact[name], positions, args)
            lost_specs = [sp for sp in lost_specs if sp.name != name] + g_specs
            lost_calls = [p for p in lost_calls if names[p] != name] + g_calls
        lost_calls.sort()
    if lost_specs:
        lost_specs.sort(key=lambda sp: sp.index)
    return lost_specs, lost_calls


def _match_group(g: _Group, positions: list[int], args: list[dict[str, Any]]
                 ) -> tuple[list[_Spec], list[int]]:
    """A maximum matching of one name's specs with its calls (at `positions`).

    The specs that test arguments are matched first, greedily and, when that
    leaves one unpaired, by `max_matching`; the any-arguments specs take the
    calls left (see `_pair` for why that is maximum).
    """
    lost: list[_Spec] = []
    free = list(positions)
    for spec in g.picky:
        test = spec.test
        assert test is not None
        for j, p in enumerate(free):
            if test(args[p]):
                del free[j]
                break
        else:
            lost.append(spec)
    if lost and not g.exact and len(g.picky) > 1:
        edges = []
        for spec in g.picky:
            test = spec.test
            assert test is not None
            edges.append([j for j, p in enumerate(positions) if test(args[p])])
        match = max_matching(len(g.picky), len(positions), edges)
        lost = [spec for spec, j in zip(g.picky, match, strict=True) if j < 0]
        used = {positions[j] for j in match if j >= 0}
        free = [p for p in positions if p not in used]
    k = min(len(g.wild), len(free))
    return lost + list(g.wild[k:]), free[k:]


def _in_step(specs: list[_Spec], names: list[str], args: list[dict[str, Any]]) -> int:
    """How many leading calls match the spec at the same position."""
    n = 0
    for sp, name, a in zip(specs, names, args, strict=False):
        if sp.name != name or (sp.test is not None and not sp.test(a)):
            return n
        n += 1
    return n


def _sequence(seq: ToolSequence) -> Check:
    """The `tool_sequence` expectation (SPEC section 2) in its five modes.

    strict    the run's tool calls and `calls` have the same length and match
              pairwise in order. A failure is explained as a diff against the
              longest in-order alignment: replaced, missing, unexpected calls.
    unordered a perfect matching exists between the run's calls and `calls`
              (the same calls as multisets).
    subset    a matching saturates the run's calls: every call of the run is
              paired with a distinct expected spec (the run did nothing else).
    superset  a matching saturates `calls`: every expected spec is paired with
              a distinct call of the run (the run may do more).
    in_order  `calls` embed in the run's calls as an ordered subsequence.

    A call matches a spec when the names are equal and the arguments pass the
    spec's argument mode (`args_by_tool` overrides `args` per tool): exact,
    subset (spec's arguments contained in the call's), or ignore; a spec
    written without `args` accepts any arguments. Pairings are maximum
    matchings, never greedy, so repeated calls of one tool cannot be paired
    wrongly (e.g. [a(x=1), a] against [a(x=1), a(x=2)] passes).
    """
    specs = _compile_specs(seq)
    mode = seq.mode
    groups = _groups(seq, specs)
    plan = _Pairing.of(specs, groups)

    def unmatched_spec(sp: _Spec, view: _View, why: str, **extra: Any) -> Violation:
        calls = view.tools()
        same = [calls[k] for k in view.by_name().get(sp.name, ())[:10]]
        return Violation(
            "sequence", lambda: f"{mode}: expected call #{sp.index} {sp.text()} {why}",
            expected=sp.as_dict(), actual=[s.args for _, s in same] if same else None,
            ref=f"tool:{sp.name}",
            details={"mode": mode, "spec_index": sp.index,
                     "same_name_calls": [i for i, _ in same], **extra})

    def unmatched_call(pos: int, calls: list[tuple[int, Span]], why: str) -> Violation:
        i, s = calls[pos]
        return Violation(
            "sequence",
            lambda: f"{mode}: call #{pos} {_call_text(s.name, s.args or {})} at span {i} {why}",
            expected=None, actual={"name": s.name, "args": s.args},
            details={"mode": mode, "call_index": pos}, **_at(i, s))

    def replaced(sp: _Spec, pos: int, calls: list[tuple[int, Span]]) -> Violation:
        i, s = calls[pos]
        what = "has other arguments than" if s.name == sp.name else "is"
        return Violation(
            "sequence", lambda: f"strict: call #{pos} at span {i} "
            f"{_call_text(s.name, s.args or {})} {what} expected call #{sp.index} {sp.text()}",
            expected=sp.as_dict(), actual={"name": s.name, "args": s.args},
            details={"mode": mode, "call_index": pos, "spec_index": sp.index}, **_at(i, s))

    def check_strict(view: _View, out: list[Violation]) -> None:
        calls = view.tools()
        names, args = view.tool_names(), view.tool_args()
        n_specs, n_calls = len(specs), len(calls)
        lo = _in_step(specs, names, args)
        if lo == n_specs == n_calls:
            return
        # Explain the difference as a diff, not as every position after the first
        # insertion: align the longest in-order run of matching calls, then report
        # what lies between aligned pairs as replaced, missing or unexpected. The
        # common prefix and suffix are aligned as they stand (see `align`), so
        # only the differing middle pays for the quadratic part.
        def fits(j: int, k: int) -> bool:
            sp = specs[j]
            return sp.name == names[k] and (sp.test is None or sp.test(args[k]))

        hi = 0
        while lo + hi < n_specs and lo + hi < n_calls and fits(n_specs - 1 - hi,
                                                               n_calls - 1 - hi):
            hi += 1
        width = n_calls - lo - hi
        fit = []
        for j in range(lo, n_specs - hi):
            row = [False] * width
            for k in view.by_name().get(specs[j].name, ()):
                if lo <= k < n_calls - hi:
                    row[k - lo] = fits(j, k)
            fit.append(row)
        pairs = [(i, i) for i in range(lo)]
        pairs += [(lo + j, lo + k) for j, k in align(fit, width)]
        pairs += [(n_specs - hi + i, n_calls - hi + i) for i in range(hi)]
        prev_j = prev_k = -1
        for j, k in [*pairs, (len(specs), len(calls))]:
            if j == prev_j + 1 and k == prev_k + 1:
                prev_j, prev_k = j, k
                continue
            gap_specs, gap_calls = range(prev_j + 1, j), range(prev_k + 1, k)
            for a, b in zip(gap_specs, gap_calls, strict=False):
                out.append(replaced(specs[a], b, calls))
            for a in gap_specs[len(gap_calls):]:
                out.append(unmatched_spec(specs[a], view, "is missing at this point of the run",
                                          after_call_index=prev_k))
            for b in gap_calls[len(gap_specs):]:
                out.append(unmatched_call(b, calls, "is not expected at this point"))
            prev_j, prev_k = j, k

    def check_matching(view: _View, out: list[Violation]) -> None:
        calls = view.tools()
        lost_specs, lost_calls = _pair(plan, view.tool_names(), view.tool_args())
        if mode in ("unordered", "superset"):
            for sp in lost_specs:
                out.append(unmatched_spec(sp, view, "is matched by no distinct call of the run"))
        if mode in ("unordered", "subset"):
            for pos in lost_calls:
                out.append(unmatched_call(pos, calls, "matches no distinct expected call"))

    def check_in_order(view: _View, out: list[Violation]) -> None:
        calls = view.tools()
        names, args = view.tool_names(), view.tool_args()

        def fits(j: int, k: int) -> bool:
            sp = specs[j]
            return sp.name == names[k] and (sp.test is None or sp.test(args[k]))

        positions, unplaced = embed_in_order(len(specs), len(calls), fits)
        if not unplaced:
            return
        by_name = view.by_name()
        prev = -1  # the call the previous placed spec sits on
        for j, at in enumerate(positions):
            if at >= 0:
                prev = at
                continue
            earlier = next((q for q in by_name.get(specs[j].name, ()) if q <= prev and fits(j, q)),
                           None)
            why = (f"does not occur after call #{prev}" if prev >= 0
                   else "does not occur in the run")
            if earlier is not None:
                why += f" (it occurs only earlier, at call #{earlier})"
            out.append(unmatched_spec(specs[j], view, why, after_call_index=prev))

    if mode == "strict":
        return check_strict
    if mode == "in_order":
        return check_in_order
    return check_matching


# --------------------------------------------------------------------------- schemas


class _SchemaCache:
    """Validators for one `tool_schemas` mapping, kept while the same mapping is passed in.

    Identity, not equality, is the key: comparing schemas on every run would
    cost more than validating. The mapping is held, so its id cannot be reused.
    The pair is read and replaced as one attribute, so threads evaluating with
    different mappings never see one mapping with the other's validators.
    """

    def __init__(self) -> None:
        self.entry: tuple[Mapping[str, Any] | None, dict[str, jsonschema.protocols.Validator]] = (
            None, {})

    def get(self, schemas: Mapping[str, Any]) -> dict[str, jsonschema.protocols.Validator]:
        entry = self.entry
        if entry[0] is not schemas:
            entry = (schemas, {name: _validator(name, s) for name, s in schemas.items()})
            self.entry = entry
        return entry[1]


_WRAPPERS = ("parameters", "input_schema", "inputSchema")


def _validator(name: str, schema: Any) -> jsonschema.protocols.Validator:
    """A validator for a tool's parameters; OpenAI/Anthropic/MCP tool definitions unwrap."""
    if not isinstance(schema, dict):
        raise EvalloopError(f"tool schema for {name!r} is not a JSON object")
    if not ({"type", "properties", "$schema", "$ref"} & schema.keys()):
        for key in _WRAPPERS:
            if isinstance(schema.get(key), dict):
                schema = schema[key]
                break
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise EvalloopError(f"tool schema for {name!r} is not a valid JSON Schema: "
                            f"{exc.message}") from None
    return cls(schema)


def _schema_violations(view: _View, validators: Mapping[str, jsonschema.protocols.Validator],
                       out: list[Violation]) -> None:
    for i, s in view.tools():
        validator = validators.get(s.name)
        if validator is None:
            continue
        args = s.args or {}
        err = best_match(validator.iter_errors(args))
        if err is None:
            continue
        path = "/" + "/".join(str(p) for p in err.absolute_path)
        out.append(Violation(
            "tool_args_schema", f"arguments of {s.name} at span {i} break its schema at "
            f"{path}: {_short(err.message, 200)}",
            expected={"validator": err.validator, "schema": err.validator_value},
            actual=err.instance, details={"path": path, "args": args}, **_at(i, s)))


# --------------------------------------------------------------------------- output


@dataclass(frozen=True, slots=True)
class _Rule:
    source: str | dict[str, str]
    pattern: Any  # a compiled `regex` pattern: the module ships no type information
    # A phrase rule's pattern is ours: literal words, `\s+` between, lookarounds at
    # the ends. It searches in time linear in the text times the phrase, so it runs
    # without the timeout, whose clock costs more than such a search.
    linear: bool = False


# VERSION0: `re`'s semantics, which the fixture format documents.
_FLAGS = regex.IGNORECASE | regex.VERSION0


def _compile_rule(rule: str | RegexRule, loc: tuple[str | int, ...]) -> _Rule:
    if isinstance(rule, RegexRule):
        where = (*loc, "regex")
        try:
            # `re`'s parser first: it is the syntax fixtures are written in, and the
            # tree the backtracking check reads.
            parsed = _sre.parse(rule.regex, re.IGNORECASE)
            pattern = regex.compile(rule.regex, _FLAGS)
        except (re.error, regex.error) as exc:
            raise FixtureError(f"invalid regex {rule.regex!r}: {exc}", where) from None
        except RecursionError:
            raise FixtureError(f"invalid regex {_short(rule.regex)!r}: nested too deeply",
                               where) from None
        why = _backtracking(parsed)
        if why is not None:
            raise FixtureError(
                f"regex {_short(rule.regex)!r} can take exponential time: {why}; make the "
                "repetition unambiguous, or atomic with (?>...) or a possessive quantifier "
                "such as ++", where)
        return _Rule({"regex": rule.regex}, pattern)
    words = rule.split()
    if not words:
        raise FixtureError("an output rule must not be empty", loc)
    body = r"\s+".join(re.escape(w) for w in words)
    # Word boundaries only where the phrase starts or ends with a word character,
    # so that rules like "$100" or "100%" still match.
    head = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    tail = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return _Rule(rule, regex.compile(head + body + tail, _FLAGS), linear=True)


# --- the backtracking check ---------------------------------------------------------
#
# A backtracking engine takes exponential time when one text can be split among
# the iterations of a repeat in exponentially many ways and the match then
# fails. Two shapes make that evident on the parsed pattern:
#
#   * a repeat (at most >= 2) whose body can end with a variable-length part
#     (an inner repeat, an optional, alternatives of different lengths) taking
#     a character the body can also start with: `(a+)+`, `(a*)*`, `(\w+\s?)+`,
#     `(a|aa)+`: the inner part can give a character to the next iteration;
#   * a branch inside a repeat with two alternatives that match the same text:
#     two that can be empty, or two equal ones: `(a|a)*` (re's parser factors
#     the common prefix out and leaves two empty alternatives), `(ab|cd|ab)+`.
#
# Character sets are compared on a sample alphabet (Latin-1 and Latin
# Extended-A, a few other scripts, and every character the pattern names), so
# `\w` overlaps `a` and `[a-z]` overlaps `\d` not. Backreferences, lookarounds
# and possessive or atomic parts are taken as adding no ambiguity; what the
# check misses, the timeout still bounds.

_EXTRA_SAMPLES = "\u0391\u03b1\u0416\u0436\u05d0\u0627\u0663\u0966\u4e2d\u3042\u00a0\u2028\u3000" \
    "\u200b\U0001f600"
_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
_NONE: frozenset[str] = frozenset()


class _Backtracking:
    """The analysis of one parsed pattern; results per node are memoized by identity."""

    def __init__(self, parsed: Any) -> None:
        chars = {chr(c) for c in range(0x180)} | set(_EXTRA_SAMPLES)
        for c in self._named(parsed):
            chars.update((c, c.lower(), c.upper()))
        self.samples = frozenset(ch for ch in chars if len(ch) == 1)
        # memoized per node: (opcode, id of its argument), the nodes kept alive so that
        # no id is reused; small ints share an id, but then opcode and value agree too
        self._first: dict[tuple[Any, int], frozenset[str]] = {}
        self._tail: dict[tuple[Any, int], frozenset[str]] = {}
        self._null: dict[tuple[Any, int], bool] = {}
        self._keep: list[Any] = []

    @staticmethod
    def _named(seq: Any) -> Iterable[str]:
        """Every character the pattern names literally (range ends included)."""
        for op, av in seq:
            if op is _sre.LITERAL or op is _sre.NOT_LITERAL:
                yield chr(av)
            elif op is _sre.RANGE:
                yield chr(av[0])
                yield chr(av[1])
            elif op is _sre.IN:
                yield from _Backtracking._named(av)
            else:
                for sub in _Backtracking._children(op, av):
                    yield from _Backtracking._named(sub)

    @staticmethod
    def _children(op: Any, av: Any) -> list[Any]:
        """The sub-sequences of one node."""
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            return [av[2]]
        if op is _sre.SUBPATTERN:
            return [av[3]]
        if op is _sre.ATOMIC_GROUP:
            return [av]
        if op is _sre.BRANCH:
            return list(av[1])
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            return [av[1]]
        if op is _sre.GROUPREF_EXISTS:
            return [p for p in av[1:] if p is not None]
        return []

    # characters

    def _category(self, name: str) -> frozenset[str]:
        rx = _CATEGORIES.get(name)
        if rx is None:  # locale or bytes categories: assume anything
            return self.samples
        return frozenset(ch for ch in self.samples if re.fullmatch(rx, ch))

    def _literal(self, code: int) -> frozenset[str]:
        c = chr(code)
        folded = c.lower()
        return frozenset(ch for ch in self.samples if ch == c or ch.lower() == folded)

    def _set(self, items: Any) -> frozenset[str]:
        out: set[str] = set()
        negate = False
        for op, av in items:
            if op is _sre.NEGATE:
                negate = True
            elif op is _sre.LITERAL:
                out |= self._literal(av)
            elif op is _sre.RANGE:
                lo, hi = av
                out.update(ch for ch in self.samples
                           if any(len(x) == 1 and lo <= ord(x) <= hi
                                  for x in (ch, ch.lower(), ch.upper())))
            elif op is _sre.CATEGORY:
                out |= self._category(str(av))
            else:
                out |= self.samples
        return self.samples - out if negate else frozenset(out)

    # per node

    def nullable(self, seq: Any) -> bool:
        return all(self._node_nullable(op, av) for op, av in seq)

    def _node_nullable(self, op: Any, av: Any) -> bool:
        key = (op, id(av))
        hit = self._null.get(key)
        if hit is None:
            self._keep.append(av)
            if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
                hit = av[0] == 0 or self.nullable(av[2])
            elif op in (_sre.SUBPATTERN, _sre.ATOMIC_GROUP):
                hit = self.nullable(av[3] if op is _sre.SUBPATTERN else av)
            elif op is _sre.BRANCH:
                hit = any(self.nullable(alt) for alt in av[1])
            elif op is _sre.GROUPREF_EXISTS:
                hit = any(p is None or self.nullable(p) for p in av[1:])
            else:
                # zero-width assertions; a backreference is taken as non-empty
                hit = op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
            self._null[key] = hit
        return hit

    def first(self, seq: Any) -> frozenset[str]:
        """The characters a match of `seq` can start with."""
        out: set[str] = set()
        for op, av in seq:
            out |= self._node_first(op, av)
            if not self._node_nullable(op, av):
                break
        return frozenset(out)

    def _node_first(self, op: Any, av: Any) -> frozenset[str]:
        key = (op, id(av))
        hit = self._first.get(key)
        if hit is None:
            self._keep.append(av)
            if op is _sre.LITERAL:
                hit = self._literal(av)
            elif op is _sre.NOT_LITERAL:
                hit = self.samples - self._literal(av)
            elif op is _sre.IN:
                hit = self._set(av)
            elif op is _sre.ANY:
                hit = self.samples
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.AT, _sre.GROUPREF):
                hit = _NONE  # consume nothing, or unknown text
            else:
                hit = frozenset().union(*(self.first(sub) for sub in self._children(op, av)))
            self._first[key] = hit
        return hit

    def tail(self, seq: Any) -> frozenset[str]:
        """What a variable-length part at the end of `seq` can start a repetition with:
        the characters it could give to whatever follows."""
        out: set[str] = set()
        for op, av in reversed(list(seq)):
            out |= self._node_tail(op, av)
            if not self._node_nullable(op, av):
                break
        return frozenset(out)

    def _node_tail(self, op: Any, av: Any) -> frozenset[str]:
        key = (op, id(av))
        hit = self._tail.get(key)
        if hit is None:
            self._keep.append(av)
            if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
                lo, hi, body = av
                hit = self.tail(body) | (self.first(body) if hi > lo else _NONE)
            elif op is _sre.SUBPATTERN:
                hit = self.tail(av[3])
            elif op is _sre.BRANCH:
                alts = av[1]
                hit = frozenset().union(*(self.tail(alt) for alt in alts))
                if len({alt.getwidth() for alt in alts}) > 1:  # alternatives of other lengths
                    hit |= frozenset().union(*(self.first(alt) for alt in alts))
            elif op is _sre.GROUPREF_EXISTS:
                hit = frozenset().union(*(self.tail(p) for p in av[1:] if p is not None))
            else:
                # fixed width; or possessive, atomic and lookarounds, which never give
                # back what they took
                hit = _NONE
            self._tail[key] = hit
        return hit

    # the check

    def check(self, seq: Any) -> str | None:
        for op, av in seq:
            if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[1] >= 2:
                body = av[2]
                if self.tail(body) & self.first(body):
                    return ("a quantifier inside a quantifier can split the same text in many "
                            "ways (like (a+)+ or (\\w+\\s?)+)")
                if self._ambiguous_branch(body):
                    return ("alternatives inside a repeat can match the same text "
                            "(like (a|a)* or (a|)+)")
            for sub in self._children(op, av):
                why = self.check(sub)
                if why is not None:
                    return why
        return None

    def _ambiguous_branch(self, seq: Any) -> bool:
        for op, av in seq:
            if op is _sre.BRANCH:
                alts = av[1]
                if sum(1 for alt in alts if self.nullable(alt)) >= 2:
                    return True
                shapes = [repr(alt.data) for alt in alts]
                if len(set(shapes)) < len(shapes) or self._same_text(alts):
                    return True
            # possessive and atomic parts, and lookarounds, never try another way
            if op in (_sre.POSSESSIVE_REPEAT, _sre.ATOMIC_GROUP, _sre.ASSERT, _sre.ASSERT_NOT):
                continue
            if any(self._ambiguous_branch(sub) for sub in self._children(op, av)):
                return True
        return False


    def _same_text(self, alts: Any) -> bool:
        """Whether two alternatives made of single characters, of one length, can
        match the same text: every position overlaps, like `\\wa|a\\w`. Two of only
        literals can do so only when equal, which `_ambiguous_branch` sees first, so
        each pair compared holds a class (word lists cost nothing)."""
        by_length: dict[int, list[tuple[list[frozenset[str]], bool]]] = {}
        for alt in alts:
            positions: list[frozenset[str]] = []
            literal = True
            for op, av in alt:
                if op not in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY):
                    break
                literal = literal and op is _sre.LITERAL
                positions.append(self._node_first(op, av))
            else:
                if positions:
                    by_length.setdefault(len(positions), []).append((positions, literal))
        for group in by_length.values():
            for n, (a, a_literal) in enumerate(group):
                if a_literal:
                    continue
                for m, (b, _) in enumerate(group):
                    if m != n and all(x & y for x, y in zip(a, b, strict=True)):
                        return True
        return False


def _backtracking(parsed: Any) -> str | None:
    """Why the parsed pattern backtracks catastrophically, None when no evident reason."""
    try:
        return _Backtracking(parsed).check(parsed)
    except RecursionError:
        return "it is nested too deeply to be checked"


def _rule_text(source: str | dict[str, str]) -> str:
    return repr(_short(source)) if isinstance(source, str) else f"regex {_short(source['regex'])!r}"


def _excerpt(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - 30), min(len(text), end + 30)
    return ("..." if lo else "") + text[lo:hi] + ("..." if hi < len(text) else "")


class _Unfinished(Exception):
    """A search that ran out of time: the regex timeout, or the judging deadline."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _count(pattern: Any, text: str, *, concurrent: bool, timeout: float) -> int:
    return sum(1 for _ in pattern.finditer(text, concurrent=concurrent, timeout=timeout))


def _search(view: _View, r: _Rule, text: str) -> Any:
    if r.linear:
        return r.pattern.search(text)
    return _bounded(view, r.pattern.search, text)


def _bounded(view: _View, run: Callable[..., Any], *args: Any) -> Any:
    """`run(*args)` with the per-search timeout, cut to what is left of the deadline.

    `concurrent=True` lets go of the GIL while matching, so judges on other
    threads go on meanwhile (the text is an immutable str).
    """
    left = view.deadline - time.monotonic()
    timeout = min(view.regex_timeout_s, left)
    if timeout <= 0:
        raise _Unfinished(f"was not run: the judging deadline of {view.deadline_s:g} s had passed")
    try:
        return run(*args, concurrent=True, timeout=timeout)
    except TimeoutError:
        if timeout < view.regex_timeout_s:
            raise _Unfinished(f"did not finish before the judging deadline of "
                              f"{view.deadline_s:g} s") from None
        raise _Unfinished(f"did not finish within {timeout:g} s") from None


def _unjudged_rule(kind: str, r: _Rule, why: str) -> Violation:
    return Violation(kind, f"{_rule_text(r.source)} {why}: cannot be judged", expected=r.source,
                     actual=None, details={"judged": False})


def _output(must: list[_Rule], must_not: list[_Rule]) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
        text = view.run.output
        if text is None:
            out.append(Violation(
                "output_not_recorded", "the run recorded no output, so the output rules "
                "cannot be checked", expected={"must_contain": [r.source for r in must],
                                               "must_not_contain": [r.source for r in must_not]},
                actual=None))
            return
        for r in must:
            try:
                found = _search(view, r, text)
            except _Unfinished as exc:
                out.append(_unjudged_rule("output_missing", r, exc.why))
                continue
            if found is None:
                out.append(Violation(
                    "output_missing", f"output does not contain {_rule_text(r.source)}",
                    expected=r.source, actual=_short(text, 200)))
        for r in must_not:
            try:
                m = _search(view, r, text)
            except _Unfinished as exc:  # it may match: the output is not shown clean
                out.append(_unjudged_rule("output_contains", r, exc.why))
                continue
            if m is not None:
                count: int | None
                try:
                    count = (sum(1 for _ in r.pattern.finditer(text)) if r.linear
                             else _bounded(view, _count, r.pattern, text))
                except _Unfinished:
                    count = None  # the violation stands; only the count is unknown
                out.append(Violation(
                    "output_contains", f"output contains forbidden {_rule_text(r.source)} at "
                    f"character {m.start()}: {_short(m.group(0))!r}", expected=r.source,
                    actual=m.group(0),
                    details={"offset": m.start(), "matches": count,
                             "excerpt": _excerpt(text, m.start(), m.end())}))
    return check


# --------------------------------------------------------------------------- budgets


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
    def check(view: _View, out: list[Violation]) -> None:
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
                **(_at(index, span) if span is not None and index is not None else {})))
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
    def check(view: _View, out: list[Violation]) -> None:
        calls = view.tools()
        if len(calls) > limit:
            i, s = calls[limit]
            out.append(Violation(
                "budget_tool_calls", f"{len(calls)} tool calls exceed the budget of {limit}; "
                f"call #{limit} at span {i} is the first over it", expected=limit,
                actual=len(calls), **_at(i, s)))
    return check


def _call_key(s: Span) -> str:
    return s.name + "\x00" + _dumps(s.args or {})


def _failing(s: Span) -> bool:
    return s.status in _FAILING or s.error is not None


def _max_retries(limit: int) -> Check:
    def check(view: _View, out: list[Violation]) -> None:
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
            "budget_retries", f"{_call_text(s.name, s.args or {})} was retried {len(worst)} "
            f"times after failing, over the budget of {limit}; span {i} is the first retry "
            "over it", expected=limit, actual=len(worst),
            details={"retry_spans": [calls[p][0] for p in worst],
                     "retries_by_call": {k.split("\x00", 1)[0]: len(v)
                                         for k, v in retries.items()}},
            **_at(i, s)))
    return check


def _budget(b: Budget) -> list[Check]:
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


# --------------------------------------------------------------------------- evaluator


def _run_error(view: _View, out: list[Violation]) -> None:
    run = view.run
    if not run.spans and run.stop_reason is None and run.final_status is None \
            and run.output is None:
        out.append(Violation("run_error", "the run is empty: no spans and no outcome were "
                             "recorded", actual=None))


def _late(view: _View, out: list[Violation], left: int) -> None:
    out.append(Violation(
        "run_error", f"judging did not finish within {view.deadline_s:g} s: {left} "
        f"expectation check{'s' if left != 1 else ''} not run, so the run cannot be judged",
        actual=None, details={"judged": False, "deadline_s": view.deadline_s,
                              "checks_not_run": left}))


def _expected_loc(fixture: Fixture, name: str) -> tuple[str | int, ...]:
    """Where an expectation sits in the document: top level (seed shape) or under `expected`."""
    return (name,) if getattr(fixture, name, None) is not None else ("expected", name)


def _build_checks(fixture: Fixture, exp: Expected) -> list[Check]:
    checks: list[Check] = [_run_error]
    if exp.required_spans:
        checks.append(_required(list(dict.fromkeys(exp.required_spans))))
    if exp.forbidden_spans:
        checks.append(_forbidden(frozenset(exp.forbidden_spans)))
    if exp.order:
        pairs = []
        for n, (a, b) in enumerate(exp.order):
            if a == b:
                raise FixtureError(f"order pair names {a} twice", ("expected", "order", n))
            pairs.append((a, b))
        checks.append(_order(pairs))
    for kind, attr in (("route", "route"), ("stop_reason", "stop_reason"),
                       ("final_status", "final_status")):
        want = getattr(exp, attr)
        if want is not None:
            checks.append(_outcome(kind, attr, want))
    if exp.tools_called:
        checks.append(_tools_called(list(dict.fromkeys(exp.tools_called))))
    if exp.tools_not_called:
        checks.append(_tools_not_called(frozenset(exp.tools_not_called)))
    for name, args in exp.tool_args.items():
        checks.append(_tool_args(name, args))
    if exp.tool_sequence is not None:
        checks.append(_sequence(exp.tool_sequence))
    if exp.output_must_contain or exp.output_must_not_contain:
        must = [_compile_rule(r, (*_expected_loc(fixture, "output_must_contain"), n))
                for n, r in enumerate(exp.output_must_contain)]
        must_not = [_compile_rule(r, (*_expected_loc(fixture, "output_must_not_contain"), n))
                    for n, r in enumerate(exp.output_must_not_contain)]
        checks.append(_output(must, must_not))
    if exp.budget is not None:
        checks.extend(_budget(exp.budget))
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
        self._schemas = _SchemaCache()

    def evaluate(self, run: Run, *, tool_schemas: Mapping[str, Any] | None = None,
                 deadline_s: float = DEADLINE_S,
                 regex_timeout_s: float = REGEX_TIMEOUT_S) -> Verdict:
        """Judge `run`. `deadline_s` bounds the whole evaluation, `regex_timeout_s` each
        search of an output rule (and counts against the deadline)."""
        view = _View(run, self._ref_names, deadline_s=deadline_s, regex_timeout_s=regex_timeout_s)
        out: list[Violation] = []
        checks = self._checks
        for n, check in enumerate(checks):
            # Checked between checks: the clock costs next to nothing, and a check that
            # was never started must not count as passed.
            if n and time.monotonic() > view.deadline:
                _late(view, out, len(checks) - n + bool(tool_schemas))
                return Verdict(self.fixture_id, False, out, run.run_id)
            check(view, out)
        if tool_schemas:
            if time.monotonic() > view.deadline:
                _late(view, out, 1)
                return Verdict(self.fixture_id, False, out, run.run_id)
            _schema_violations(view, self._schemas.get(tool_schemas), out)
        return Verdict(self.fixture_id, not out, out, run.run_id)


_CACHE: dict[int, tuple[weakref.ref[Fixture], Evaluator]] = {}
_CACHE_MAX = 4096


def compile(fixture: Fixture) -> Evaluator:
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
             deadline_s: float = DEADLINE_S, regex_timeout_s: float = REGEX_TIMEOUT_S) -> Verdict:
    """Judge `run` against `fixture`; see the module docstring for the semantics."""
    return compile(fixture).evaluate(run, tool_schemas=tool_schemas, deadline_s=deadline_s,
                                     regex_timeout_s=regex_timeout_s)


__all__ = ["DEADLINE_S", "KINDS", "REGEX_TIMEOUT_S", "Evaluator", "FixtureError", "Verdict",
           "Violation", "compile",
           "error_verdict", "evaluate", "json_contains", "json_equal"]

"""The `tool_sequence` check: the run's tool calls paired with the expected calls in
one of five modes, by maximum matching or in-order alignment (`evalloop.evaluate.matching`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalloop.evaluate.judgement import Violation
from evalloop.evaluate.matching import align, embed_in_order, max_matching
from evalloop.evaluate.values import ArgsTest, args_test, call_text
from evalloop.evaluate.view import Check, View, span_evidence
from evalloop.model.fixture import ToolSequence
from evalloop.model.run import Span


@dataclass(frozen=True, slots=True)
class _Spec:
    index: int
    name: str
    args: dict[str, Any] | None
    test: ArgsTest | None  # None: any arguments match

    def text(self) -> str:
        return call_text(self.name, self.args if self.test is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": self.args}


def _compile_specs(seq: ToolSequence) -> list[_Spec]:
    specs = []
    for i, c in enumerate(seq.calls):
        mode = seq.args_by_tool.get(c.name, seq.args)
        test = None if c.args is None or mode == "ignore" else args_test(c.args, mode)
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


def tool_sequence(seq: ToolSequence) -> Check:
    """The `tool_sequence` expectation in its five modes.

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

    def unmatched_spec(sp: _Spec, view: View, why: str, **extra: Any) -> Violation:
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
            lambda: f"{mode}: call #{pos} {call_text(s.name, s.args or {})} at span {i} {why}",
            expected=None, actual={"name": s.name, "args": s.args},
            details={"mode": mode, "call_index": pos}, **span_evidence(i, s))

    def replaced(sp: _Spec, pos: int, calls: list[tuple[int, Span]]) -> Violation:
        i, s = calls[pos]
        what = "has other arguments than" if s.name == sp.name else "is"
        return Violation(
            "sequence", lambda: f"strict: call #{pos} at span {i} "
            f"{call_text(s.name, s.args or {})} {what} expected call #{sp.index} {sp.text()}",
            expected=sp.as_dict(), actual={"name": s.name, "args": s.args},
            details={"mode": mode, "call_index": pos, "spec_index": sp.index}, **span_evidence(i, s))

    def check_strict(view: View, out: list[Violation]) -> None:
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

    def check_matching(view: View, out: list[Violation]) -> None:
        calls = view.tools()
        lost_specs, lost_calls = _pair(plan, view.tool_names(), view.tool_args())
        if mode in ("unordered", "superset"):
            for sp in lost_specs:
                out.append(unmatched_spec(sp, view, "is matched by no distinct call of the run"))
        if mode in ("unordered", "subset"):
            for pos in lost_calls:
                out.append(unmatched_call(pos, calls, "matches no distinct expected call"))

    def check_in_order(view: View, out: list[Violation]) -> None:
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


__all__ = ["tool_sequence"]

r"""The backtracking check: whether a regular expression can take exponential time on a
backtracking engine, decided on the pattern as `re`'s own parser reads it.

A backtracking engine takes exponential time when one text can be split among
the iterations of a repeat in exponentially many ways and the match then
fails. Two shapes make that evident on the parsed pattern:

  * a repeat (at most >= 2) whose body can end with a variable-length part
    (an inner repeat, an optional, alternatives of different lengths) taking
    a character the body can also start with: `(a+)+`, `(a*)*`, `(\w+\s?)+`,
    `(a|aa)+`: the inner part can give a character to the next iteration;
  * a branch inside a repeat with two alternatives that match the same text:
    two that can be empty, or two equal ones: `(a|a)*` (re's parser factors
    the common prefix out and leaves two empty alternatives), `(ab|cd|ab)+`.

Character sets are compared on a sample alphabet (Latin-1 and Latin
Extended-A, a few other scripts, and every character the pattern names), so
`\w` overlaps `a` and `[a-z]` overlaps `\d` not. Backreferences, lookarounds
and possessive or atomic parts are taken as adding no ambiguity; what the
check misses, the regex timeout still bounds.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

# The parser behind `re` (stdlib, private, stable since sre): it reads the pattern
# with exactly the syntax fixtures are documented to use.
_sre: Any = importlib.import_module("re._parser")

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


def parse(pattern: str) -> Any:
    """`pattern` as `re`'s parser reads it (case-insensitive): the tree the check reads.

    Raises `re.error` for an invalid pattern, `RecursionError` for one nested too deeply.
    """
    return _sre.parse(pattern, re.IGNORECASE)


def catastrophic_backtracking(parsed: Any) -> str | None:
    """Why the parsed pattern backtracks catastrophically, None when no evident reason."""
    try:
        return _Backtracking(parsed).check(parsed)
    except RecursionError:
        return "it is nested too deeply to be checked"


__all__ = ["catastrophic_backtracking", "parse"]

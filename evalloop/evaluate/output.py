"""The output rules: phrases and regular expressions the run's output must contain or
must not contain, searched in bounded time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped, unused-ignore]

from evalloop.evaluate.backtracking import catastrophic_backtracking, parse
from evalloop.evaluate.judgement import FixtureError, Violation
from evalloop.evaluate.values import short
from evalloop.evaluate.view import Check, View
from evalloop.model.fixture import RegexRule


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled output rule, with its source as the fixture writes it."""

    source: str | dict[str, str]
    pattern: Any  # a compiled `regex` pattern: the module ships no type information
    # A phrase rule's pattern is ours: literal words, `\s+` between, lookarounds at
    # the ends. It searches in time linear in the text times the phrase, so it runs
    # without the timeout, whose clock costs more than such a search.
    linear: bool = False


# VERSION0: `re`'s semantics, which the fixture format documents.
_FLAGS = regex.IGNORECASE | regex.VERSION0


def compile_rule(rule: str | RegexRule, loc: tuple[str | int, ...]) -> Rule:
    """A phrase as a case-insensitive whole-word pattern, a regex as written; a regex that
    is invalid or evidently exponential is a `FixtureError` at `loc`."""
    if isinstance(rule, RegexRule):
        where = (*loc, "regex")
        try:
            # `re`'s parser first: it is the syntax fixtures are written in, and the
            # tree the backtracking check reads.
            parsed = parse(rule.regex)
            pattern = regex.compile(rule.regex, _FLAGS)
        except (re.error, regex.error) as exc:
            raise FixtureError(f"invalid regex {rule.regex!r}: {exc}", where) from None
        except RecursionError:
            raise FixtureError(f"invalid regex {short(rule.regex)!r}: nested too deeply",
                               where) from None
        why = catastrophic_backtracking(parsed)
        if why is not None:
            raise FixtureError(
                f"regex {short(rule.regex)!r} can take exponential time: {why}; make the "
                "repetition unambiguous, or atomic with (?>...) or a possessive quantifier "
                "such as ++", where)
        return Rule({"regex": rule.regex}, pattern)
    words = rule.split()
    if not words:
        raise FixtureError("an output rule must not be empty", loc)
    body = r"\s+".join(re.escape(w) for w in words)
    # Word boundaries only where the phrase starts or ends with a word character,
    # so that rules like "$100" or "100%" still match.
    head = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    tail = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return Rule(rule, regex.compile(head + body + tail, _FLAGS), linear=True)


def _rule_text(source: str | dict[str, str]) -> str:
    return repr(short(source)) if isinstance(source, str) else f"regex {short(source['regex'])!r}"


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


def _search(view: View, r: Rule, text: str) -> Any:
    if r.linear:
        return r.pattern.search(text)
    return _bounded(view, r.pattern.search, text)


def _bounded(view: View, run: Callable[..., Any], *args: Any) -> Any:
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


def _unjudged_rule(kind: str, r: Rule, why: str) -> Violation:
    return Violation(kind, f"{_rule_text(r.source)} {why}: cannot be judged", expected=r.source,
                     actual=None, details={"judged": False})


def output_rules(must: list[Rule], must_not: list[Rule]) -> Check:
    def check(view: View, out: list[Violation]) -> None:
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
                    expected=r.source, actual=short(text, 200)))
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
                    f"character {m.start()}: {short(m.group(0))!r}", expected=r.source,
                    actual=m.group(0),
                    details={"offset": m.start(), "matches": count,
                             "excerpt": _excerpt(text, m.start(), m.end())}))
    return check


__all__ = ["Rule", "compile_rule", "output_rules"]

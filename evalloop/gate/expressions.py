"""`--select` expressions: which fixtures to run, by id and by their labels.

    refund-approval-bypass-regression       an id
    refund-*                                ids by glob (`*`, `?`, `[...]`)
    severity:blocking                       severity (blocking | warning | exploratory)
    owner:support-platform                  owner (after the config's default owner)
    gate:prompt                             fixtures a change of that kind runs (no `gates:` = every kind)
    route:refund_assist                     scope.routes
    incident:INC-2026-04-18-001             incident_id (`incident:*`: any incident fixture)
    path:fixtures/refund/*                  the fixture's file, as .gitignore globs match paths
    id:NAME                                 an id or id glob, spelled out

Every value may be a glob (`path:` values follow the repository's glob rule,
`evalloop.repo.globs`, docs/fixtures.md). Terms combine with `and`, `or`, `not` and parentheses
(`not` binds tightest, then `and`, then `or`):

    severity:blocking and not gate:model_route
    (owner:support-platform or owner:trust-and-safety) and refund-*
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from evalloop.errors import UsageError
from evalloop.repo.fixtures import LoadedFixture
from evalloop.repo.globs import matches

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
KEYS = ("id", "severity", "owner", "gate", "route", "incident", "path")


@dataclass(frozen=True)
class Subject:
    """What an expression sees of one fixture."""

    id: str
    severity: str
    owner: str | None
    gates: tuple[str, ...] | None
    routes: tuple[str, ...]
    incident_id: str | None
    path: str

    @classmethod
    def of(cls, lf: LoadedFixture) -> Subject:
        """The labels of a loaded fixture (the config's `defaults` already filled in)."""
        fx = lf.fixture
        return cls(id=fx.id, severity=lf.severity, owner=fx.owner,
                   gates=tuple(fx.gates) if fx.gates is not None else None,
                   routes=tuple(fx.scope.routes) if fx.scope else (), incident_id=fx.incident_id, path=lf.path)


Predicate = Callable[[Subject], bool]


def _match(pattern: str, value: str | None) -> bool:
    return value is not None and fnmatchcase(value, pattern)


def _term(token: str, expr: str) -> Predicate:
    key, sep, value = token.partition(":")
    if not sep:
        return lambda s: _match(token, s.id)
    if key not in KEYS:
        raise UsageError(f"--select {expr!r}: unknown key {key!r} (known: {', '.join(KEYS)})")
    if not value:
        raise UsageError(f"--select {expr!r}: {key}: needs a value")
    if key == "id":
        return lambda s: _match(value, s.id)
    if key == "severity":
        return lambda s: _match(value, s.severity)
    if key == "owner":
        return lambda s: _match(value, s.owner)
    if key == "gate":
        return lambda s: s.gates is None or any(_match(value, g) for g in s.gates)
    if key == "route":
        return lambda s: any(_match(value, r) for r in s.routes)
    if key == "incident":
        return lambda s: _match(value, s.incident_id)
    return lambda s: matches((value,), s.path)  # the repository's glob rule (evalloop.repo.globs)


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _TOKEN.findall(expr)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise UsageError(f"--select {self.expr!r}: ends too early")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise UsageError("--select: empty expression")
        pred = self.either()
        if self.peek() is not None:
            raise UsageError(f"--select {self.expr!r}: unexpected {self.peek()!r}")
        return pred

    def either(self) -> Predicate:
        parts = [self.both()]
        while self.peek() == "or":
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else (lambda s: any(p(s) for p in parts))

    def both(self) -> Predicate:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else (lambda s: all(p(s) for p in parts))

    def negation(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.negation()
            return lambda s: not inner(s)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.take()
        if token == "(":
            inner = self.either()
            if self.peek() != ")":
                raise UsageError(f"--select {self.expr!r}: missing ')'")
            self.take()
            return inner
        if token in (")", "and", "or"):
            raise UsageError(f"--select {self.expr!r}: unexpected {token!r}")
        return _term(token, self.expr)


def compile_select(expressions: list[str] | tuple[str, ...]) -> Predicate:
    """One predicate for the given `--select` options (several options: any of them)."""
    preds = [_Parser(e).parse() for e in expressions]
    if not preds:
        return lambda s: True
    return lambda s: any(p(s) for p in preds)


__all__ = ["KEYS", "Predicate", "Subject", "compile_select"]

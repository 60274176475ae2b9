"""The checks of one fixture file: schema, expectations, owner, expiry, references, redaction.

A fixture with schema errors still gets every other check that its data allows: the owner, the
expiry, the incident and scope references are read field by field, each as the model reads it,
and a check is left out only when its own field is wrong (that field's SCH001 says so). The
redaction scan reads the raw data in any case. So one run shows everything a file needs fixed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ValidationError

from evalloop.model.findings import Finding, did_you_mean
from evalloop.model.fixture import Expected, Fixture, RegexRule, Scope
from evalloop.repo import parse
from evalloop.validate.redaction import ALLOW_MARKER, scan_data
from evalloop.validate.repository import Validation
from evalloop.validate.schema import schema_findings

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_REDACTED_GROUPS = ("input", "context", "expected", "required_spans", "forbidden_spans",
                    "expected_stop_reason", "output_must_contain", "output_must_not_contain")


@dataclass
class _Facts:
    """What the owner, expiry, reference and redaction checks read; None: the field is absent
    or wrong (then its check is not made: the schema finding covers it)."""

    owner: str | None = None
    owner_given: bool = False  # the file names an owner (a wrong one included)
    temporary: bool | None = False
    expires_at: dt.date | None = None
    incident_id: str | None = None
    scope_paths: list[str] = field(default_factory=list)
    synthetic_values: list[str] = field(default_factory=list)


def _from_fixture(fixture: Fixture) -> _Facts:
    return _Facts(owner=fixture.owner, owner_given=fixture.owner is not None, temporary=fixture.temporary,
                  expires_at=fixture.expires_at, incident_id=fixture.incident_id,
                  scope_paths=list(fixture.scope.paths) if fixture.scope else [],
                  synthetic_values=list(fixture.synthetic_values))


_WRONG = object()


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter  # only a fixture with schema errors is read field by field

    info = model.model_fields[name]
    # the field's own constraints (an id pattern, a date) travel with it as Annotated metadata
    form: Any = Annotated[info.annotation, info]
    return TypeAdapter(form)


def _field(model: type[BaseModel], data: Any, name: str) -> Any:
    """Field `name` of mapping `data` as `model` reads it: its default when absent, _WRONG when
    its value would be a schema error."""
    if not isinstance(data, dict) or name not in data:
        return model.model_fields[name].get_default(call_default_factory=True)
    try:
        return _adapter(model, name).validate_python(data[name])
    except ValidationError:
        return _WRONG


def _from_data(data: dict[Any, Any]) -> _Facts:
    """The facts of a fixture whose data the model refused as a whole, field by field."""
    def get(name: str, model: type[BaseModel] = Fixture, within: Any = data) -> Any:
        value = _field(model, within, name)
        return None if value is _WRONG else value

    facts = _Facts(owner=get("owner"), temporary=get("temporary"), expires_at=get("expires_at"),
                   incident_id=get("incident_id"))
    if _field(Fixture, data, "expires_at") is _WRONG:
        facts.temporary = None  # a wrong date is not a missing one: no EXP003 beside its SCH001
    facts.owner_given = data.get("owner") is not None
    scope = data.get("scope")
    facts.scope_paths = (get("paths", Scope, scope) or []) if isinstance(scope, dict) else []
    synthetic = data.get("synthetic_values")
    # a list with one wrong item still declares its other values synthetic
    facts.synthetic_values = [s for s in synthetic if isinstance(s, str)] if isinstance(synthetic, list) else []
    return facts


def check_fixture(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    try:
        fixture = Fixture.model_validate(doc.data)
    except ValidationError as exc:
        yield from schema_findings(doc, Fixture, exc)
        if not isinstance(doc.data, dict):
            return  # not a mapping (a list, a scalar): there are no fields to check
        facts = _from_data(doc.data)
    else:
        yield from _expectations(doc, fixture)
        facts = _from_fixture(fixture)
    yield from _owner(v, doc, facts)
    yield from _expiry(v, doc, facts)
    yield from _references(v, doc, facts)
    yield from _redaction(v, doc, facts)


def _at(doc: parse.Document, *loc: Any, key: bool = False) -> tuple[int, int]:
    return parse.locate(doc, loc, key=key)


def _may_be_refused(exp: Expected) -> bool:
    """Whether compiling these expectations can fail. The evaluator refuses only a regex output
    rule (invalid, or one that can take exponential time), a blank phrase and an order pair
    naming one span twice (evaluate.evaluator._build_checks, evaluate.output.compile_rule); for
    any other fixture the evaluator and what it imports (jsonschema, regex, the run model) are
    not needed, and the pre-commit hook pays for every import."""
    rules = [*exp.output_must_contain, *exp.output_must_not_contain]
    return any(isinstance(r, RegexRule) or not r.split() for r in rules) or any(a == b for a, b in exp.order)


def _expectations(doc: parse.Document, fixture: Fixture) -> Iterator[Finding]:
    """SCH002: expectations the schema allows but nothing can evaluate (a bad regex, a pair naming
    one span twice), as the evaluator finds them."""
    if not _may_be_refused(fixture.expectations()):
        return
    from evalloop.evaluate.evaluator import compile_fixture
    from evalloop.evaluate.judgement import FixtureError

    try:
        compile_fixture(fixture)
    except FixtureError as exc:
        line, col = _at(doc, *exc.loc)
        yield Finding(path=doc.display, line=line, col=col, code="SCH002",
                      message=f"{'.'.join(map(str, exc.loc))}: {exc.message}")


def _owner(v: Validation, doc: parse.Document, facts: _Facts) -> Iterator[Finding]:
    cfg = v.repo.config
    if facts.owner_given and facts.owner is None:
        return  # an owner of the wrong type: its schema finding says so
    owner = facts.owner or cfg.defaults.owner
    known = v.owners()
    if owner is None:
        yield Finding(path=doc.display, line=1, col=1, code="OWN002",
                      message="fixture has no `owner` and evalloop.yaml sets no `defaults.owner`")
    elif known is not None and owner not in known:
        line, col = _at(doc, "owner") if facts.owner else (1, 1)
        yield Finding(path=doc.display, line=line, col=col, code="OWN001",
                      message=f"owner {owner!r} is not listed in "
                      f"{'CODEOWNERS' if cfg.owners.source == 'codeowners' else cfg.owners.file}"
                      + did_you_mean(owner, known))


def _expiry(v: Validation, doc: parse.Document, facts: _Facts) -> Iterator[Finding]:
    if facts.temporary and facts.expires_at is None:
        line, col = _at(doc, "temporary", key=True)
        yield Finding(path=doc.display, line=line, col=col, code="EXP003",
                      message="`temporary: true` needs an `expires_at` date")
    if facts.expires_at is not None:
        days = (facts.expires_at - v.today).days
        if days < 0:
            line, col = _at(doc, "expires_at")
            yield Finding(path=doc.display, line=line, col=col, code="EXP001",
                          message=f"fixture expired on {facts.expires_at.isoformat()} "
                          f"({-days} days ago): renew it with a reason or delete it")
        elif days <= v.repo.config.expiry_warning_days:
            line, col = _at(doc, "expires_at")
            yield Finding(path=doc.display, line=line, col=col, code="EXP002", level="warning",
                          message=f"fixture expires on {facts.expires_at.isoformat()} "
                          f"(in {days} days)")


def _references(v: Validation, doc: parse.Document, facts: _Facts) -> Iterator[Finding]:
    if facts.incident_id is not None:
        ids = v.incident_ids()
        if ids is not None and facts.incident_id not in ids:
            line, col = _at(doc, "incident_id")
            yield Finding(path=doc.display, line=line, col=col, code="REF001",
                          message=f"incident {facts.incident_id!r} not found under "
                          f"{v.repo.config.incidents_dir}/")
    for i, p in enumerate(facts.scope_paths):
        if not v.scope_matches(p):
            line, col = _at(doc, "scope", "paths", i)
            yield Finding(path=doc.display, line=line, col=col, code="REF002",
                          message=f"scope path {p!r} matches no file in the repository")


def _redaction(v: Validation, doc: parse.Document, facts: _Facts) -> Iterator[Finding]:
    data = doc.data
    if not isinstance(data, dict):
        return
    allowed = [re.compile(rx) for rx in v.repo.config.redaction_allow]
    lines: list[str] | None = None
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for group in _REDACTED_GROUPS:
        if group not in data:
            continue
        for loc, hit in scan_data(data[group], (group,)):
            if (loc, hit.code) in seen or hit.value in facts.synthetic_values or any(
                    rx.search(hit.value) for rx in allowed):
                continue
            seen.add((loc, hit.code))
            line, col = _at(doc, *loc)
            lines = lines if lines is not None else doc.text.splitlines()
            if 0 < line <= len(lines):
                if ALLOW_MARKER in lines[line - 1]:
                    continue
                # point at the item itself when the scalar sits on one line
                found = lines[line - 1].find(hit.value, col - 1)
                col = found + 1 if found >= 0 else col
            yield Finding(path=doc.display, line=line, col=col, code=hit.code,
                          message=f"unredacted {hit.kind} in {'.'.join(map(str, loc))} (redact it; "
                          f"a deliberate synthetic value goes in `synthetic_values` or its line "
                          f"gets `# {ALLOW_MARKER}`)")

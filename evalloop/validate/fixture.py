"""The checks of one fixture file: schema, expectations, owner, expiry, references, redaction."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from evalloop.model.findings import Finding
from evalloop.model.fixture import Expected, Fixture, RegexRule
from evalloop.repo import parse
from evalloop.validate.redaction import ALLOW_MARKER, scan_data
from evalloop.validate.repository import Validation
from evalloop.validate.schema import schema_findings

_REDACTED_GROUPS = ("input", "context", "expected", "required_spans", "forbidden_spans",
                    "expected_stop_reason", "output_must_contain", "output_must_not_contain")


def _may_be_refused(exp: Expected) -> bool:
    """Whether compiling these expectations can fail. The evaluator refuses only a regex output
    rule (invalid, or one that can take exponential time), a blank phrase and an order pair
    naming one span twice (evaluate.evaluator._build_checks, evaluate.output.compile_rule); for
    any other fixture the evaluator and what it imports (jsonschema, regex, the run model) are
    not needed, and the pre-commit hook pays for every import."""
    rules = [*exp.output_must_contain, *exp.output_must_not_contain]
    return any(isinstance(r, RegexRule) or not r.split() for r in rules) or any(a == b for a, b in exp.order)


def check_fixture(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    cfg = v.repo.config
    data = doc.data
    try:
        fixture = Fixture.model_validate(data)
    except ValidationError as exc:
        yield from schema_findings(doc, Fixture, exc)
        return

    def at(*loc: Any, key: bool = False) -> tuple[int, int]:
        return parse.locate(doc, loc, key=key)

    # expectations the schema allows but nothing can evaluate (a bad regex, a pair naming one span twice)
    if _may_be_refused(fixture.expectations()):
        from evalloop.evaluate.evaluator import compile_fixture
        from evalloop.evaluate.judgement import FixtureError

        try:
            compile_fixture(fixture)
        except FixtureError as exc:
            line, col = at(*exc.loc)
            yield Finding(path=doc.display, line=line, col=col, code="SCH002",
                          message=f"{'.'.join(map(str, exc.loc))}: {exc.message}")

    # owner
    owner = fixture.owner or cfg.defaults.owner
    known = v.owners()
    if owner is None:
        yield Finding(path=doc.display, line=1, col=1, code="OWN002",
                      message="fixture has no `owner` and evalloop.yaml sets no `defaults.owner`")
    elif known is not None and owner not in known:
        line, col = at("owner") if fixture.owner else (1, 1)
        hint = difflib.get_close_matches(owner, sorted(known), n=1)
        yield Finding(path=doc.display, line=line, col=col, code="OWN001",
                      message=f"owner {owner!r} is not listed in "
                      f"{'CODEOWNERS' if cfg.owners.source == 'codeowners' else cfg.owners.file}"
                      + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    # expiry
    if fixture.temporary and fixture.expires_at is None:
        line, col = at("temporary", key=True)
        yield Finding(path=doc.display, line=line, col=col, code="EXP003",
                      message="`temporary: true` needs an `expires_at` date")
    if fixture.expires_at is not None:
        days = (fixture.expires_at - v.today).days
        if days < 0:
            line, col = at("expires_at")
            yield Finding(path=doc.display, line=line, col=col, code="EXP001",
                          message=f"fixture expired on {fixture.expires_at.isoformat()} "
                          f"({-days} days ago): renew it with a reason or delete it")
        elif days <= cfg.expiry_warning_days:
            line, col = at("expires_at")
            yield Finding(path=doc.display, line=line, col=col, code="EXP002", level="warning",
                          message=f"fixture expires on {fixture.expires_at.isoformat()} "
                          f"(in {days} days)")
    # references
    if fixture.incident_id is not None:
        ids = v.incident_ids()
        if ids is not None and fixture.incident_id not in ids:
            line, col = at("incident_id")
            yield Finding(path=doc.display, line=line, col=col, code="REF001",
                          message=f"incident {fixture.incident_id!r} not found under "
                          f"{cfg.incidents_dir}/")
    if fixture.scope is not None:
        for i, p in enumerate(fixture.scope.paths):
            matched = v.scope_matches(p)
            if not matched:
                line, col = at("scope", "paths", i)
                yield Finding(path=doc.display, line=line, col=col, code="REF002",
                              message=f"scope path {p!r} matches no file in the repository")
    # redaction
    allowed = [re.compile(rx) for rx in cfg.redaction_allow]
    lines: list[str] | None = None
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for group in _REDACTED_GROUPS:
        if not isinstance(data, dict) or group not in data:
            continue
        for loc, hit in scan_data(data[group], (group,)):
            if (loc, hit.code) in seen or hit.value in fixture.synthetic_values or any(
                    rx.search(hit.value) for rx in allowed):
                continue
            seen.add((loc, hit.code))
            line, col = at(*loc)
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

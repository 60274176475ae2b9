"""The checks of `evalloop validate`, each finding with a stable code.

FILE001 unreadable, binary, empty or oversized file
YAML001 syntax error          YAML002 duplicate key       YAML003 unsafe tag / too deep
SCH001  schema violation
ID001   id used by another fixture
OWN001  owner not known       OWN002  no owner and no default owner
EXP001  expired               EXP002  expires soon (warning)   EXP003 temporary without expires_at
REF001  incident_id not found REF002  scope path matches nothing
RED001  e-mail  RED002 phone  RED003 payment card  RED004 IBAN  RED005 credential
"""

from __future__ import annotations

import datetime as dt
import difflib
import glob
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from pydantic import BaseModel, ValidationError

from evalloop import parse
from evalloop.config import CONFIG_FILE, Config
from evalloop.errors import EvalloopError
from evalloop.findings import Finding
from evalloop.fixtures import Fixture
from evalloop.incidents import Incident
from evalloop.owners import OwnersFile, known_owners
from evalloop.redaction import ALLOW_MARKER, scan_data

_YAML_ID = re.compile(r"^id:[ \t]*(.*?)[ \t]*(?:#.*)?$", re.M)
_REDACTED_GROUPS = ("input", "context", "expected", "required_spans", "forbidden_spans",
                    "expected_stop_reason", "output_must_contain", "output_must_not_contain")


@dataclass
class Repo:
    """A fixture repository: its root, config and the files that make it up."""

    root: Path
    config: Config

    def display(self, path: Path) -> str:
        try:
            return os.path.relpath(path, Path.cwd())
        except ValueError:
            return str(path)

    def fixture_files(self) -> list[Path]:
        found: set[Path] = set()
        for pattern in self.config.fixtures:
            for name in glob.iglob(pattern, root_dir=self.root, recursive=True):
                p = self.root / name
                if p.is_file():
                    found.add(p)
        return sorted(found)

    def incident_files(self) -> list[Path]:
        folder = self.root / self.config.incidents_dir
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json")
                      and p.is_file())

    def kind_of(self, path: Path) -> str:
        rel = _rel(path, self.root)
        if rel == CONFIG_FILE:
            return "config"
        if rel == self.config.owners.file:
            return "owners"
        if rel.startswith(self.config.incidents_dir.rstrip("/") + "/"):
            return "incident"
        return "fixture"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@cache
def _validator(model: type[BaseModel]) -> jsonschema.Draft202012Validator:
    from evalloop.schemas import schema_for

    return jsonschema.Draft202012Validator(schema_for(model))


def _schema_findings(doc: parse.Document, model: type[BaseModel], exc: ValidationError) -> list[Finding]:
    """Schema errors positioned on the offending key or value.

    jsonschema reports against the published schema (the contract users see);
    checks it cannot express (cross-field rules) come from pydantic.
    """
    out: list[Finding] = []
    for err in sorted(_validator(model).iter_errors(parse.plain(doc.data)), key=lambda e: e.path):
        out.extend(_from_schema_error(doc, err))
    if out:
        return out
    for perr in exc.errors():
        loc = tuple(perr["loc"])
        line, col = parse.locate(doc, loc, key=perr["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc if isinstance(p, (str, int)))
        out.append(Finding(path=doc.display, line=line, col=col, code="SCH001",
                           message=f"{where or '(root)'}: {perr['msg']}"))
    return out


def _from_schema_error(doc: parse.Document, err: SchemaError) -> list[Finding]:
    while err.context:
        # For `X | None` fields the null branch's complaint is noise: explain the real branch.
        branches = [e for e in err.context if e.schema != {"type": "null"}]
        err = best_match(branches or err.context) or err
    loc = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted((err.schema if isinstance(err.schema, dict) else {}).get("properties", {}))
        out = []
        for extra in (k for k in err.instance if k not in allowed):
            hint = difflib.get_close_matches(str(extra), allowed, n=1)
            out.append(_positioned(doc, (*loc, extra), f"unknown key {extra!r}"
                                   + (f" (did you mean {hint[0]!r}?)" if hint else ""), key=True))
        return out
    return [_positioned(doc, loc, err.message, key=err.validator == "required")]


def _positioned(doc: parse.Document, loc: tuple[Any, ...], message: str, *, key: bool) -> Finding:
    line, col = parse.locate(doc, loc, key=key)
    if len(message) > 300:
        message = message[:297] + "..."
    where = ".".join(str(p) for p in loc) or "(root)"
    return Finding(path=doc.display, line=line, col=col, code="SCH001", message=f"{where}: {message}")


def _load(repo: Repo, path: Path) -> parse.Document | Finding:
    try:
        return parse.load_document(path, max_bytes=repo.config.max_fixture_bytes,
                                   display=repo.display(path))
    except parse.LoadError as exc:
        return Finding(path=exc.path or repo.display(path), line=exc.line or 1, col=exc.col or 1,
                       code=exc.code, message=exc.message)


def scan_id(path: Path, max_bytes: int) -> str | None:
    """A fixture's id without a full parse: the top-level `id:` line, or the JSON field."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    if path.suffix.lower() == ".json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        value = data.get("id") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    m = _YAML_ID.search(raw.decode("utf-8", errors="replace"))
    if m is None:
        try:
            data = parse.parse_text(raw.decode("utf-8", errors="replace"), str(path), is_json=False)
        except parse.LoadError:
            return None
        value = data.get("id") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    value = m.group(1)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value or None


@dataclass
class _Checked:
    doc: parse.Document
    fixture: Fixture


@dataclass
class Validation:
    repo: Repo
    today: dt.date
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    _owners: set[str] | None = None
    _owners_loaded: bool = False
    _incident_ids: set[str] | None = None

    def owners(self) -> set[str] | None:
        if not self._owners_loaded:
            self._owners_loaded = True
            try:
                self._owners = known_owners(self.repo.root, self.repo.config)
            except EvalloopError as exc:
                # without a usable owners list no owner can be checked: say so once
                self.findings.append(Finding(path=exc.path or "owners.yaml", line=exc.line or 1,
                                             col=exc.col or 1, code="OWN000",
                                             message=f"owners unusable: {exc.message}"))
        return self._owners

    def incident_ids(self) -> set[str] | None:
        if self._incident_ids is None:
            if not (self.repo.root / self.repo.config.incidents_dir).is_dir():
                return None
            self._incident_ids = {
                i for p in self.repo.incident_files()
                if (i := scan_id(p, self.repo.config.max_fixture_bytes)) is not None
            }
        return self._incident_ids


def _check_fixture(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    repo, cfg = v.repo, v.repo.config
    data = doc.data
    try:
        fixture = Fixture.model_validate(data)
    except ValidationError as exc:
        yield from _schema_findings(doc, Fixture, exc)
        return

    def at(*loc: Any, key: bool = False) -> tuple[int, int]:
        return parse.locate(doc, loc, key=key)

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
            matched = (any(glob.iglob(p, root_dir=repo.root, recursive=True))
                       if glob.has_magic(p) else (repo.root / p).exists())
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


def _check_model(doc: parse.Document, model: type[BaseModel]) -> Iterator[Finding]:
    try:
        model.model_validate(doc.data)
    except ValidationError as exc:
        yield from _schema_findings(doc, model, exc)


def validate(repo: Repo, files: Iterable[Path] | None, today: dt.date) -> Validation:
    """Validate the given files (all fixtures, incidents and config when None)."""
    v = Validation(repo=repo, today=today)
    every_fixture = repo.fixture_files()
    if files is None:
        targets = [*every_fixture, *repo.incident_files()]
        for extra in (repo.root / CONFIG_FILE, repo.root / repo.config.owners.file):
            if extra.is_file():
                targets.append(extra)
    else:
        targets = list(files)
        # a changed owners list or config can break fixtures that did not change
        if any(repo.kind_of(p) in ("config", "owners") for p in targets):
            given = {p.resolve() for p in targets}
            targets += [p for p in every_fixture if p.resolve() not in given]
    # owners and config first: when they are broken, fixtures cannot be checked against them
    targets.sort(key=lambda p: repo.kind_of(p) not in ("config", "owners"))
    checked: dict[Path, tuple[str, parse.Document]] = {}
    incident_ids: dict[str, list[parse.Document]] = {}
    for path in targets:
        v.files += 1
        loaded = _load(repo, path)
        if isinstance(loaded, Finding):
            v.findings.append(loaded)
            continue
        kind = repo.kind_of(path)
        if kind == "config":
            v.findings.extend(_check_model(loaded, Config))
        elif kind == "owners":
            found = list(_check_model(loaded, OwnersFile))
            v.findings.extend(found)
            if found:
                v._owners_loaded = True
        elif kind == "incident":
            found = list(_check_model(loaded, Incident))
            v.findings.extend(found)
            if not found:
                incident_ids.setdefault(loaded.data["id"], []).append(loaded)
        else:
            found = list(_check_fixture(v, loaded))
            v.findings.extend(found)
            if isinstance(loaded.data, dict) and isinstance(loaded.data.get("id"), str):
                checked[path.resolve()] = (loaded.data["id"], loaded)
    v.findings.extend(_duplicate_ids(repo, checked, every_fixture, files is None))
    for ident, docs in incident_ids.items():
        for doc in docs[1:]:
            line, col = parse.locate(doc, ("id",))
            v.findings.append(Finding(path=doc.display, line=line, col=col, code="ID001",
                                      message=f"incident id {ident!r} is also used by {docs[0].display}"))
    v.findings.sort(key=Finding.sort_key)
    return v


def _duplicate_ids(repo: Repo, checked: dict[Path, tuple[str, parse.Document]],
                   every_fixture: list[Path], complete: bool) -> Iterator[Finding]:
    """ID001 for each checked fixture whose id another fixture file also uses."""
    owners_of: dict[str, list[str]] = {}
    for ident, doc in checked.values():
        owners_of.setdefault(ident, []).append(doc.display)
    if not complete:
        wanted = set(owners_of)
        for path in every_fixture:
            if path.resolve() in checked:
                continue
            ident = scan_id(path, repo.config.max_fixture_bytes)
            if ident in wanted:
                owners_of[ident].append(repo.display(path))
    for ident, doc in checked.values():
        others = [p for p in owners_of[ident] if p != doc.display]
        if others:
            line, col = parse.locate(doc, ("id",))
            yield Finding(path=doc.display, line=line, col=col, code="ID001",
                          message=f"id {ident!r} is also used by {', '.join(sorted(others))}")

"""The checks of `evalloop validate`, each finding with a stable code.

FILE001 unreadable, binary, empty or oversized file
YAML001 syntax error          YAML002 duplicate key       YAML003 unsafe tag / too deep
SCH001  schema violation    SCH002  expectation that cannot be evaluated (bad regex, ...)
ID001   id used by another fixture
OWN001  owner not known       OWN002  no owner and no default owner
EXP001  expired               EXP002  expires soon (warning)   EXP003 temporary without expires_at
REF001  incident_id not found REF002  scope path matches nothing
RED001  e-mail  RED002 phone  RED003 payment card  RED004 IBAN  RED005 credential
"""

from __future__ import annotations

import datetime as dt
import difflib
import multiprocessing as mp
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from pydantic import BaseModel, ValidationError

from evalloop.errors import EvalloopError
from evalloop.model import quarantine
from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.findings import Finding
from evalloop.model.fixture import Fixture
from evalloop.model.incident import Incident
from evalloop.model.owners import OwnersFile, known_owners
from evalloop.model.quarantine import QUARANTINE_FILE, QuarantineFile
from evalloop.repo import parse
from evalloop.repo.globs import glob_any, glob_files
from evalloop.validate.redaction import ALLOW_MARKER, scan_data, secret_detectors

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
        return glob_files(self.root, self.config.fixtures)

    def incident_files(self) -> list[Path]:
        # the fixtures' walk: it does not leave the repository through symlinked folders, and
        # keeps FIFOs and other non-files so that each gets its FILE001 instead of vanishing
        folder = self.config.incidents_dir.strip("/")
        if not (self.root / folder).is_dir():
            return []
        return [p for p in glob_files(self.root, [f"{folder}/**"]) if p.suffix in (".yaml", ".yml", ".json")]

    def kind_of(self, path: Path) -> str:
        rel = _rel(path, self.root)
        if rel == CONFIG_FILE:
            return "config"
        if rel == self.config.owners.file:
            return "owners"
        if rel == QUARANTINE_FILE:
            return "quarantine"
        if rel.startswith(self.config.incidents_dir.rstrip("/") + "/"):
            return "incident"
        return "fixture"


def _rel(path: Path, root: Path) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


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
                                   display=repo.display(path), root=repo.root)
    except parse.LoadError as exc:
        return Finding(path=exc.path or repo.display(path), line=exc.line or 1, col=exc.col or 1,
                       code=exc.code, message=exc.message)


def scan_id(path: Path, max_bytes: int, *, root: Path | None = None) -> str | None:
    """A fixture's id without a full parse: the top-level `id:` line, or the JSON field."""
    try:  # the same refusals as a full load: a FIFO must not block, a link out must not be read
        raw = parse.read_bytes(path, str(path), max_bytes, root=root)
    except parse.LoadError:
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
class Validation:
    repo: Repo
    today: dt.date
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    _owners: set[str] | None = None
    _owners_loaded: bool = False
    _incident_ids: set[str] | None = None
    _scope_globs: dict[str, bool] = field(default_factory=dict)

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

    def scope_matches(self, pattern: str) -> bool:
        """Whether a scope path names something. Globs are matched as the gate matches them
        (evalloop.repo.globs), by a walk that never follows a symlinked folder: glob.iglob's `**`
        does, and two links to `.` make that walk exponential."""
        if pattern not in self._scope_globs:
            self._scope_globs[pattern] = (glob_any(self.repo.root, pattern) if any(c in pattern for c in "*?")
                                          else (self.repo.root / pattern).exists())
        return self._scope_globs[pattern]

    def incident_ids(self) -> set[str] | None:
        if self._incident_ids is None:
            if not (self.repo.root / self.repo.config.incidents_dir).is_dir():
                return None
            self._incident_ids = {
                i for p in self.repo.incident_files()
                if (i := scan_id(p, self.repo.config.max_fixture_bytes, root=self.repo.root)) is not None
            }
        return self._incident_ids


def _check_fixture(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    cfg = v.repo.config
    data = doc.data
    try:
        fixture = Fixture.model_validate(data)
    except ValidationError as exc:
        yield from _schema_findings(doc, Fixture, exc)
        return

    def at(*loc: Any, key: bool = False) -> tuple[int, int]:
        return parse.locate(doc, loc, key=key)

    # expectations the schema allows but nothing can evaluate (a bad regex, a pair naming one span twice)
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


def _check_quarantine(v: Validation, doc: parse.Document) -> Iterator[Finding]:
    """QUA001: a protected fixture quarantined; QUA002: expired entry; REF003: unknown fixture."""
    from evalloop.gate.selection import load_heads

    try:
        entries = QuarantineFile.model_validate(doc.data).quarantine
    except ValidationError as exc:
        yield from _schema_findings(doc, QuarantineFile, exc)
        return
    heads = {e.head.id: e.head for e in load_heads(v.repo.root, v.repo.config) if e.head}
    cfg = v.repo.config
    signals = quarantine.incident_signals(v.repo.root, cfg.incidents_dir, cfg.max_fixture_bytes)
    known = v.owners()
    for i, q in enumerate(entries):
        line, col = parse.locate(doc, ("quarantine", i, "id"))
        head = heads.get(q.id)
        if head is None:
            yield Finding(path=doc.display, line=line, col=col, code="REF003",
                          message=f"quarantined fixture {q.id!r} does not exist")
            continue
        protected = quarantine.guarded(head.risk, head.incident_id, signals)
        if protected:
            yield Finding(path=doc.display, line=line, col=col, code="QUA001",
                          message=f"fixture {q.id!r} guards {', '.join(protected)}: it can never be quarantined; "
                          "fix the flakiness instead")
        if known is not None and q.owner not in known:
            o_line, o_col = parse.locate(doc, ("quarantine", i, "owner"))
            yield Finding(path=doc.display, line=o_line, col=o_col, code="OWN001",
                          message=f"owner {q.owner!r} is not a known owner")
        if q.expires_at < v.today:
            e_line, e_col = parse.locate(doc, ("quarantine", i, "expires_at"))
            yield Finding(path=doc.display, line=e_line, col=e_col, code="QUA002", level="warning",
                          message=f"quarantine of {q.id!r} expired on {q.expires_at.isoformat()}: "
                          "the fixture blocks again; renew it or remove the entry")


def _check_model(doc: parse.Document, model: type[BaseModel]) -> Iterator[Finding]:
    try:
        model.model_validate(doc.data)
    except ValidationError as exc:
        yield from _schema_findings(doc, model, exc)


@dataclass
class _FileResult:
    path: Path
    display: str
    kind: str
    findings: list[Finding]
    ident: str | None


# Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 400
_STATE: Validation | None = None


def _check_file(v: Validation, path: Path) -> _FileResult:
    repo = v.repo
    kind = repo.kind_of(path)
    loaded = _load(repo, path)
    if isinstance(loaded, Finding):
        return _FileResult(path, loaded.path, kind, [loaded], None)
    models: dict[str, type[BaseModel]] = {"config": Config, "owners": OwnersFile, "incident": Incident}
    model = models.get(kind)
    if kind == "quarantine":
        found = list(_check_quarantine(v, loaded))
    else:
        found = list(_check_model(loaded, model) if model else _check_fixture(v, loaded))
    data = loaded.data
    ident = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    if kind == "incident" and found:
        ident = None
    return _FileResult(path, loaded.display, kind, found, ident)


def _check_chunk(paths: list[Path]) -> list[_FileResult]:
    assert _STATE is not None
    return [_check_file(_STATE, p) for p in paths]


def _check_all(v: Validation, paths: list[Path]) -> list[_FileResult]:
    """Check files, over all cores when there are many (parsing is CPU-bound)."""
    global _STATE
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < PARALLEL_MIN_FILES or workers < 2 or "fork" not in mp.get_all_start_methods():
        return [_check_file(v, p) for p in paths]
    # shared lookups are computed once here and inherited by the forked workers
    v.owners()
    v.incident_ids()
    secret_detectors()
    _validator(Fixture)
    size = max(64, len(paths) // (workers * 4))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    _STATE = v
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            return [r for part in pool.map(_check_chunk, chunks) for r in part]
    finally:
        _STATE = None


def validate(repo: Repo, files: Iterable[Path] | None, today: dt.date) -> Validation:
    """Validate the given files (all fixtures, incidents and config when None)."""
    v = Validation(repo=repo, today=today)
    every_fixture = repo.fixture_files()
    if files is None:
        targets = [*every_fixture, *repo.incident_files()]
        for extra in (repo.root / CONFIG_FILE, repo.root / repo.config.owners.file, repo.root / QUARANTINE_FILE):
            if extra.is_file():
                targets.append(extra)
    else:
        targets = list(files)
        # a changed owners list or config can break fixtures that did not change
        if any(repo.kind_of(p) in ("config", "owners", "quarantine") for p in targets):
            given = {os.path.abspath(p) for p in targets}
            targets += [p for p in every_fixture if os.path.abspath(p) not in given]
    # owners and config first: when they are broken, fixtures cannot be checked against them
    first = [p for p in targets if repo.kind_of(p) in ("config", "owners")]
    results = [_check_file(v, p) for p in first]
    if any(r.kind == "owners" and r.findings for r in results):
        v._owners_loaded = True
    results += _check_all(v, [p for p in targets if repo.kind_of(p) not in ("config", "owners")])
    v.files = len(results)
    for r in results:
        v.findings.extend(r.findings)
    fixtures = {os.path.abspath(r.path): r for r in results if r.kind == "fixture" and r.ident}
    incidents = [r for r in results if r.kind == "incident" and r.ident]
    v.findings.extend(_duplicate_ids(repo, fixtures, every_fixture, files is None))
    v.findings.extend(_duplicate_ids(repo, {os.path.abspath(r.path): r for r in incidents}, [],
                                     True, what="incident id"))
    v.findings.sort(key=Finding.sort_key)
    return v


def _duplicate_ids(repo: Repo, checked: dict[str, _FileResult], every_fixture: list[Path],
                   complete: bool, what: str = "id") -> Iterator[Finding]:
    """ID001 for each checked file whose id another file also uses."""
    users: dict[str, list[str]] = {}
    for r in checked.values():
        users.setdefault(r.ident or "", []).append(r.display)
    if not complete:
        for path in every_fixture:
            if os.path.abspath(path) in checked:
                continue
            ident = scan_id(path, repo.config.max_fixture_bytes, root=repo.root)
            if ident in users:
                users[ident].append(repo.display(path))
    for r in checked.values():
        others = [p for p in users[r.ident or ""] if p != r.display]
        if others:
            # only duplicates need positions: parse those again with positions
            doc = parse.load_document(r.path, max_bytes=repo.config.max_fixture_bytes,
                                      display=r.display, root=repo.root)
            line, col = parse.locate(doc, ("id",))
            yield Finding(path=r.display, line=line, col=col, code="ID001",
                          message=f"{what} {r.ident!r} is also used by {', '.join(sorted(others))}")

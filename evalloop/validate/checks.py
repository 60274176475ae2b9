"""The checks of `evalloop validate`, each finding with a stable code.

FILE001 unreadable, binary, empty or oversized file
YAML001 syntax error          YAML002 duplicate key       YAML003 unsafe tag / too deep
SCH001  schema violation    SCH002  expectation that cannot be evaluated (bad regex, ...)
ID001   id used by another fixture
OWN001  owner not known       OWN002  no owner and no default owner
EXP001  expired               EXP002  expires soon (warning)   EXP003 temporary without expires_at
REF001  incident_id not found REF002  scope path matches nothing
REF004  an incident's fixture_ids names no fixture
FIX001  a file that reads as a fixture where the `fixtures:` globs do not look (warning)
LED001  a line of a release ledger (releases/<env>.jsonl) that is not a ledger entry
RED001  e-mail  RED002 phone  RED003 payment card  RED004 IBAN  RED005 credential
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.findings import Finding
from evalloop.model.fixture import Fixture
from evalloop.model.quarantine import QUARANTINE_FILE
from evalloop.repo import parse
from evalloop.validate.fixture import check_fixture
from evalloop.validate.ledger import ledger_files
from evalloop.validate.redaction import secret_detectors
from evalloop.validate.repository import Repo, Validation, load, looks_like_fixture
from evalloop.validate.schema import check_model, validator


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
    kind = repo.kind_of(path) or "fixture"  # only covered files get here (`validate` filters the rest)
    if kind == "ledger":
        from evalloop.validate.ledger import check_ledger  # JSON Lines, not one document

        return _FileResult(path, repo.display(path), kind, list(check_ledger(repo, path)), None)
    loaded = load(repo, path)
    if isinstance(loaded, Finding):
        return _FileResult(path, loaded.path, kind, [loaded], None)
    if kind == "quarantine":
        # imported for the file that needs it: quarantine checks read fixture identities through git
        from evalloop.validate.quarantine import check_quarantine

        found = list(check_quarantine(v, loaded))
    elif kind == "fixture":
        found = list(check_fixture(v, loaded))
    else:
        found = list(check_model(loaded, _model(kind)))
    data = loaded.data
    ident = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    if kind == "incident" and found:
        ident = None
    return _FileResult(path, loaded.display, kind, found, ident)


def _model(kind: str) -> type[BaseModel]:
    """The model of an evalloop file other than a fixture, imported when such a file is checked."""
    if kind == "owners":
        from evalloop.model.owners import OwnersFile

        return OwnersFile
    if kind == "incident":
        from evalloop.model.incident import Incident

        return Incident
    return Config


def _check_chunk(paths: list[Path]) -> list[_FileResult]:
    assert _STATE is not None
    return [_check_file(_STATE, p) for p in paths]


def _check_all(v: Validation, paths: list[Path]) -> list[_FileResult]:
    """Check files, over all cores when there are many (parsing is CPU-bound)."""
    global _STATE
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < PARALLEL_MIN_FILES or workers < 2:
        return [_check_file(v, p) for p in paths]
    import multiprocessing as mp  # only for a run this large: the hook checks a few files
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in mp.get_all_start_methods():
        return [_check_file(v, p) for p in paths]
    # shared lookups are computed once here and inherited by the forked workers
    v.owners()
    v.incident_ids()
    secret_detectors()
    validator(Fixture)
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
    if files is None:
        targets = [*repo.fixture_files(), *repo.incident_files()]
        for extra in (repo.root / CONFIG_FILE, repo.root / repo.config.owners.file, repo.root / QUARANTINE_FILE):
            if extra.is_file():
                targets.append(extra)
        targets += ledger_files(repo)
    else:
        named = list(files)
        targets = [p for p in named if repo.kind_of(p) is not None]
        v.findings.extend(_uncovered(repo, [p for p in named if repo.kind_of(p) is None]))
        # a changed owners list or config can break fixtures that did not change
        if any(repo.kind_of(p) in ("config", "owners", "quarantine") for p in targets):
            given = {os.path.abspath(p) for p in targets}
            targets += [p for p in repo.fixture_files() if os.path.abspath(p) not in given]
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
    v.findings.extend(_duplicate_ids(v, fixtures, complete=files is None))
    v.findings.extend(_duplicate_ids(v, {os.path.abspath(r.path): r for r in incidents},
                                     complete=True, what="incident id"))
    v.findings.extend(_unlinked(v, fixtures, incidents, complete=files is None))
    v.findings.sort(key=Finding.sort_key)
    if v._index is not None:
        v._index.save()
    return v


def _uncovered(repo: Repo, paths: list[Path]) -> Iterator[Finding]:
    """FIX001 for each file the config does not cover that reads as a fixture; other files are
    not evalloop's (the pre-commit hook passes every YAML and JSON file)."""
    globs = ", ".join(repo.config.fixtures)
    for path in paths:
        if looks_like_fixture(path, repo.config.max_fixture_bytes, repo.root):
            config = repo.display(repo.root / CONFIG_FILE)
            yield Finding(path=repo.display(path), line=1, col=1, code="FIX001", level="warning",
                          message=f"looks like a fixture, but the `fixtures:` globs of {config} ({globs}) "
                          "do not include it: it is not validated and the gate never runs it")


def _unlinked(v: Validation, fixtures: dict[str, _FileResult], incidents: list[_FileResult], *,
              complete: bool) -> Iterator[Finding]:
    """REF004 for an incident record's `fixture_ids` entry that names no fixture: the link back
    from an incident to what protects it (REF001 checks the fixture's `incident_id`)."""
    incidents = [r for r in incidents if not r.findings]
    if not incidents:
        return
    repo = v.repo
    known = {r.ident for r in fixtures.values()}
    if not complete:
        known |= {ident for _name, ident in v.index().ids("fixtures", repo.fixture_names(), fixtures) if ident}
    for r in incidents:
        doc = parse.load_document(r.path, max_bytes=repo.config.max_fixture_bytes, display=r.display, root=repo.root)
        named = doc.data.get("fixture_ids") if isinstance(doc.data, dict) else None
        for i, fid in enumerate(named if isinstance(named, list) else []):
            if isinstance(fid, str) and fid not in known:
                line, col = parse.locate(doc, ("fixture_ids", i))
                yield Finding(path=r.display, line=line, col=col, code="REF004",
                              message=f"fixture {fid!r} (in fixture_ids) does not exist")


def _duplicate_ids(v: Validation, checked: dict[str, _FileResult], *, complete: bool,
                   what: str = "id") -> Iterator[Finding]:
    """ID001 for each checked file whose id another file also uses; `complete`: every fixture
    was checked (else the others' ids come from the index)."""
    repo = v.repo
    users: dict[str, list[str]] = {}
    for r in checked.values():
        users.setdefault(r.ident or "", []).append(r.display)
    if not complete:
        # a stat per file, a read only for those changed since the index last saw them
        for name, ident in v.index().ids("fixtures", repo.fixture_names(), checked):
            if ident in users:
                users[ident].append(repo.display(Path(name)))
    for r in checked.values():
        others = [p for p in users[r.ident or ""] if p != r.display]
        if others:
            # only duplicates need positions: parse those again with positions
            doc = parse.load_document(r.path, max_bytes=repo.config.max_fixture_bytes,
                                      display=r.display, root=repo.root)
            line, col = parse.locate(doc, ("id",))
            yield Finding(path=r.display, line=line, col=col, code="ID001",
                          message=f"{what} {r.ident!r} is also used by {', '.join(sorted(others))}")

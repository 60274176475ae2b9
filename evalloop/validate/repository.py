"""The repository `evalloop validate` checks: its files, and what the checks share while they run."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from evalloop.errors import EvalloopError
from evalloop.model.config import Config
from evalloop.model.findings import Finding
from evalloop.model.release import LEDGER_DIR
from evalloop.repo import fs, incidents, parse
from evalloop.repo.classify import Classifier
from evalloop.repo.globs import compile_globs, glob_any, glob_files, glob_rel
from evalloop.repo.idindex import IdIndex
from evalloop.repo.idindex import scan_id as scan_id  # the gate's runner reads ids the same way
from evalloop.repo.owners import known_owners


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

    def fixture_names(self) -> list[str]:
        """The fixture files as absolute path strings (os.path.abspath's form): what the
        unique-id check walks, for 5,000 files cheaper than Path objects."""
        root = os.path.abspath(self.root)
        return [os.path.join(root, rel) for rel in glob_rel(self.root, self.config.fixtures)]

    def incident_files(self) -> list[Path]:
        return incidents.incident_files(self.root, self.config)  # FIFOs kept: each gets its FILE001

    def kind_of(self, path: Path) -> str | None:
        """config, owners, quarantine, fixture or incident, as evalloop.yaml places them; None for
        any other file (it is not evalloop's to check)."""
        rel = _rel(path, self.root)
        role = Classifier(self.config).role(rel)
        if role is not None:
            return role
        if compile_globs(tuple(self.config.fixtures)).matches(rel):
            return "fixture"
        if is_ledger(rel):
            return "ledger"
        return "incident" if incidents.is_record(rel, self.config) else None


def is_ledger(rel: str) -> bool:
    """Whether a root-relative path is a release ledger, `releases/<env>.jsonl`."""
    folder, _, name = rel.rpartition("/")
    return folder == LEDGER_DIR and name.endswith(".jsonl")


def _rel(path: Path, root: Path) -> str:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


def load(repo: Repo, path: Path) -> parse.Document | Finding:
    try:
        return parse.load_document(path, max_bytes=repo.config.max_fixture_bytes,
                                   display=repo.display(path), root=repo.root)
    except fs.LoadError as exc:
        return Finding(path=exc.path or repo.display(path), line=exc.line or 1, col=exc.col or 1,
                       code=exc.code, message=exc.message)


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
    _index: IdIndex | None = None

    def index(self) -> IdIndex:
        """Ids of files this run does not check in full, verified by stat (evalloop.repo.idindex)."""
        if self._index is None:
            self._index = IdIndex(self.repo.root, self.repo.config.max_fixture_bytes)
        return self._index

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
            # an existing path matches itself; anything else is looked for by the rule (a name
            # without a slash matches at any depth)
            literal = not any(c in pattern for c in "*?[!\\") and (self.repo.root / pattern.lstrip("/")).exists()
            self._scope_globs[pattern] = literal or glob_any(self.repo.root, pattern)
        return self._scope_globs[pattern]

    def incident_ids(self) -> set[str] | None:
        if self._incident_ids is None:
            if not (self.repo.root / self.repo.config.incidents_dir).is_dir():
                return None
            names = [os.path.abspath(p) for p in self.repo.incident_files()]
            self._incident_ids = {i for _, i in self.index().ids("incidents", names) if i is not None}
        return self._incident_ids


_FIXTURE_KEYS = frozenset({"input", "context", "expected", "required_spans", "forbidden_spans",
                           "expected_stop_reason", "output_must_contain", "output_must_not_contain"})


def looks_like_fixture(path: Path, max_bytes: int, root: Path) -> bool:
    """Whether a file no glob covers reads as a fixture (a mapping with an `id` and fixture keys):
    one put where the config does not look is never validated and never run by the gate."""
    try:
        data = parse.load_document(path, max_bytes=max_bytes, root=root).data
    except fs.LoadError:
        return False
    return isinstance(data, dict) and isinstance(data.get("id"), str) and bool(_FIXTURE_KEYS & data.keys())

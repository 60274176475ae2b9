"""Fixture identities: the few fields selection and protection need, read cheaply from the work
tree or from git's objects, with evalloop.yaml's defaults applied, and cached signed by blob id."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from evalloop.model.config import Config
from evalloop.model.fixture import Scope
from evalloop.model.kinds import Severity
from evalloop.repo import fs, parse
from evalloop.repo.git import ls_tree, read_blobs

_IDENTITY_END = re.compile(r"^(input|context|expected):", re.M)


class FixtureHead(BaseModel):
    """The identity fields selection needs; parsed without the (larger) inputs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    owner: str | None = None
    severity: Severity | None = None
    gates: list[str] | None = None
    scope: Scope | None = None
    incident_id: str | None = None
    reason: str | None = None
    risk: list[str] = []


@dataclass(frozen=True, slots=True)
class ScopeInfo:
    paths: list[str]
    routes: list[str]
    tools: list[str]


@dataclass(frozen=True, slots=True)
class Head:
    """A validated FixtureHead as plain data: thousands are built per gate run, cheaply."""

    id: str
    owner: str | None
    severity: str | None
    gates: list[str] | None
    scope: ScopeInfo | None
    incident_id: str | None
    reason: str | None
    risk: list[str]
    defaulted: bool = False  # gates or scope came from evalloop.yaml's `defaults`

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Head:
        scope = data.get("scope")
        return cls(**{**data, "scope": ScopeInfo(**scope) if scope else None})


@dataclass
class Entry:
    path: str  # relative to the repository root, posix
    head: Head | None
    severity: Severity
    error: str | None = None  # why the file could not be read: it cannot be selected with confidence
    # gates and scope as JSON: fixtures with equal signatures are selected alike
    gates_sig: str = ""
    scope_sig: str = ""

    @property
    def id(self) -> str:
        return self.head.id if self.head else self.path


CACHE_VERSION = 4


def load_heads(root: Path, config: Config) -> list[Entry]:
    """Every fixture's identity, read from the work tree."""
    from evalloop.repo.globs import glob_rel

    entries = []
    for rel in glob_rel(root, config.fixtures):
        try:
            text = fs.read_text(root / rel, rel, config.max_fixture_bytes)
        except fs.LoadError as exc:
            entries.append(_entry(rel, str(exc), config))
            continue
        entries.append(_entry(rel, _parse_head(text, rel), config))
    return entries


class IdentityCache:
    """Fixture identities by blob id and path, shared by the revisions one gate run reads.

    Kept in `cache_dir` (the gate uses `.git/evalloop`) and signed (evalloop.repo.cache): one
    that was edited or is malformed is ignored with a note. `save` keeps what was used."""

    def __init__(self, cache_dir: Path | None, notes: list[str] | None = None) -> None:
        from evalloop.repo import cache as signed

        self.file = cache_dir / f"fixture-heads-v{CACHE_VERSION}.json" if cache_dir else None
        self.stored: dict[str, Any] = signed.load(self.file, notes if notes is not None else []) \
            if self.file is not None else {}
        self.used: dict[str, Head | str] = {}
        self.parsed = 0

    def get(self, key: str) -> Head | str | None:
        hit = self.used.get(key)
        if hit is None:
            hit = _from_cache(self.stored.get(key))
            if hit is not None:
                self.used[key] = hit
        return hit

    def put(self, key: str, head: Head | str) -> None:
        self.used[key] = head
        self.parsed += 1

    def save(self) -> None:
        from evalloop.repo import cache as signed

        if self.file is not None and (self.parsed or len(self.used) != len(self.stored)):
            # the cache keeps what the file says; config defaults are applied on every load
            signed.store(self.file, {k: dataclasses.asdict(h) if isinstance(h, Head) else h
                                     for k, h in self.used.items()})


def load_heads_at(repo: Any, commit: str, prefix: str, config: Config, cache: IdentityCache | None = None
                  ) -> list[Entry]:
    """Every fixture's identity at `commit`, read from git's objects, not the work tree.

    With a cache, a run parses only fixtures it has not seen: listing the tree is the cost.
    """
    from evalloop.repo.globs import compile_globs

    globs = compile_globs(tuple(config.fixtures))
    listed = ls_tree(repo, commit, [(prefix + b) or "." for b in globs.bases()])
    files = [(path[len(prefix):], sha) for path, sha in listed if path.startswith(prefix)]
    files = [(rel, sha) for rel, sha in files if globs.matches(rel)]
    cache = cache if cache is not None else IdentityCache(None)
    heads = {sha + rel: cache.get(sha + rel) for rel, sha in files}
    missing = [sha for rel, sha in files if heads[sha + rel] is None]
    blobs = read_blobs(repo, missing) if missing else {}
    entries = []
    for rel, sha in files:
        head = heads[sha + rel]
        if head is None:
            head = _head_from_bytes(blobs.get(sha, b""), rel, config.max_fixture_bytes)
            cache.put(sha + rel, head)
        entries.append(_entry(rel, head, config))
    return entries


def _from_cache(value: Any) -> Head | str | None:
    """A cached identity, or None (parse the blob again) for anything that is not one."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    try:  # the signature says we wrote it; this only guards against another version's layout
        return Head.from_dict(value)
    except (TypeError, ValueError):
        return None


def _entry(rel: str, head: Head | str, config: Config) -> Entry:
    """An Entry with evalloop.yaml's defaults applied (as repo.fixtures does for whole fixtures);
    a string is why the file is unusable."""
    d = config.defaults
    if isinstance(head, str):
        return Entry(rel, None, d.severity, error=head)
    severity: Severity = head.severity or d.severity  # type: ignore[assignment]
    if head.owner is None and d.owner is not None:
        head = dataclasses.replace(head, owner=d.owner)
    if (head.gates is None and d.gates is not None) or (head.scope is None and d.scope is not None):
        head = dataclasses.replace(
            head, gates=head.gates if head.gates is not None else list(d.gates or []),
            scope=head.scope or (ScopeInfo(**d.scope.model_dump()) if d.scope else None), defaulted=True)
    return Entry(rel, head, severity, gates_sig=orjson.dumps([head.gates, head.defaulted]).decode(),
                 scope_sig=orjson.dumps(head.scope).decode())


def _head_from_bytes(raw: bytes, rel: str, max_bytes: int) -> Head | str:
    if len(raw) > max_bytes:
        return f"{rel}: file over max_fixture_bytes"
    try:
        return _parse_head(fs.decode_text(raw, rel), rel)
    except fs.LoadError as exc:
        return str(exc)


def _parse_head(text: str, rel: str) -> Head | str:
    """YAML is cut before `input:`/`context:`/`expected:` (the identity block comes first by
    convention), which makes large fixtures cheap; anything unusual is parsed whole."""
    try:
        is_json = rel.endswith(".json")
        data: Any = None
        if not is_json:
            m = _IDENTITY_END.search(text)
            if m is not None:
                try:
                    data = parse.parse_text(text[: m.start()], rel, is_json=False)
                except fs.LoadError:
                    data = None
        if not isinstance(data, dict) or "id" not in data:
            data = parse.parse_text(text, rel, is_json=is_json)
        return Head.from_dict(FixtureHead.model_validate(data).model_dump())
    except fs.LoadError as exc:
        return str(exc)
    except ValidationError as exc:
        return f"{rel}: {parse.first_error(exc)}"

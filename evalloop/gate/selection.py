"""Which behaviours a change can affect, and which fixtures protect them (SPEC 4.2-4.3).

A fixture is selected when a changed artifact's kind is in its `gates` (absent:
every kind) and its `scope` covers the artifact; every added or modified
fixture is selected; everything is selected when the config or the harness
changed, or when the change itself is uncertain. Each selection carries its
reasons; `explain` says why a fixture was not selected.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from evalloop.gate.changes import ChangeSet
from evalloop.model.config import Config
from evalloop.model.fixture import Scope
from evalloop.model.kinds import ARTIFACT_KINDS, CONVENTIONAL_FOLDERS, Severity
from evalloop.model.results import ChangedPath, Selected
from evalloop.repo import fs, parse

# The seed's "Release Gates" table: change type -> the evals it calls for.
DEFAULT_GATES: dict[str, list[str]] = {
    "prompt": ["golden tasks", "incident fixtures", "tool trajectory checks"],
    "tool_manifest": ["schema tests", "mocked tool evals", "authorization tests"],
    "policy": ["denial tests", "approval tests", "canary monitoring"],
    "model_route": ["regression suite", "cost and latency budget", "tool-selection comparison"],
    "retrieval_index": ["source relevance", "freshness", "citation coverage", "missing-evidence behavior"],
    "memory_rule": ["privacy tests", "stale-memory tests", "write-policy checks"],
    "agent_topology": ["task completion", "coordination cost", "trace completeness", "merge quality"],
    # not in the seed's table; a workflow's step order is where approvals live
    "workflow": ["approval tests", "tool trajectory checks", "incident fixtures"],
    "fixture": ["the changed fixtures themselves"],
    "config": ["every fixture (evalloop configuration changed)"],
    "harness": ["every fixture (the agent harness changed)"],
}

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
    from evalloop.gate.changes import ls_tree, read_blobs
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
    """An Entry with evalloop.yaml's defaults applied; a string is why the file is unusable."""
    d = config.defaults
    if isinstance(head, str):
        return Entry(rel, None, d.severity, error=head)
    severity: Severity = head.severity or d.severity  # type: ignore[assignment]
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


@dataclass
class Selection:
    selected: list[Selected] = field(default_factory=list)
    behaviours: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unselected: dict[str, list[str]] = field(default_factory=dict)  # id -> why not
    broken: list[Entry] = field(default_factory=list)  # fixture files that could not be read


@dataclass
class _Artifact:
    change: ChangedPath
    routes: set[str] | None  # None: unknown, so any route scope matches
    tools: set[str] | None


def _names_from(data: Any, *, container: str, stem: str) -> set[str] | None:
    if not isinstance(data, dict):
        return {stem}
    names = {stem}
    for key in ("name", "route", "tool"):
        if isinstance(data.get(key), str):
            names.add(data[key])
    inner = data.get(container)
    if isinstance(inner, dict):
        names |= {str(k) for k in inner}
    elif isinstance(inner, list):
        names |= {i["name"] for i in inner if isinstance(i, dict) and isinstance(i.get("name"), str)}
    return names


def _load_data(path: Path) -> Any:
    try:
        return parse.load_document(path, max_bytes=4 << 20).data
    except fs.LoadError:
        return None


def workflow_routes(root: Path, config: Config) -> dict[str, set[str]]:
    """workflow name -> the routes that send requests to it, from the model-route artifacts
    (`routes: [{name: refund_assist, workflow: refund}, ...]` or `routes: {refund_assist: {workflow: ...}}`)."""
    from evalloop.repo.globs import glob_rel

    globs = config.artifacts.get("model_route") or [f"{folder}**" for folder, kind in CONVENTIONAL_FOLDERS.items()
                                                      if kind == "model_route"]
    out: dict[str, set[str]] = {}
    for rel in glob_rel(root, list(globs)):
        if not rel.endswith((".yaml", ".yml", ".json")):
            continue
        data = _load_data(root / rel)
        routes = data.get("routes") if isinstance(data, dict) else None
        items = (routes.items() if isinstance(routes, dict) else
                 ((r.get("name"), r) for r in routes if isinstance(r, dict)) if isinstance(routes, list) else ())
        for name, spec in items:
            if isinstance(name, str) and isinstance(spec, dict) and isinstance(spec.get("workflow"), str):
                out.setdefault(spec["workflow"], set()).add(name)
    return out


def _attribute(change: ChangedPath, root: Path, flows: dict[str, set[str]]) -> _Artifact:
    """Which routes / tools a changed artifact concerns, where that can be told (None: unknown,
    so every scope covers it: an artifact that cannot be attributed runs everything it gates)."""
    data = _load_data(root / change.path) if change.status != "deleted" else None
    stem = Path(change.path).stem
    if change.kind == "workflow":
        flow_names: set[str] = {stem} | ({data[k] for k in ("workflow", "name") if isinstance(data.get(k), str)}
                          if isinstance(data, dict) else set())
        routes: set[str] = set().union(*(flows.get(n, set()) for n in flow_names))
        return _Artifact(change, routes or None, None)
    container = {"model_route": "routes", "tool_manifest": "tools"}.get(change.kind)
    if container is None:
        return _Artifact(change, None, None)
    # keys like routes.refund_assist.model name the route itself
    keyed: set[str] = {k.split(".")[1] for k in change.keys if k.startswith(container + ".")}
    names: set[str] | None = keyed or (_names_from(data, container=container, stem=stem) if data is not None else None)
    if change.kind == "model_route":
        return _Artifact(change, names, None)
    return _Artifact(change, None, names)


def _scope_covers(scope: ScopeInfo | None, a: _Artifact) -> tuple[bool, str]:
    from evalloop.repo.globs import matches

    if scope is None:
        return True, ""
    c = a.change
    if scope.paths:
        paths = [c.path] + ([c.old_path] if c.old_path else [])
        if not any(matches(scope.paths, p) for p in paths):
            return False, f"scope.paths {scope.paths} does not cover {c.path}"
    if scope.routes and a.routes is not None and not (set(scope.routes) & a.routes):
        return False, f"scope.routes {scope.routes} does not cover route(s) {sorted(a.routes)} in {c.path}"
    if scope.tools and a.tools is not None and not (set(scope.tools) & a.tools):
        return False, f"scope.tools {scope.tools} does not cover tool(s) {sorted(a.tools)} in {c.path}"
    return True, "scope covers it" if (scope.paths or scope.routes or scope.tools) else ""


MAX_REASONS = 8


def _capped(items: list[str], what: str) -> list[str]:
    if len(items) <= MAX_REASONS:
        return items
    return [*items[:MAX_REASONS], f"... and {len(items) - MAX_REASONS} more {what}"]


def _match(gates: list[str] | None, defaulted: bool, artifacts: list[_Artifact],
           covers: list[tuple[bool, str]]) -> list[str]:
    """Reasons a fixture with these gates and scope is selected (`covers`: its scope per artifact)."""
    reasons: list[str] = []
    for a, (covered, how) in zip(artifacts, covers, strict=True):
        c = a.change
        if (gates is not None and c.kind not in gates) or not covered:
            continue
        keys = f" [{', '.join(c.keys[:5])}{', ...' if len(c.keys) > 5 else ''}]" if c.keys else ""
        gate_how = (f"gates{' (evalloop.yaml defaults)' if defaulted else ''} include {c.kind}" if gates is not None
                    else "no gates listed: runs for every kind")
        reasons.append(f"{c.path}{keys} {c.status} ({c.kind}); {gate_how}" + (f"; {how}" if how else ""))
        if len(reasons) > MAX_REASONS:
            break
    return reasons


def _why_not(gates: list[str] | None, artifacts: list[_Artifact], covers: list[tuple[bool, str]]) -> list[str]:
    out = []
    for a, (covered, how) in zip(artifacts, covers, strict=True):
        if gates is not None and a.change.kind not in gates:
            out.append(f"gates {gates} do not include {a.change.kind} ({a.change.path})")
        elif not covered:
            out.append(how)
    return _capped(out, "changed artifacts")


def select(changes: ChangeSet, entries: list[Entry], config: Config, root: Path) -> Selection:
    sel = Selection()
    table = {**DEFAULT_GATES, **{str(k): v for k, v in config.gates.items()}}
    kinds = sorted({c.kind for c in changes.changed if c.kind in table})
    sel.behaviours = {k: table[k] for k in kinds}
    run_all: list[str] = list(changes.uncertain)
    run_all += [f"{c.path} ({c.kind}) {c.status}: every fixture runs"
                for c in changes.changed if c.kind in ("config", "harness")]
    run_all = _capped(run_all, "run-everything changes")
    sel.notes += changes.uncertain
    flows = workflow_routes(root, config) if any(c.kind == "workflow" for c in changes.changed) else {}
    artifacts = [_attribute(c, root, flows) for c in changes.changed if c.kind in ARTIFACT_KINDS]
    touched_fixtures = {c.path: c for c in changes.changed
                        if c.kind == "fixture" and c.status != "deleted"}
    # fixtures share a limited number of gate/scope combinations: match each combination once
    covers_by_scope: dict[str, list[tuple[bool, str]]] = {}
    matched_by_key: dict[str, list[str]] = {}
    for e in entries:
        if e.head is None:
            sel.broken.append(e)
            continue
        scope_key = e.scope_sig
        covers = covers_by_scope.get(scope_key)
        if covers is None:
            covers = covers_by_scope[scope_key] = [_scope_covers(e.head.scope, a) for a in artifacts]
        key = e.gates_sig + scope_key
        matched = matched_by_key.get(key)
        if matched is None:
            matched = matched_by_key[key] = _capped(_match(e.head.gates, e.head.defaulted, artifacts, covers),
                                                    "changed artifacts")
        reasons = [*run_all, *matched]
        if e.path in touched_fixtures:
            reasons.insert(0, f"fixture {touched_fixtures[e.path].status} in this change")
        if reasons:
            sel.selected.append(Selected(id=e.id, severity=e.severity, path=e.path, reasons=reasons))
        else:
            sel.unselected[e.id] = _why_not(e.head.gates, artifacts, covers) or [
                "nothing in this change is one of its gates"]
    if not changes.changed and not changes.uncertain:
        sel.notes.append("no files changed between base and head: nothing to run")
    elif not sel.selected and not run_all:
        kinds_changed = sorted({c.kind for c in changes.changed})
        sel.notes.append(f"no fixture covers this change (changed kinds: {', '.join(kinds_changed)}); "
                         "if it can alter behaviour, add a fixture whose gates name it")
    return sel


def explain(sel: Selection, fixture_id: str) -> str:
    for s in sel.selected:
        if s.id == fixture_id:
            return f"{fixture_id} is selected:\n" + "\n".join(f"  - {r}" for r in s.reasons)
    if fixture_id in sel.unselected:
        return f"{fixture_id} is not selected:\n" + "\n".join(f"  - {r}" for r in sel.unselected[fixture_id])
    return f"no fixture with id {fixture_id!r} in this repository"


def shard(selected: list[Selected], index: int, total: int) -> list[Selected]:
    """A deterministic, balanced share: round-robin over the ids in sorted order."""
    ordered = sorted(selected, key=lambda s: s.id)
    return [s for i, s in enumerate(ordered) if i % total == index - 1]

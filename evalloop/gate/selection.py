"""Which behaviours a change can affect, and which fixtures protect them.

A fixture is selected when a changed artifact's kind is in its `gates` (absent:
every kind) and its `scope` covers the artifact; every added or modified
fixture is selected; everything is selected when the config or the harness
changed, or when the change itself is uncertain. Each selection carries its
reasons; `explain` says why a fixture was not selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalloop.gate.changes import ChangeSet
from evalloop.model.config import Config
from evalloop.model.kinds import ARTIFACT_KINDS, CONVENTIONAL_FOLDERS
from evalloop.model.results import ChangedPath, Selected
from evalloop.repo import fs, parse
from evalloop.repo.identities import Entry, ScopeInfo

# The release-gates table: change type -> the evals it calls for (`gates:` in evalloop.yaml overrides it).
DEFAULT_GATES: dict[str, list[str]] = {
    "prompt": ["golden tasks", "incident fixtures", "tool trajectory checks"],
    "tool_manifest": ["schema tests", "mocked tool evals", "authorization tests"],
    "policy": ["denial tests", "approval tests", "canary monitoring"],
    "model_route": ["regression suite", "cost and latency budget", "tool-selection comparison"],
    "retrieval_index": ["source relevance", "freshness", "citation coverage", "missing-evidence behavior"],
    "memory_rule": ["privacy tests", "stale-memory tests", "write-policy checks"],
    "agent_topology": ["task completion", "coordination cost", "trace completeness", "merge quality"],
    # a workflow's step order is where approvals live
    "workflow": ["approval tests", "tool trajectory checks", "incident fixtures"],
    "fixture": ["the changed fixtures themselves"],
    "config": ["every fixture (evalloop configuration changed)"],
    "harness": ["every fixture (the agent harness changed)"],
}


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



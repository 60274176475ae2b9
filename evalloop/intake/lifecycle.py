"""The fixture lifecycle: what the repository holds, what expires, what no longer fits it
(orphaned), and the edits that keep it healthy (prune expired fixtures, transfer owners).

Edits change only the value they are about (`evalloop.repo.edit`) and are written atomically;
a removed or archived blocking fixture is still a protection change for the gate to approve.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.config import Config
from evalloop.model.fixture import Fixture
from evalloop.repo import fixtures, fs, parse
from evalloop.repo.edit import replace_value
from evalloop.repo.globs import glob_files, glob_rel
from evalloop.repo.incidents import incident_files
from evalloop.repo.owners import known_owners
from evalloop.validate.repository import scan_id


@dataclass
class Entry:
    """One fixture file as the lifecycle sees it."""

    path: str  # relative to the root, posix
    id: str
    owner: str | None = None
    severity: str | None = None
    expires_at: dt.date | None = None
    incident_id: str | None = None
    fixture: Fixture | None = None  # None: the file cannot be read (`error` says why)
    error: str | None = None
    orphaned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "id": self.id, "owner": self.owner, "severity": self.severity,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "incident_id": self.incident_id, "error": self.error, "orphaned": self.orphaned}


def inventory(root: Path, config: Config) -> list[Entry]:
    """Every fixture the config's globs find, with its defaults applied."""
    out = []
    for rel in glob_rel(root, config.fixtures):
        try:
            lf = fixtures.load_file(root, config, root / rel, rel)
        except (EvalloopError, ValidationError) as exc:
            why = parse.first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            out.append(Entry(rel, scan_id(root / rel, config.max_fixture_bytes, root=root) or rel, error=why))
            continue
        fx = lf.fixture
        out.append(Entry(rel, fx.id, fx.owner, fx.severity, fx.expires_at, fx.incident_id, fx))
    return out


def expiring(entries: list[Entry], today: dt.date, within_days: int) -> list[Entry]:
    return [e for e in entries if e.expires_at is not None and 0 <= (e.expires_at - today).days <= within_days]


def expired(entries: list[Entry], today: dt.date) -> list[Entry]:
    return [e for e in entries if e.expires_at is not None and e.expires_at < today]


def _tools_named(fx: Fixture) -> set[str]:
    ex = fx.expectations()  # the regression shape's top-level fields folded in
    names = {*ex.tools_called, *ex.tools_not_called, *ex.tool_args}
    if ex.tool_sequence is not None:
        names |= {c.name for c in ex.tool_sequence.calls}
    names |= {s.split(":", 1)[1] for s in (*ex.required_spans, *ex.forbidden_spans) if s.startswith("tool:")}
    return names


def _policy_versions(root: Path, config: Config) -> set[str]:
    """The policy versions the repository's policy files declare (`policy_version` or `version`)."""
    globs = config.artifacts.get("policy") or ["policies/**"]
    found: set[str] = set()
    for path in glob_files(root, list(globs)):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            data = parse.load_document(path, max_bytes=config.max_fixture_bytes, root=root).data
        except fs.LoadError:
            continue
        if isinstance(data, dict):
            found |= {str(data[k]) for k in ("policy_version", "version") if isinstance(data.get(k), str | int)}
    return found


def mark_orphans(root: Path, config: Config, entries: list[Entry]) -> list[str]:
    """Fill each entry's `orphaned` reasons; the returned notes say which checks could not run."""
    from evalloop.harness.manifest import agent_manifest

    notes: list[str] = []
    owners = known_owners(root, config)
    if owners is None:
        notes.append("no owners file or CODEOWNERS: owners not checked")
    try:
        manifest = agent_manifest(root, config.agent)
        if manifest is None:
            notes.append("no tool manifest (agent.tools): tools not checked")
    except EvalloopError as exc:
        manifest = None
        notes.append(f"tool manifest unusable ({exc}): tools not checked")
    tools = {t.name for t in manifest.tools} if manifest else set()
    versions = _policy_versions(root, config)
    if not versions:
        notes.append("no policy file declares a policy_version: policy versions not checked")
    incidents = {scan_id(p, config.max_fixture_bytes, root=root) for p in incident_files(root, config)}
    for e in entries:
        if e.fixture is None:
            continue
        if owners is not None and (e.owner is None or e.owner not in owners):
            e.orphaned.append(f"owner {e.owner!r} is unknown" if e.owner else "no owner")
        if manifest is not None:
            retired = sorted(_tools_named(e.fixture) - tools)
            e.orphaned += [f"tool {t} is not in the manifest (retired?)" for t in retired]
        pv = e.fixture.context.policy_version
        if versions and pv is not None and pv not in versions:
            e.orphaned.append(f"policy version {pv} is retired (not declared by any policy file)")
        if e.incident_id is not None and e.incident_id not in incidents:
            e.orphaned.append(f"incident {e.incident_id} has no record under {config.incidents_dir}/")
    return notes


def prune(root: Path, entries: list[Entry], today: dt.date, *, dry_run: bool, archive: Path | None) -> list[str]:
    """Remove (or move under `archive`, keeping their paths) the expired fixtures; what was done."""
    done = []
    for e in expired(entries, today):
        src = root / e.path
        verb = "would archive" if dry_run and archive else "would remove" if dry_run else ""
        if archive is not None:
            dest = archive / e.path
            if not dry_run:
                dest.parent.mkdir(parents=True, exist_ok=True)
                if os.path.lexists(dest):
                    raise EvalloopError("archive already holds this file; not overwriting", path=str(dest))
                shutil.move(src, dest)
            done.append(f"{verb or 'archived'} {e.path} -> {os.path.relpath(dest, root)} (expired {e.expires_at})")
        else:
            if not dry_run:
                src.unlink()
            done.append(f"{verb or 'removed'} {e.path} (expired {e.expires_at})")
    return done


def transfer(root: Path, config: Config, entries: list[Entry], old: str, new: str, *, dry_run: bool) -> list[str]:
    """Give every fixture owned (in its file) by `old` to `new`, changing only that value."""
    owners = known_owners(root, config)
    if owners is not None and new not in owners:
        raise EvalloopError(f"{new!r} is not a known owner; add it to the owners list first")
    done = []
    for e in entries:
        if e.fixture is None:
            continue
        doc = parse.load_document(root / e.path, max_bytes=config.max_fixture_bytes, display=e.path, root=root)
        if not isinstance(doc.data, dict) or doc.data.get("owner") != old:
            continue  # an owner that comes from `defaults` is the config's to change
        text = replace_value(doc, ("owner",), new)
        if not dry_run:
            fs.atomic_write(root / e.path, text)
        done.append(f"{'would transfer' if dry_run else 'transferred'} {e.path}: {old} -> {new}")
    return done

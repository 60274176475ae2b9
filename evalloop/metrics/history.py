"""What the main line's history says about the loop: when each incident record was added, when
the first fixture naming each incident was committed, when fixtures were added (with the gates they
run in), how many fixtures blocked after each commit, and when artifacts changed.

One `git log --first-parent` over the branch (committer times: when a change reached the main
line, not when it was written), with each commit's diff against its first parent, and one
`git cat-file --batch` for the fixture and incident files those diffs added or changed. Files are
read as the current config places them (its globs, defaults and incidents folder).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from evalloop.errors import EvalloopError, UsageError
from evalloop.model.config import Config
from evalloop.model.kinds import ARTIFACT_KINDS
from evalloop.repo import fs, parse
from evalloop.repo.classify import Classifier
from evalloop.repo.git import open_repo, prefix_of, read_blobs, resolve
from evalloop.repo.incidents import is_record


@dataclass(frozen=True)
class FixtureAdded:
    at: dt.datetime
    id: str
    gates: tuple[str, ...] | None  # None: every change kind runs it
    severity: str
    incident_id: str | None


@dataclass(frozen=True)
class ArtifactChange:
    at: dt.datetime
    kind: str
    path: str


@dataclass
class History:
    branch: str
    commits: int = 0
    incident_added: dict[str, dt.datetime] = field(default_factory=dict)  # incident id -> record first committed
    first_fixture: dict[str, dt.datetime] = field(default_factory=dict)  # incident id -> first fixture naming it
    fixtures_added: list[FixtureAdded] = field(default_factory=list)  # each fixture id's first appearance
    blocking: list[tuple[dt.datetime, int, int]] = field(default_factory=list)  # (time, blocking, all fixtures)
    artifact_changes: list[ArtifactChange] = field(default_factory=list)

    def blocking_at(self, when: dt.datetime) -> tuple[int, int] | None:
        """(blocking, all) fixtures on the main line at `when`; None before the first fixture."""
        found = None
        for at, blocking, total in self.blocking:
            if at > when:
                break
            found = (blocking, total)
        return found


@dataclass(frozen=True)
class _Snap:
    id: str
    severity: str
    incident_id: str | None
    gates: tuple[str, ...] | None


def read_history(root: Path, config: Config, branch: str | None = None) -> History:
    """The history of `branch` (default: `metrics.branch` of the config); UsageError when the root
    is not in a git repository or the branch names no commit."""
    repo = open_repo(root)
    prefix = prefix_of(repo, root)
    rev = branch or config.metrics.branch
    if not repo.head.is_valid() and rev == "HEAD":
        return History(branch=rev)
    tip = resolve(repo, rev, "metrics --branch").hexsha
    out = repo.git.log("--first-parent", "--reverse", "--diff-merges=first-parent", "--raw", "-z", "--no-abbrev",
                       "-M", "--format=%x01%H %ct", tip, "--", strip_newline_in_stdout=False)
    commits = _parse_log(out)
    classifier = Classifier(config)
    wanted: dict[str, str] = {}  # blob sha -> display path
    for _sha, _at, changes in commits:
        for _status, _old, new, blob in changes:
            rel = _rel(new, prefix)
            if blob and rel is not None and (classifier.kind(rel) == "fixture" or is_record(rel, config)):
                wanted[blob] = rel
    blobs = _read(repo, wanted)
    return _replay(History(branch=rev), commits, prefix, config, classifier, blobs)


def _replay(history: History, commits: list[tuple[str, dt.datetime, list[tuple[str, str, str, str]]]],
            prefix: str, config: Config, classifier: Classifier, blobs: dict[str, dict[str, Any] | None]) -> History:
    fixtures: dict[str, _Snap] = {}  # path -> what the fixture at that path was
    seen: set[str] = set()
    for _sha, at, changes in commits:
        history.commits += 1
        touched = False
        for status, old, new, blob in changes:
            old_rel, rel = _rel(old, prefix), _rel(new, prefix)
            if status in "DR" and old_rel is not None and old_rel in fixtures:
                del fixtures[old_rel]
                touched = True
            if status == "D" or rel is None:
                continue
            kind = classifier.kind(rel)
            if kind in ARTIFACT_KINDS:
                history.artifact_changes.append(ArtifactChange(at, kind, rel))
            data = blobs.get(blob)
            if is_record(rel, config) and data is not None and isinstance(data.get("id"), str):
                history.incident_added.setdefault(data["id"], at)
            if kind == "fixture":
                touched = True
                snap = _snap(data, config) if data is not None else None
                if snap is None:
                    fixtures.pop(rel, None)
                    continue
                fixtures[rel] = snap
                if snap.id not in seen:
                    seen.add(snap.id)
                    history.fixtures_added.append(FixtureAdded(at, snap.id, snap.gates, snap.severity,
                                                               snap.incident_id))
                if snap.incident_id:
                    history.first_fixture.setdefault(snap.incident_id, at)
        if touched:
            history.blocking.append((at, sum(f.severity == "blocking" for f in fixtures.values()), len(fixtures)))
    return history


def _snap(data: dict[str, Any], config: Config) -> _Snap | None:
    fixture_id = data.get("id")
    if not isinstance(fixture_id, str):
        return None
    severity = data.get("severity")
    gates = data.get("gates", config.defaults.gates)
    incident = data.get("incident_id")
    return _Snap(fixture_id, severity if isinstance(severity, str) else config.defaults.severity,
                 incident if isinstance(incident, str) else None,
                 tuple(str(g) for g in gates) if isinstance(gates, list) else None)


def _read(repo: git.Repo, wanted: dict[str, str]) -> dict[str, dict[str, Any] | None]:
    """blob sha -> the document's mapping; None for what does not parse (it names nothing)."""
    out: dict[str, dict[str, Any] | None] = {}
    for sha, raw in read_blobs(repo, sorted(wanted)).items():
        try:
            data = parse.blob_document(raw, wanted[sha]).data
        except (fs.LoadError, EvalloopError):
            data = None
        out[sha] = data if isinstance(data, dict) else None
    return out


def _parse_log(out: str) -> list[tuple[str, dt.datetime, list[tuple[str, str, str, str]]]]:
    """(sha, committer time, [(status, old path, new path, new blob)]) per commit, oldest first."""
    commits = []
    for chunk in out.split("\x01")[1:]:
        header, _, rest = chunk.partition("\0")
        sha, _, stamp = header.partition(" ")
        try:
            at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        except ValueError:
            raise UsageError(f"git log printed an unexpected line for {sha[:12]}") from None
        fields = rest.lstrip("\n").split("\0")
        changes = []
        i = 0
        while i < len(fields):
            meta = fields[i]
            if not meta.startswith(":"):
                i += 1
                continue
            _am, _bm, _a, b_sha, status = meta[1:].split(" ", 4)
            if status[0] in "RC":
                old, new = fields[i + 1], fields[i + 2]
                i += 3
            else:
                old = new = fields[i + 1]
                i += 2
            changes.append((status[0], old, new, "" if set(b_sha) == {"0"} else b_sha))
        commits.append((sha, at, changes))
    return commits


def _rel(path: str, prefix: str) -> str | None:
    """The path relative to the evalloop root; None outside it."""
    if not prefix:
        return path
    return path[len(prefix):] if path.startswith(prefix) else None

"""One revision of the repository as the gate sees it: read from git's objects, never the work tree.

The gate decides on commits. Reading config, fixtures, quarantine and incident
records from the objects of a commit means nothing the agent writes while it
runs (it runs in the work tree) can change what was selected or excused, and the
base revision can be read without checking it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import git
from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.config import CONFIG_FILE, Config
from evalloop.model.quarantine import QUARANTINE_FILE, QuarantineEntry, QuarantineFile, signal_of
from evalloop.repo import parse
from evalloop.repo.config import MAX_CONFIG_BYTES, config_from_document
from evalloop.repo.git import ls_tree, read_files
from evalloop.repo.identities import Entry, IdentityCache, load_heads_at
from evalloop.repo.incidents import is_record


@dataclass
class Revision:
    commit: str
    prefix: str  # the evalloop root inside the git tree ("" or "sub/")
    config: Config
    entries: list[Entry]
    quarantine: list[QuarantineEntry]
    signals: dict[str, str]  # incident id -> signal type
    notes: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries if e.head is not None}


def config_at(repo: git.Repo, commit: str, prefix: str) -> Config:
    """evalloop.yaml as `commit` has it (all defaults when it has none)."""
    path = prefix + CONFIG_FILE
    raw = read_files(repo, commit, [path], MAX_CONFIG_BYTES).get(path)
    if raw is None:
        return Config()
    return config_from_document(parse.blob_document(raw, f"{commit[:12]}:{path}"))


def load(repo: git.Repo, commit: str, prefix: str, config: Config | None, cache: IdentityCache | None) -> Revision:
    """The revision: its config (unless given), fixture identities, quarantine and incident signals."""
    config = config if config is not None else config_at(repo, commit, prefix)
    notes: list[str] = []
    entries = load_heads_at(repo, commit, prefix, config, cache)
    q_path = prefix + QUARANTINE_FILE
    quarantine: list[QuarantineEntry] = []
    raw = read_files(repo, commit, [q_path], 1 << 20).get(q_path)
    if raw is not None:
        try:
            quarantine = list(QuarantineFile.model_validate(parse.blob_document(raw, q_path).data).quarantine)
        except (EvalloopError, ValidationError):
            notes.append(f"{QUARANTINE_FILE} at {commit[:12]} is unusable: nothing is quarantined "
                         "(`evalloop validate` says why)")
    signals: dict[str, str] = {}
    folder = prefix + config.incidents_dir.strip("/")
    records = [p for p, _ in ls_tree(repo, commit, [folder]) if is_record(p[len(prefix):], config)]
    for path, blob in read_files(repo, commit, records, config.max_fixture_bytes).items():
        try:
            data: Any = parse.blob_document(blob, path).data
        except EvalloopError:
            continue
        found = signal_of(data)
        if found is not None:
            signals[found[0]] = found[1]
    return Revision(commit, prefix, config, entries, quarantine, signals, notes)

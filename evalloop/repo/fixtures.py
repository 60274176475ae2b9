"""The one fixture loader: a fixture file from the work tree or from a revision's objects, with
evalloop.yaml's `defaults` (owner, severity, gates, scope) applied once, here, so that nothing
downstream falls back to the config again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.config import Config
from evalloop.model.fixture import Fixture
from evalloop.model.kinds import Severity
from evalloop.repo import parse
from evalloop.repo.git import read_files


@dataclass(frozen=True)
class LoadedFixture:
    """A fixture with the config's defaults applied, and its file (`path` relative to the root,
    as reports show it)."""

    path: str
    fixture: Fixture

    def __post_init__(self) -> None:
        if self.fixture.severity is None:  # built around the loader: defaults would be applied twice
            raise ValueError(f"{self.path}: a LoadedFixture comes from repo.fixtures.loaded (defaults applied)")

    @property
    def severity(self) -> Severity:
        return self.fixture.severity or "blocking"  # never None: checked above


def with_defaults(fixture: Fixture, config: Config) -> Fixture:
    """`fixture` with what it leaves out taken from the config's `defaults`."""
    d = config.defaults
    update: dict[str, Any] = {}
    if fixture.owner is None and d.owner is not None:
        update["owner"] = d.owner
    if fixture.severity is None:
        update["severity"] = d.severity
    if fixture.gates is None and d.gates is not None:
        update["gates"] = list(d.gates)
    if fixture.scope is None and d.scope is not None:
        update["scope"] = d.scope
    return fixture.model_copy(update=update) if update else fixture


def loaded(path: str, data: Any, config: Config) -> LoadedFixture:
    """A fixture document's data validated and completed (raises pydantic's ValidationError)."""
    return LoadedFixture(path, with_defaults(Fixture.model_validate(data), config))


def load_file(root: Path, config: Config, full: Path, rel: str) -> LoadedFixture:
    """The fixture at `full` (shown as `rel`); raises EvalloopError or ValidationError."""
    doc = parse.load_document(full, max_bytes=config.max_fixture_bytes, display=rel, root=root)
    return loaded(rel, doc.data, config)


def load_at(repo: git.Repo, commit: str, prefix: str, config: Config, paths: list[str]
            ) -> dict[str, LoadedFixture | str]:
    """rel path -> the fixture at `commit` (read from git's objects), or the error text for it."""
    blobs = read_files(repo, commit, [prefix + p for p in paths], config.max_fixture_bytes)
    out: dict[str, LoadedFixture | str] = {}
    for rel in paths:
        raw = blobs.get(prefix + rel)
        if raw is None:
            out[rel] = f"{rel}: not in {commit[:12]}, or over max_fixture_bytes"
            continue
        try:
            out[rel] = loaded(rel, parse.blob_document(raw, rel).data, config)
        except EvalloopError as exc:
            out[rel] = str(exc)
        except ValidationError as exc:
            out[rel] = f"{rel}: {parse.first_error(exc)}"
    return out

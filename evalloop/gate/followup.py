"""What a reader needs to follow a failure up: how to reach the fixture's owner and which
incident record it protects against, read from the head revision's objects like the rest of
the gate's inputs (what the agent writes in the work tree cannot change them)."""

from __future__ import annotations

from typing import Any

import git
from pydantic import ValidationError

from evalloop.errors import EvalloopError
from evalloop.model.config import Config
from evalloop.model.owners import OwnersFile
from evalloop.model.results import FixtureResult
from evalloop.repo import parse
from evalloop.repo.git import ls_tree, read_files
from evalloop.repo.incidents import is_record

MAX_OWNERS_BYTES = 1 << 20


def contacts(repo: git.Repo, commit: str, prefix: str, config: Config) -> dict[str, str]:
    """Owner name -> contact, from the owners file at `commit` (none with CODEOWNERS, or when the
    file is missing or unusable: `evalloop validate` reports that)."""
    if config.owners.source != "owners_file":
        return {}
    path = prefix + config.owners.file
    raw = read_files(repo, commit, [path], MAX_OWNERS_BYTES).get(path)
    if raw is None:
        return {}
    try:
        owners = OwnersFile.model_validate(parse.blob_document(raw, path).data).owners
    except (EvalloopError, ValidationError):
        return {}
    return {name: o.contact for name, o in owners.items() if o is not None and o.contact}


def incident_records(repo: git.Repo, commit: str, prefix: str, config: Config
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """(incident id -> record path, fixture id -> record path) at `commit`, paths relative to the
    evalloop root; the first record in path order wins a duplicate."""
    folder = prefix + config.incidents_dir.strip("/")
    records = sorted(p for p, _ in ls_tree(repo, commit, [folder]) if is_record(p[len(prefix):], config))
    by_incident: dict[str, str] = {}
    by_fixture: dict[str, str] = {}
    for path, blob in sorted(read_files(repo, commit, records, config.max_fixture_bytes).items()):
        try:
            data: Any = parse.blob_document(blob, path).data
        except EvalloopError:
            continue
        if not isinstance(data, dict):
            continue
        rel = path[len(prefix):]
        if isinstance(data.get("id"), str):
            by_incident.setdefault(data["id"], rel)
        fixture_ids = data.get("fixture_ids")
        for fixture_id in fixture_ids if isinstance(fixture_ids, list) else []:
            if isinstance(fixture_id, str):
                by_fixture.setdefault(fixture_id, rel)
    return by_incident, by_fixture


def follow_up(results: list[FixtureResult], repo: git.Repo, commit: str, prefix: str, config: Config
              ) -> list[FixtureResult]:
    """`results` with each failure's owner contact and incident record filled in."""
    failing = [r for r in results if r.status != "pass"]
    if not failing:
        return results
    reach = contacts(repo, commit, prefix, config)
    by_incident, by_fixture = incident_records(repo, commit, prefix, config)
    out = []
    for r in results:
        update: dict[str, str] = {}
        if r.status != "pass":
            if r.owner and r.owner in reach:
                update["owner_contact"] = reach[r.owner]
            record = by_incident.get(r.incident_id or "") or by_fixture.get(r.id)
            if record:
                update["incident_path"] = record
        out.append(r.model_copy(update=update) if update else r)
    return out

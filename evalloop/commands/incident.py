"""`evalloop incident new ID ...`: record an incident under the config's `incidents_dir`.

Exit 0 when written; 1 when the record (or another with the same id) exists: never overwritten;
2 on a bad argument (an unknown severity, signal or owner, a date that is not one).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalloop import clock
from evalloop.commands.capture import check_owner
from evalloop.errors import UsageError
from evalloop.intake.yaml_writer import render
from evalloop.model.incident import Incident
from evalloop.repo import fs, incidents, parse
from evalloop.repo.config import find_root, load_config
from evalloop.text import clean
from evalloop.validate.repository import scan_id

COMMENTS: dict[tuple[str, ...], str] = {
    ("id",): "The incident's id; fixtures drawn from it name it in `incident_id`.",
    ("severity",): "How bad it was: sev1..sev4, or the fixture severities blocking / warning / exploratory.",
    ("opened_at",): "When the incident was opened.",
    ("signal",): ("The production signal it started from; safety, privacy, money_movement and authorization "
                  "make its fixtures unquarantinable."),
    ("summary",): "What happened, in a sentence or two (no personal data: this file is committed).",
    ("owner",): "Who owns the incident and the fixtures drawn from it.",
    ("links",): "Postmortem, tickets, traces.",
}


def opened(text: str | None) -> dt.datetime | dt.date:
    """--opened-at: a date (YYYY-MM-DD) or an ISO 8601 time; now (UTC, to the second) by default."""
    if text is None:
        return clock.now()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(clean(f"--opened-at {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time "
                               "(2026-04-18T09:12:00Z)")) from None


def new(incident_id: str, *, severity: str, signal: str, owner: str, summary: str, opened_at: str | None = None,
        links: tuple[str, ...] = (), config_path: Path | None = None) -> int:
    root = find_root(config_path.parent if config_path else Path.cwd())
    config = load_config(root, config_path)
    data: dict[str, Any] = {"id": incident_id, "severity": severity, "opened_at": opened(opened_at),
                            "signal": signal, "summary": summary, "owner": owner}
    if links:
        data["links"] = list(links)
    try:
        Incident.model_validate(data)
    except ValidationError as exc:
        raise UsageError(clean(f"invalid incident: {parse.first_error(exc)}")) from None
    check_owner(root, config, owner)
    folder = root / config.incidents_dir
    path = folder / f"{incident_id}.yaml"
    shown = os.path.relpath(path)
    if os.path.lexists(path):
        print(f"evalloop: error: {clean(shown)} already exists; not overwriting", file=sys.stderr)
        return 1
    for other in incidents.incident_files(root, config):
        if scan_id(other, config.max_fixture_bytes, root=root) == incident_id:
            print(f"evalloop: error: incident {clean(incident_id)!r} is already recorded in "
                  f"{clean(os.path.relpath(other))}; not writing another", file=sys.stderr)
            return 1
    header = ["An incident record (docs/fixtures.md, \"Incident records\"), written by `evalloop incident new`."]
    text = render(data, COMMENTS, header)
    folder.mkdir(parents=True, exist_ok=True)
    fs.atomic_write(path, text)
    print(clean(f"wrote {shown}: incident {incident_id} ({severity}, {signal}, owner {owner})"))
    print(clean(f"next: draft its fixture from the trace that showed it: `evalloop capture TRACE --incident "
                f"{incident_id} --owner {owner}`"))
    return 0

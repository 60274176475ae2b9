"""`quarantine.yaml`: owned, expiring exceptions for flaky blocking fixtures (SPEC 4.6).

A flaky blocking fixture still blocks unless an unexpired entry names it with an
owner, a reason and an issue link. Fixtures guarding safety, privacy, money
movement or authorization are never quarantined: `evalloop validate` refuses
such entries and the gate ignores them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalloop.model.fixture import PROTECTED_RISKS
from evalloop.repo import parse

QUARANTINE_FILE = "quarantine.yaml"


class QuarantineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The quarantined fixture's id.")
    owner: str = Field(description="Who repairs it.")
    reason: str = Field(min_length=1)
    issue: str = Field(pattern=r"^https?://\S+$", description="Link to the repair issue.")
    expires_at: dt.date


class QuarantineFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop quarantine"})

    quarantine: list[QuarantineEntry] = Field(default_factory=list)


def load(root: Path) -> list[QuarantineEntry]:
    """Entries of the repository's quarantine file; an unusable file quarantines nothing."""
    path = root / QUARANTINE_FILE
    if not path.is_file():
        return []
    try:
        doc = parse.load_document(path, max_bytes=1 << 20)
        return list(QuarantineFile.model_validate(doc.data).quarantine)
    except (parse.LoadError, ValidationError):
        return []  # fail closed: validate reports the file; the gate treats nothing as quarantined


def incident_signals(root: Path, incidents_dir: str, max_bytes: int) -> dict[str, str]:
    """incident id -> signal type, from the repository's incident records."""
    folder = root / incidents_dir
    out: dict[str, str] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.rglob("*")):
        if p.suffix not in (".yaml", ".yml", ".json") or not p.is_file():
            continue
        try:
            data = parse.load_document(p, max_bytes=max_bytes).data
        except parse.LoadError:
            continue
        found = signal_of(data)
        if found is not None:
            out[found[0]] = found[1]
    return out


def signal_of(data: object) -> tuple[str, str] | None:
    """(incident id, signal type) of an incident record's data, if it has both."""
    if isinstance(data, dict) and isinstance(data.get("id"), str) and isinstance(data.get("signal"), str):
        return data["id"], data["signal"]
    return None


def guarded(risk: list[str], incident_id: str | None, signals: dict[str, str]) -> list[str]:
    """Why a fixture can never be quarantined (empty: it can be)."""
    why = sorted(set(risk) & PROTECTED_RISKS)
    if incident_id and signals.get(incident_id) in PROTECTED_RISKS:
        why.append(f"incident {incident_id} is a {signals[incident_id]} incident")
    return why


def active(entries: list[QuarantineEntry], fixture_id: str, today: dt.date) -> QuarantineEntry | None:
    for e in entries:
        if e.id == fixture_id and e.expires_at >= today:
            return e
    return None

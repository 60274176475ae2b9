"""`quarantine.yaml`: owned, expiring exceptions for flaky blocking fixtures.

A flaky blocking fixture still blocks unless an unexpired entry names it with an
owner, a reason and an issue link. Fixtures guarding safety, privacy, money
movement or authorization are never quarantined: `evalloop validate` refuses
such entries and the gate ignores them.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.fixture import ID_PATTERN, PROTECTED_RISKS

QUARANTINE_FILE = "quarantine.yaml"


class QuarantineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN, description="The quarantined fixture's id.")
    owner: str = Field(description="Who repairs it.")
    reason: str = Field(min_length=1, description="Why the fixture is flaky and what is being done.")
    issue: str = Field(pattern=r"^https?://\S+$", description="Link to the repair issue.")
    expires_at: dt.date = Field(description="The last day the quarantine holds; after it the fixture blocks again.")


class QuarantineFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop quarantine"})

    quarantine: list[QuarantineEntry] = Field(default_factory=list, description="The quarantined fixtures.")


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

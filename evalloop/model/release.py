"""The release ledger: `releases/<env>.jsonl`, one JSON object per line, append-only.

Every release decision about an artifact (a file or a folder of the repository:
a prompt, a policy, a model route, a tool manifest, a memory rule, a retrieval
index config) is one entry: a canary's decision with its evidence, a person
marking a version known-good, a rollback to the last known-good version, and the
freeze a rollback puts on automatic promotion until a person lifts it.

The ledger is the memory the rollback reads ("restore the last known-good
version") and one of the ledgers `evalloop metrics` reads (rollback frequency).
Entries are only ever appended; a line is never rewritten.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalloop.model.kinds import ChangeKind

LEDGER_DIR = "releases"
LEDGER_SCHEMA_VERSION = 1

ReleaseEvent = Literal["canary", "mark_good", "rollback", "freeze", "unfreeze"]
Decision = Literal["promote", "hold", "rollback"]
ENV_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop release ledger entry"})

    schema_version: Literal[1] = Field(default=1, description="The ledger format's version.")
    at: dt.datetime = Field(description="When the entry was written (UTC, ISO 8601).")
    env: str = Field(pattern=ENV_PATTERN,
                     description="The environment (`production`, `staging`): the ledger file's name.")
    event: ReleaseEvent = Field(description=(
        "canary: a canary decision; mark_good: a person vouched for this version; rollback: the "
        "artifact was restored to `revision`; freeze / unfreeze: automatic promotion of the "
        "artifact stopped / lifted by a person."))
    artifact: str = Field(min_length=1,
                          description="The artifact's path in the repository (a file or a folder), POSIX.")
    kind: ChangeKind | None = Field(default=None, description="The artifact's kind, as the gate classifies its path.")
    revision: str | None = Field(default=None, description="The git commit holding this version of the artifact.")
    digest: str | None = Field(
        default=None, pattern=r"^sha256:[0-9a-f]{64}$",
        description="sha256 of the artifact's content at `revision` (a folder: over its files' paths and bytes).")
    decision: Decision | None = Field(default=None, description="The canary's decision (event `canary`).")
    step: int | None = Field(default=None, ge=1, description="The canary step decided (event `canary`).")
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="Why: the canary's invariants and metrics, the rollback's source entry.")
    by: str | None = Field(default=None, description="Who wrote the entry (a person, or the CI job).")
    reason: str | None = Field(default=None, description="A person's reason (mark_good, rollback, unfreeze).")

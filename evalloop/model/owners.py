"""Who may own a fixture: `owners.yaml`, or the teams and users named in CODEOWNERS."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Owner(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    contact: str | None = Field(default=None, description="Channel, alias or address to reach the owner.")
    escalation: str | None = Field(default=None, description="Who to escalate to when the owner does not answer.")


class OwnersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop owners"})

    owners: dict[str, Owner | None] = Field(description="Owner name -> how to reach them.")

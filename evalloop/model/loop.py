"""`loop:` in evalloop.yaml: who is accountable for the feedback loop as a whole.

"If product owns quality, platform owns traces, security owns policy, and nobody
owns the release decision, the loop will fail at the boundary between teams."
Fixture owners own fixtures; this names the owner of the loop, the authority
over releases, and where problems escalate. `evalloop readiness` reads it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str | None = Field(default=None, description="The accountable team for the loop (an owner of owners.yaml).")
    release_authority: str | None = Field(
        default=None, description="Who decides a release the gate or a canary holds (a team or role).")
    escalation: str | None = Field(
        default=None, description="Where a blocked release or a repeated incident escalates (a channel, URL or rota).")

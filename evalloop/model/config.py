"""`evalloop.yaml`: where fixtures and artifacts live, who owns them, how to run the agent."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalloop.model.fixture import Scope
from evalloop.model.kinds import ChangeKind, Severity, SpanType
from evalloop.model.loop import LoopConfig
from evalloop.model.metrics import MetricsConfig
from evalloop.model.triage import TriageConfig

CONFIG_FILE = "evalloop.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OwnersConfig(_Strict):
    source: Literal["owners_file", "codeowners"] = Field(
        default="owners_file",
        description="Where known owners come from: owners.yaml or the repository's CODEOWNERS teams.",
    )
    file: str = Field(
        default="owners.yaml",
        description="The owners file (with source owners_file), relative to the root.",
    )


class Defaults(_Strict):
    owner: str | None = Field(default=None, description="Owner of fixtures that name none.")
    gates: list[ChangeKind] | None = Field(
        default=None, description="Gates of fixtures that name none (absent: such fixtures run for every change)."
    )
    scope: Scope | None = Field(default=None, description="Scope of fixtures that name none.")
    severity: Severity = Field(
        default="blocking",
        description="Severity of fixtures that name none: regressions block unless told otherwise.",
    )


class AgentConfig(_Strict):
    """How `evalloop run` and the gate run the agent (docs/adapter.md): exactly one of
    `entrypoint` and `command`; paths are relative to the repository root."""

    entrypoint: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$",
        description="Python `module:function` taking (request, tools) and returning the final result.",
    )
    command: list[str] | None = Field(
        default=None, min_length=1,
        description="argv of an agent in any language speaking the JSON Lines protocol on stdin/stdout.",
    )
    cwd: str | None = Field(default=None, description="Working folder of the agent (default: the root).")
    timeout_s: float = Field(default=60.0, gt=0, description="Wall-time limit of one run; beyond it: error.")
    tools: str | None = Field(default=None, description="Tool manifest (YAML/JSON) path.")
    python_path: list[str] = Field(
        default_factory=list, description="Folders put first on sys.path of a Python entrypoint."
    )
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables added for the agent.")
    isolation: Literal["fork", "process"] = Field(
        default="fork",
        description="Python entrypoints: `fork` imports the agent once per run of evalloop and forks a fresh "
        "process for every fixture run; `process` starts a new interpreter for every run (for agents "
        "that start threads at import, or systems without fork).",
    )

    @model_validator(mode="after")
    def _one_way_to_run(self) -> AgentConfig:
        if (self.entrypoint is None) == (self.command is None):
            raise ValueError("give exactly one of `entrypoint` (Python module:function) and `command` (argv)")
        return self


class ProtectionConfig(_Strict):
    """How a pull request that weakens a blocking fixture gets approved (docs/protection.md).

    Read from the *base* revision's evalloop.yaml: a pull request cannot accept its own
    protection changes by editing this section."""

    approvals_file: str = Field(
        default="protection-changes.yaml",
        description="File (relative to the evalloop root) where the approving owner records each protection "
        "change; only entries the pull request adds count.",
    )
    require_codeowners: bool = Field(
        default=True,
        description="Accept the approvals file only when the base revision's CODEOWNERS assigns it an owner, "
        "so that GitHub requires that owner's review for the pull request to merge.",
    )
    approval_labels: list[str] = Field(
        default_factory=list,
        description="Pull request labels that approve every protection change of the pull request "
        "(`evalloop gate --label`, or EVALLOOP_PR_LABELS as the Action sets it). Empty: labels approve nothing.",
    )


class TraceMapping(_Strict):
    attribute: str = Field(min_length=1, description="A span carrying this attribute ...")
    type: SpanType = Field(description="... is a span of this type, named by the attribute's value.")


class Config(_Strict):
    """The repository's evalloop configuration; every field has a conventional default."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "evalloop config"})

    version: Literal[1] = Field(default=1, description="The config format version.")
    fixtures: list[str] = Field(
        default_factory=lambda: ["fixtures/**/*.yaml", "fixtures/**/*.yml", "fixtures/**/*.json"],
        description="Globs (relative to the repository root) of fixture files.",
    )
    incidents_dir: str = Field(default="incidents", description="Folder of incident records, relative to the root.")
    owners: OwnersConfig = Field(default_factory=OwnersConfig, description="Where the list of known owners comes from.")
    loop: LoopConfig = Field(default_factory=LoopConfig, description=(
        "Who is accountable for the feedback loop: its owner, the release authority, the escalation path."))
    defaults: Defaults = Field(default_factory=Defaults, description="What fixtures that leave a field out get.")
    expiry_warning_days: int = Field(
        default=14, ge=0,
        description="Warn (EXP002) when a fixture expires within this many days.",
    )
    max_fixture_bytes: int = Field(
        default=1_048_576, gt=0,
        description="Largest fixture or incident file read; larger ones are refused (FILE001).",
    )
    artifacts: dict[ChangeKind, list[str]] = Field(
        default_factory=dict,
        description="Globs per artifact kind; they take precedence over the conventional folders.",
    )
    gates: dict[ChangeKind, list[str]] = Field(
        default_factory=dict, description="Change kind -> eval categories, overriding the built-in release-gates table."
    )
    run_all_on: list[str] = Field(
        default_factory=list,
        description="Globs whose change runs every fixture (harness code, shared config).",
    )
    agent: AgentConfig | None = Field(
        default=None,
        description="How `evalloop run` and the gate run the agent under test.",
    )
    redaction_allow: list[str] = Field(
        default_factory=list, description="Regexes of values the redaction scan accepts anywhere."
    )
    protection: ProtectionConfig = Field(
        default_factory=ProtectionConfig,
        description="Who may approve weakening a fixture that blocks on the base revision.",
    )
    trace_mapping: list[TraceMapping] = Field(
        default_factory=list,
        description="`evalloop check`: spans the trace importers do not recognise, mapped by an attribute.",
    )
    triage: TriageConfig = Field(
        default_factory=TriageConfig,
        description="`evalloop triage`: rules that decide production signals before the built-in ones.",
    )
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig,
        description="`evalloop metrics`: where the loop's ledgers are, its owner and its dashboard thresholds.",
    )

"""docs/fixtures.md and docs/intake.md: every field of every format is there, and every example is valid."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from pydantic import BaseModel

from evalloop.gate.protection import ApprovalsFile
from evalloop.model.config import AgentConfig, Config, Defaults, OwnersConfig, ProtectionConfig, TraceMapping
from evalloop.model.fixture import (
    Budget,
    Context,
    Expected,
    Fixture,
    RegexRule,
    Scope,
    ToolCallSpec,
    ToolFault,
    ToolSequence,
)
from evalloop.model.incident import Incident
from evalloop.model.loop import LoopConfig
from evalloop.model.owners import Owner, OwnersFile
from evalloop.model.quarantine import QuarantineEntry, QuarantineFile
from evalloop.model.signal import Signal, SignalsFile
from evalloop.model.triage import RuleWhen, TriageConfig, TriageRule
from tests.support import PROJECT

DOC = (PROJECT / "docs" / "fixtures.md").read_text()
INTAKE_DOC = (PROJECT / "docs" / "intake.md").read_text()
MODELS: list[type[BaseModel]] = [Fixture, Expected, Context, ToolFault, ToolSequence, ToolCallSpec, Budget, Scope,
                                 RegexRule, Config, Defaults, OwnersConfig, AgentConfig, ProtectionConfig,
                                 TraceMapping, OwnersFile, Owner, Incident, QuarantineFile, QuarantineEntry, LoopConfig]


INTAKE_MODELS: list[type[BaseModel]] = [Signal, TriageConfig, TriageRule, RuleWhen]


@pytest.mark.parametrize(("model", "doc"), [*((m, DOC) for m in MODELS), *((m, INTAKE_DOC) for m in INTAKE_MODELS)],
                         ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_every_field_is_documented_with_its_schema_description(model: type[BaseModel], doc: str) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        row = rf"^\| `{re.escape(name)}` \|.*\| {re.escape(field.description.replace('|', '/'))} \|$"
        assert re.search(row, doc, re.M), f"{model.__name__}.{name}: no row with its schema description in the docs"


def test_every_example_is_valid() -> None:
    blocks = re.findall(r"```(yaml|json)\n(.*?)```", DOC, re.S)
    by_first_key = {"quarantine": QuarantineFile, "owners": OwnersFile, "version": Config, "approvals": ApprovalsFile}
    checked = []
    for lang, text in blocks:
        data = json.loads(text) if lang == "json" else yaml.safe_load(text)
        first = next(iter(data))
        model = by_first_key.get(first) or (Incident if str(data.get("id", "")).startswith("INC-") else Fixture)
        model.model_validate(json.loads(json.dumps(data, default=str)))
        checked.append(model.__name__)
    assert sorted(checked) == sorted(["Fixture", "Fixture", "Incident", "Config", "OwnersFile", "QuarantineFile"])


def test_every_intake_example_is_valid() -> None:
    blocks = re.findall(r"```(yaml|json)\n(.*?)```", INTAKE_DOC, re.S)
    checked = []
    for lang, text in blocks:
        if lang == "json":  # JSON Lines: one record a line
            for line in text.splitlines():
                Signal.model_validate_json(line)
            checked.append("Signal")
            continue
        data = yaml.safe_load(text)
        model = Config if isinstance(data, dict) else SignalsFile
        model.model_validate(json.loads(json.dumps(data, default=str)))
        checked.append(model.__name__)
    assert sorted(checked) == ["Config", "Signal", "SignalsFile"]

"""The tool manifest: its forms, its errors, and the one reading of it the harness and
`evalloop check` share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalloop.errors import EvalloopError
from evalloop.harness.manifest import agent_manifest, load_manifest
from evalloop.model.config import AgentConfig
from tests.support import PROJECT, write


def test_manifest_forms(tmp_path: Path) -> None:
    openai = [{"type": "function", "function": {"name": "lookup", "description": "d",
                                                "parameters": {"type": "object"}}, "side_effect": True}]
    m = load_manifest(write(tmp_path / "tools.json", json.dumps(openai)))
    assert m.get("lookup") is not None and m.get("lookup").side_effect  # type: ignore[union-attr]
    example = load_manifest(PROJECT / "examples/refund-support/tools/refund.yaml")
    assert {t.name for t in example.tools if t.side_effect} == {"issue_refund", "send_customer_email"}
    assert example.schemas()["read_order"]["type"] == "object"


@pytest.mark.parametrize(("text", "message"), [
    ("tools:\n  - name: a\n    parameters: {type: objekt}\n", "not a valid JSON Schema"),
    ("tools:\n  - name: a\n  - name: a\n", "listed twice"),
    ("tools:\n  - name: a\n    sideeffect: true\n", "tools.0.sideeffect"),
])
def test_bad_manifest_is_a_positioned_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(EvalloopError) as err:
        load_manifest(write(tmp_path / "tools.yaml", text), display="tools.yaml")
    assert message in err.value.message
    assert err.value.path == "tools.yaml" and err.value.line is not None and err.value.line >= 2


def test_agent_manifest_is_the_one_agent_tools_names_under_the_root(tmp_path: Path) -> None:
    write(tmp_path / "agent" / "tools.yaml", "tools:\n  - name: a\n    parameters: {type: object, required: [x]}\n")
    manifest = agent_manifest(tmp_path, AgentConfig(command=["agent"], tools="agent/tools.yaml"))
    assert manifest is not None and manifest.schemas() == {"a": {"type": "object", "required": ["x"]}}
    assert agent_manifest(tmp_path, AgentConfig(command=["agent"])) is None
    assert agent_manifest(tmp_path, None) is None
    with pytest.raises(EvalloopError) as err:
        agent_manifest(tmp_path, AgentConfig(command=["agent"], tools="nope.yaml"))
    assert (err.value.message, err.value.path) == ("tool manifest not found", "nope.yaml")

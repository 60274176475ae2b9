"""One unwrapping rule for tool definitions: the manifest and the evaluator read the same forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.errors import EvalloopError
from evalloop.harness.manifest import load_manifest
from evalloop.model.tool_schema import arguments_schema, tool_entry, validator
from tests.support import write

ARGS = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
FORMS = [
    {"name": "read_order", "parameters": ARGS},  # plain / OpenAI Responses
    {"type": "function", "function": {"name": "read_order", "parameters": ARGS}},  # OpenAI chat
    {"name": "read_order", "input_schema": ARGS},  # Anthropic
    {"name": "read_order", "inputSchema": ARGS},  # MCP
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_gives_the_same_arguments_schema(form: dict[str, object]) -> None:
    assert tool_entry(form)["parameters"] == ARGS  # type: ignore[index]
    assert arguments_schema(form) == ARGS
    assert arguments_schema(ARGS) is ARGS  # a schema is already one
    v = validator("read_order", form)
    assert v.is_valid({"order_id": "A1"}) and not v.is_valid({"order": "A1"})


@pytest.mark.parametrize("form", FORMS)
def test_the_manifest_reads_every_form_the_evaluator_reads(tmp_path: Path, form: dict[str, object]) -> None:
    import json

    manifest = load_manifest(write(tmp_path / "tools.json", json.dumps({"tools": [form]})))
    assert manifest.schemas() == {"read_order": ARGS}


def test_an_unusable_schema_is_an_error_with_the_tool_named() -> None:
    with pytest.raises(EvalloopError, match="tool schema for 'x' is not a valid JSON Schema"):
        validator("x", {"type": "objekt"})
    with pytest.raises(EvalloopError, match="tool schema for 'x' is not a JSON object"):
        validator("x", ["type"])

"""Tool definitions as OpenAI, Anthropic and MCP write them, reduced to one form, and the JSON
Schema of a tool's arguments: the one unwrapping rule the tool manifest (harness, `evalloop
check`) and the trajectory evaluator's `tool_schemas` share."""

from __future__ import annotations

from typing import Any

import jsonschema

from evalloop.errors import EvalloopError

# Where each kind of tool definition keeps its arguments' schema: OpenAI `parameters`,
# Anthropic `input_schema`, MCP `inputSchema`.
SCHEMA_KEYS = ("parameters", "input_schema", "inputSchema")
_SCHEMA_MARKS = {"type", "properties", "$schema", "$ref"}


def tool_entry(entry: Any) -> Any:
    """A tool definition as `{name, description, parameters, ...}`: OpenAI's
    `{"type": "function", "function": {...}}` is unwrapped and `input_schema`/`inputSchema`
    become `parameters`. What is not a definition is returned as it is (validation says why)."""
    if not isinstance(entry, dict):
        return entry
    if entry.get("type") == "function" and isinstance(entry.get("function"), dict):
        entry = {**entry["function"], **{k: v for k, v in entry.items() if k not in ("type", "function")}}
    if "parameters" not in entry:
        for key in SCHEMA_KEYS[1:]:
            if key in entry:
                entry = {**{k: v for k, v in entry.items() if k != key}, "parameters": entry[key]}
                break
    return entry


def arguments_schema(schema: Any) -> Any:
    """The arguments' JSON Schema of `schema`, which may be the schema itself or a whole tool
    definition in any of the forms `tool_entry` reads."""
    openai = isinstance(schema, dict) and schema.get("type") == "function" and isinstance(schema.get("function"), dict)
    if isinstance(schema, dict) and (openai or not (_SCHEMA_MARKS & schema.keys())):
        entry = tool_entry(schema)
        if isinstance(entry, dict) and isinstance(entry.get("parameters"), dict):
            return entry["parameters"]
    return schema


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a usable JSON Schema, or None."""
    if not isinstance(schema, dict):
        return "is not a JSON object"
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"is not a valid JSON Schema: {exc.message}"
    return None


def validator(name: str, schema: Any) -> jsonschema.protocols.Validator:
    """A validator for the arguments of tool `name`; EvalloopError when its schema is unusable."""
    schema = arguments_schema(schema)
    problem = schema_problem(schema)
    if problem is not None:
        raise EvalloopError(f"tool schema for {name!r} {problem}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)

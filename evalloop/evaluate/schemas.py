"""Tool argument schemas: each tool call's arguments validated against the JSON Schema
of its tool (`tool_schemas`), in any form `evalloop.model.tool_schema` reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from evalloop.evaluate.judgement import Violation
from evalloop.evaluate.values import short
from evalloop.evaluate.view import View, span_evidence
from evalloop.model.tool_schema import validator


class SchemaCache:
    """Validators for one `tool_schemas` mapping, kept while the same mapping is passed in.

    Identity, not equality, is the key: comparing schemas on every run would
    cost more than validating. The mapping is held, so its id cannot be reused.
    The pair is read and replaced as one attribute, so threads evaluating with
    different mappings never see one mapping with the other's validators.
    """

    def __init__(self) -> None:
        self.entry: tuple[Mapping[str, Any] | None, dict[str, jsonschema.protocols.Validator]] = (
            None, {})

    def get(self, schemas: Mapping[str, Any]) -> dict[str, jsonschema.protocols.Validator]:
        entry = self.entry
        if entry[0] is not schemas:
            entry = (schemas, {name: validator(name, s) for name, s in schemas.items()})
            self.entry = entry
        return entry[1]


def schema_violations(view: View, validators: Mapping[str, jsonschema.protocols.Validator],
                      out: list[Violation]) -> None:
    for i, s in view.tools():
        validator = validators.get(s.name)
        if validator is None:
            continue
        args = s.args or {}
        err = best_match(validator.iter_errors(args))
        if err is None:
            continue
        path = "/" + "/".join(str(p) for p in err.absolute_path)
        out.append(Violation(
            "tool_args_schema", f"arguments of {s.name} at span {i} break its schema at "
            f"{path}: {short(err.message, 200)}",
            expected={"validator": err.validator, "schema": err.validator_value},
            actual=err.instance, details={"path": path, "args": args}, **span_evidence(i, s)))


__all__ = ["SchemaCache", "schema_violations"]

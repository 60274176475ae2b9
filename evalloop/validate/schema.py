"""Schema findings, positioned on the offending key or value, with "did you mean" for unknown keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from evalloop.model.findings import Finding
from evalloop.repo import parse

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError as SchemaError


@cache
def validator(model: type[BaseModel]) -> jsonschema.Draft202012Validator:
    # jsonschema (and building the published schema) only for a file with schema errors:
    # a clean file is decided by pydantic alone, and the pre-commit hook pays for every import
    import jsonschema

    from evalloop.schemas import schema_for

    return jsonschema.Draft202012Validator(schema_for(model))


def schema_findings(doc: parse.Document, model: type[BaseModel], exc: ValidationError) -> list[Finding]:
    """Schema errors positioned on the offending key or value.

    jsonschema reports against the published schema (the contract users see);
    checks it cannot express (cross-field rules) come from pydantic.
    """
    out: list[Finding] = []
    for err in sorted(validator(model).iter_errors(parse.plain(doc.data)), key=lambda e: e.path):
        out.extend(_from_schema_error(doc, err))
    if out:
        return out
    for perr in exc.errors():
        loc = tuple(perr["loc"])
        line, col = parse.locate(doc, loc, key=perr["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc if isinstance(p, (str, int)))
        out.append(Finding(path=doc.display, line=line, col=col, code="SCH001",
                           message=f"{where or '(root)'}: {perr['msg']}"))
    return out


def _from_schema_error(doc: parse.Document, err: SchemaError) -> list[Finding]:
    from jsonschema.exceptions import best_match

    while err.context:
        # For `X | None` fields the null branch's complaint is noise: explain the real branch.
        branches = [e for e in err.context if e.schema != {"type": "null"}]
        err = best_match(branches or err.context) or err
    loc = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted((err.schema if isinstance(err.schema, dict) else {}).get("properties", {}))
        out = []
        for extra in (k for k in err.instance if k not in allowed):
            hint = difflib.get_close_matches(str(extra), allowed, n=1)
            out.append(_positioned(doc, (*loc, extra), f"unknown key {extra!r}"
                                   + (f" (did you mean {hint[0]!r}?)" if hint else ""), key=True))
        return out
    return [_positioned(doc, loc, err.message, key=err.validator == "required")]


def _positioned(doc: parse.Document, loc: tuple[Any, ...], message: str, *, key: bool) -> Finding:
    line, col = parse.locate(doc, loc, key=key)
    if len(message) > 300:
        message = message[:297] + "..."
    where = ".".join(str(p) for p in loc) or "(root)"
    return Finding(path=doc.display, line=line, col=col, code="SCH001", message=f"{where}: {message}")


def check_model(doc: parse.Document, model: type[BaseModel]) -> Iterator[Finding]:
    try:
        model.model_validate(doc.data)
    except ValidationError as exc:
        yield from schema_findings(doc, model, exc)

"""Schema findings, positioned on the offending key or value, with "did you mean" for unknown keys."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from evalloop.model.findings import Finding, did_you_mean
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

    jsonschema reports against the published schema (the contract users see); what it cannot
    express (cross-field rules, finite numbers, real dates, the budget ceiling) comes from
    pydantic, for every place jsonschema found nothing wrong with.
    """
    out: list[Finding] = []
    covered: list[tuple[tuple[Any, ...], bool]] = []
    for err in sorted(validator(model).iter_errors(parse.plain(doc.data)), key=lambda e: e.path):
        out.extend(_from_schema_error(doc, err, covered))
    for perr in exc.errors():
        loc = tuple(perr["loc"])
        if _covered(_data_loc(doc.data, loc), perr["type"] == "missing", covered):
            continue
        line, col = parse.locate(doc, loc, key=perr["type"] == "extra_forbidden")
        where = ".".join(str(p) for p in loc if isinstance(p, (str, int)))
        out.append(Finding(path=doc.display, line=line, col=col, code="SCH001",
                           message=f"{where or '(root)'}: {perr['msg']}"))
    return out


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """`loc` without the parts that name no child in `data` (pydantic's union branch names,
    a missing key), as parse.locate walks it."""
    out: list[Any] = []
    for part in loc:
        is_key = isinstance(data, dict) and part in data
        if is_key or (isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
            out.append(part)
    return tuple(out)


def _covered(loc: tuple[Any, ...], missing: bool, covered: list[tuple[tuple[Any, ...], bool]]) -> bool:
    """Whether a pydantic error at `loc` is one jsonschema already reported: one at or under the
    place of a wrong value, or one naming a branch above it (not the document itself: a cross-field
    rule is an error of the whole document); a missing key only by jsonschema's `required`."""
    for at, required in covered:
        if required:
            if missing and loc == at:
                return True
        elif loc[:len(at)] == at or (loc and at[:len(loc)] == loc):
            return True
    return False


def _from_schema_error(doc: parse.Document, err: SchemaError,
                       covered: list[tuple[tuple[Any, ...], bool]]) -> list[Finding]:
    """The findings of one jsonschema error; `covered` gets the places they speak for."""
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
            free = [k for k in allowed if k not in err.instance]  # a key already given is no answer
            out.append(_positioned(doc, (*loc, extra), f"unknown key {extra!r}" + did_you_mean(str(extra), free),
                                   key=True))
            covered.append(((*loc, extra), False))
        return out
    covered.append((loc, err.validator == "required"))
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

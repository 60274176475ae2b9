"""Finding and loading `evalloop.yaml` (the model is `evalloop.model.config`)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from evalloop.errors import UsageError
from evalloop.model.config import CONFIG_FILE, Config
from evalloop.repo import parse
from evalloop.repo.parse import Document


def find_root(start: Path) -> Path:
    """The nearest folder holding evalloop.yaml, else the git top level, else `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def load_config(root: Path, path: Path | None = None) -> Config:
    """Load and validate the config; a missing file means all defaults."""
    cfg_path = path or root / CONFIG_FILE
    if not cfg_path.exists():
        if path is not None:
            raise UsageError("config file not found", path=str(path))
        return Config()
    return config_from_document(parse.load_document(cfg_path, max_bytes=MAX_CONFIG_BYTES))


MAX_CONFIG_BYTES = 1_048_576


def config_from_document(doc: Document) -> Config:
    """A parsed evalloop.yaml (from the work tree or from a revision's objects), validated."""
    data: Any = doc.data if doc.data is not None else {}
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line, col = parse.locate(doc, tuple(err["loc"]), key=err["type"] == "extra_forbidden")
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise UsageError(f"CFG001 {loc}: {err['msg']}{_hint(err, data)}", path=doc.display, line=line,
                         col=col) from None


def _hint(err: Any, data: Any) -> str:
    """" (did you mean 'fixtures'?)" for a misspelt key (`fixture:`, `agnet:`) or choice
    (`source: codeowner`, an artifact kind `promt:`), from the names the config allows there."""
    from evalloop.model.findings import did_you_mean  # only a broken config needs it

    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        parent = _type_at(Config, loc[:-1])
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            for part in loc[:-1]:  # the mapping the key sits in: names it already has are no answer
                try:
                    data = data[part]
                except (KeyError, IndexError, TypeError):
                    data = None
            given = set(data) if isinstance(data, dict) else set()
            return did_you_mean(loc[-1], [f for f in parent.model_fields if f not in given])
    elif err["type"] == "literal_error" and isinstance(err.get("input"), str):
        # a mapping key is located as (..., key, "[key]")
        kind = _type_at(Config, (*loc[:-2], "[key]") if loc[-1:] == ("[key]",) else loc)
        if get_origin(kind) is Literal:
            return did_you_mean(err["input"], [str(a) for a in get_args(kind)])
    return ""


def _type_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The type the config model declares at `loc` (a key path), None where it declares none."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[0 if part == "[key]" else 1]
        elif get_origin(tp) is list and isinstance(part, int):
            tp = get_args(tp)[0]
        else:
            return None
    return _unwrap(tp)


def _unwrap(tp: Any) -> Any:
    """`X` for `X | None` and `Annotated[X, ...]`."""
    if get_origin(tp) is Annotated:
        return _unwrap(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp

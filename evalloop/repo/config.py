"""Finding and loading `evalloop.yaml` (the model is `evalloop.model.config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

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
        line, col = parse.locate(doc, tuple(err["loc"]))
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        raise UsageError(f"CFG001 {loc}: {err['msg']}", path=doc.display, line=line, col=col) from None

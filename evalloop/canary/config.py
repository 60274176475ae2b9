"""Loading `canary.yaml` (the model is `evalloop.model.canary`), errors with file and line."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import UsageError
from evalloop.model.canary import CanaryConfig
from evalloop.repo import parse

MAX_CANARY_BYTES = 1_048_576


def load_canary(path: Path) -> CanaryConfig:
    if not path.is_file():
        raise UsageError("canary config not found (give one with --config)", path=str(path))
    doc = parse.load_document(path, max_bytes=MAX_CANARY_BYTES)
    try:
        return CanaryConfig.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        line, col = parse.locate(doc, tuple(err["loc"]), key=err["type"] == "extra_forbidden")
        loc = ".".join(str(p) for p in err["loc"] if isinstance(p, str | int)) or "(root)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UsageError(f"CAN001 {loc}: {err['msg']}{more}", path=doc.display, line=line, col=col) from None

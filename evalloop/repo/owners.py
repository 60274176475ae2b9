"""Who may own a fixture, read from the repository: `owners.yaml` or CODEOWNERS."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import UsageError
from evalloop.model.config import Config
from evalloop.model.owners import OwnersFile
from evalloop.repo import fs, parse

CODEOWNERS_PLACES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_CODEOWNERS_BYTES = 3 << 20  # GitHub ignores a CODEOWNERS file of 3 MB or more


def codeowners_names(text: str) -> set[str]:
    """Every `@user` and `@org/team` named in a CODEOWNERS file, without the `@`."""
    names: set[str] = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        for token in line.split()[1:]:
            if token.startswith("@"):
                names.add(token[1:])
                # `@org/team` may be written as plain `team` in fixtures
                if "/" in token:
                    names.add(token.split("/", 1)[1])
    return names


def known_owners(root: Path, config: Config) -> set[str] | None:
    """Known owner names, or None when the repository declares none (then owners are not checked)."""
    if config.owners.source == "codeowners":
        for place in CODEOWNERS_PLACES:
            p = root / place
            if os.path.lexists(p) and not p.is_dir():
                # bounded, and refusing FIFOs and links out of the repository, as every other read
                raw = fs.read_bytes(p, place, MAX_CODEOWNERS_BYTES, root=root)
                return codeowners_names(raw.decode("utf-8", errors="replace"))
        raise UsageError("config says owners come from CODEOWNERS but none was found",
                         path=str(root / CODEOWNERS_PLACES[0]))
    path = root / config.owners.file
    if not path.exists():
        return None
    doc = parse.load_document(path, max_bytes=config.max_fixture_bytes, root=root)
    try:
        model = OwnersFile.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line, col = parse.locate(doc, tuple(err["loc"]))
        raise UsageError(f"{err['msg']}", path=doc.display, line=line, col=col) from None
    return set(model.owners)

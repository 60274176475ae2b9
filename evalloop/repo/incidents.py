"""Incident records in the repository: which files they are, and the signal each names."""

from __future__ import annotations

from pathlib import Path

from evalloop.model.config import Config
from evalloop.model.quarantine import signal_of
from evalloop.repo import fs, parse
from evalloop.repo.globs import glob_files

RECORD_SUFFIXES = (".yaml", ".yml", ".json")


def is_record(path: str, config: Config) -> bool:
    """Whether a posix path relative to the root is an incident record."""
    return path.startswith(config.incidents_dir.strip("/") + "/") and path.endswith(RECORD_SUFFIXES)


def incident_files(root: Path, config: Config) -> list[Path]:
    """The records under the incidents folder, by the fixtures' walk: it does not leave the
    repository through symlinked folders, and keeps FIFOs and other non-files so that whoever
    reads them reports each instead of letting it vanish."""
    folder = config.incidents_dir.strip("/")
    if not (root / folder).is_dir():
        return []
    return [p for p in glob_files(root, [f"{folder}/**"]) if p.suffix in RECORD_SUFFIXES]


def incident_signals(root: Path, config: Config) -> dict[str, str]:
    """incident id -> signal type, from the work tree's records (unreadable ones are validate's to report)."""
    out: dict[str, str] = {}
    for p in incident_files(root, config):
        try:
            data = parse.load_document(p, max_bytes=config.max_fixture_bytes, root=root).data
        except fs.LoadError:
            continue
        found = signal_of(data)
        if found is not None:
            out[found[0]] = found[1]
    return out

"""The release ledger `releases/<env>.jsonl`: reading it strictly, appending to it only.

File order is the ledger's time order: entries are only ever appended, so "the latest" is the
last line, whatever the clocks that wrote `at` said. A damaged ledger (a line that is not an
entry, a torn last line) is an error for every reader and writer; it is never repaired silently,
because the ledger is the memory a rollback trusts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import EvalloopError, UsageError
from evalloop.model.release import ENV_PATTERN, LEDGER_DIR, LedgerEntry
from evalloop.repo import fs

DEFAULT_ENV = "production"
MAX_LEDGER_BYTES = 64 << 20  # years of entries; past this, something other than entries is in it
_ENV = re.compile(ENV_PATTERN)


def ledger_path(root: Path, env: str) -> Path:
    """`<root>/releases/<env>.jsonl`; an env that could name another file is a usage error."""
    if not _ENV.match(env):
        raise UsageError(f"environment {env!r} is not a name (letters, digits, '.', '_', '-'; at most 64)")
    return root / LEDGER_DIR / f"{env}.jsonl"


def ledger_rel(env: str) -> str:
    """The ledger's path relative to the evalloop root, as findings and messages show it."""
    return f"{LEDGER_DIR}/{env}.jsonl"


def normalize(artifact: str) -> str:
    """An artifact's path as the ledger keys it: POSIX, relative, without `./` or a trailing `/`."""
    path = artifact.replace("\\", "/").strip("/")
    while path.startswith("./"):
        path = path[2:]
    return path


def line_problems(raw: bytes, env: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, what is wrong) for every line of a ledger's bytes that is not an entry;
    `env`: the file's environment, which each entry must name."""
    if not raw:
        return
    lines = raw.split(b"\n")
    if lines[-1] != b"":
        yield len(lines), "the last line is not newline-terminated (a torn write?): the ledger is damaged"
        lines = lines[:-1]
    else:
        lines = lines[:-1]
    for number, line in enumerate(lines, 1):
        problem = _problem(line, env)
        if problem is not None:
            yield number, problem


def _problem(line: bytes, env: str | None) -> str | None:
    entry = _parse(line)
    if isinstance(entry, str):
        return entry
    if env is not None and entry.env != env:
        return f"env {entry.env!r} in the ledger of {env!r}"
    return None


def _parse(line: bytes) -> LedgerEntry | str:
    """The entry on one line, or what is wrong with it."""
    if not line.strip():
        return "empty line: every line is one entry"
    try:
        data = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (invalid byte at offset {exc.start})"
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, expected an object (one entry)"
    try:
        return LedgerEntry.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(entry)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {err['msg']}{more}"


def parse_ledger(raw: bytes, display: str, env: str | None = None) -> list[LedgerEntry]:
    """Every entry of a ledger's bytes (a file or a git blob), or an EvalloopError at the first bad line."""
    for number, problem in line_problems(raw, env):
        raise EvalloopError(problem, path=display, line=number)
    return [entry for line in raw.split(b"\n")[:-1] if isinstance(entry := _parse(line), LedgerEntry)]


def read_ledger(root: Path, env: str) -> list[LedgerEntry]:
    """The entries of `releases/<env>.jsonl`, oldest first; a missing file is an empty ledger."""
    path = ledger_path(root, env)
    if not os.path.lexists(path):
        return []
    display = ledger_rel(env)
    raw = fs.read_bytes(path, display, MAX_LEDGER_BYTES, root=root)
    return parse_ledger(raw, display, env)


def iso(at: dt.datetime) -> str:
    """A time as entries write it: UTC with `Z` (a naive time, which the model allows, as it is)."""
    if at.tzinfo is None:
        return at.isoformat()
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def render_line(entry: LedgerEntry) -> bytes:
    """One entry as its ledger line: compact JSON, ASCII only (no byte of it can end a line), LF."""
    data = entry.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def append_entry(root: Path, env: str, entry: LedgerEntry) -> None:
    """Append one entry to `releases/<env>.jsonl` (created when missing)."""
    append_entries(root, env, [entry])


def append_entries(root: Path, env: str, entries: list[LedgerEntry]) -> None:
    """Append entries as one write of complete lines, then fsync: the bytes already there are
    never touched. Refused when the ledger is damaged, is not a regular file, or an entry names
    another environment."""
    for entry in entries:
        if entry.env != env:
            raise UsageError(f"an entry of env {entry.env!r} cannot go into the ledger of {env!r}")
    path = ledger_path(root, env)
    display = ledger_rel(env)
    read_ledger(root, env)  # damaged: raises, nothing is written
    if fs.leaves_repository(path.parent, root):
        raise UsageError(f"{LEDGER_DIR}/ leads outside the repository through a symlink; not written")
    created = not os.path.lexists(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    data = b"".join(render_line(e) for e in entries)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise EvalloopError(f"cannot open for appending: {exc.strerror or exc}", path=display) from None
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise EvalloopError(f"cannot append: {exc.strerror or exc}", path=display) from None
    finally:
        os.close(fd)
    if created:
        fs._fsync_folder(path.parent)


# --------------------------------------------------------------------------- questions


def _for(entries: list[LedgerEntry], artifact: str) -> Iterator[LedgerEntry]:
    """The artifact's entries, latest first."""
    name = normalize(artifact)
    return (e for e in reversed(entries) if normalize(e.artifact) == name)


def is_known_good(entry: LedgerEntry) -> bool:
    """A person marked it good, or a canary's final step promoted it; either way with the
    revision and digest a rollback restores and checks (without them it cannot be restored)."""
    if entry.revision is None or entry.digest is None:
        return False
    if entry.event == "mark_good":
        return True
    return entry.event == "canary" and entry.decision == "promote" and entry.evidence.get("complete") is True


def known_good(entries: list[LedgerEntry], artifact: str) -> LedgerEntry | None:
    """The artifact's last known-good entry (see `is_known_good`), or None."""
    return next((e for e in _for(entries, artifact) if is_known_good(e)), None)


def last_decision(entries: list[LedgerEntry], artifact: str) -> LedgerEntry | None:
    """The artifact's latest `canary` entry (its `decision`, `step` and evidence), or None."""
    return next((e for e in _for(entries, artifact) if e.event == "canary"), None)


def _overlap(a: str, b: str) -> bool:
    """One path is the other or inside it: freezing a folder freezes its files, and a folder
    holding a frozen file cannot be promoted as a whole."""
    a, b = normalize(a), normalize(b)
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def active_freezes(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Every `freeze` no later `unfreeze` of the same artifact lifted, oldest first."""
    active: dict[str, LedgerEntry] = {}
    for e in entries:
        name = normalize(e.artifact)
        if e.event in ("freeze", "unfreeze"):
            active.pop(name, None)  # a repeated freeze moves to its latest place
            if e.event == "freeze":
                active[name] = e
    return list(active.values())


def frozen(entries: list[LedgerEntry], artifact: str) -> LedgerEntry | None:
    """The latest active freeze of the artifact, of a folder holding it or of a file inside it
    (automatic promotion of the artifact is stopped while there is one), or None."""
    hits = [e for e in active_freezes(entries) if _overlap(e.artifact, artifact)]
    return hits[-1] if hits else None


def artifacts(entries: list[LedgerEntry]) -> list[str]:
    """The artifacts the ledger names, in the order they first appear."""
    return list(dict.fromkeys(normalize(e.artifact) for e in entries))

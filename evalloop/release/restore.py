"""Making the work tree's copy of an artifact equal a snapshot of it: files added, changed and
deleted, so a folder ends up holding exactly the files it held at that revision."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from evalloop.errors import UsageError
from evalloop.release.digest import Snapshot
from evalloop.repo import fs
from evalloop.text import clean


@dataclass
class Changes:
    """What a restore did, by path relative to the evalloop root."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_evidence(self) -> dict[str, list[str]]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}


def restore(root: Path, current: Snapshot | None, target: Snapshot) -> Changes:
    """Write `target` over `current` (the work tree's version, None when absent) under `root`."""
    now = {} if current is None else {current.root_path(r): (b, r in current.executable)
                                      for r, b in current.files.items()}
    want = {target.root_path(r): (b, r in target.executable) for r, b in target.files.items()}
    out = Changes(removed=sorted(p for p in now if p not in want))
    for path in out.removed:  # first: a file may become a folder, or a folder a file
        _remove(root, path, stop=target.artifact)
    for path, (data, executable) in sorted(want.items()):
        if path not in now:
            out.added.append(path)
        elif now[path] != (data, executable):
            out.changed.append(path)
        else:
            continue
        write_bytes(root, path, data, executable=executable)
    return out


def _remove(root: Path, rel: str, *, stop: str) -> None:
    """Delete a file, then the folders it leaves empty, up to (and including) the artifact's."""
    path = root / rel
    if fs.leaves_repository(path, root):
        raise UsageError(clean(f"{rel} leads outside the repository through a symlink; not removed"))
    os.unlink(path)
    folder = path.parent
    top = (root / stop).parent
    while folder != top and folder != root and str(folder).startswith(str(root)):
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (an ignored file, another artifact's file): keep it
        folder = folder.parent


def write_bytes(root: Path, rel: str, data: bytes, *, executable: bool) -> None:
    """Write a file by rename (a crash never leaves it half-written), with git's executable bit."""
    path = root / rel
    parent = path.parent
    if fs.leaves_repository(parent, root) or (os.path.lexists(path) and fs.leaves_repository(path, root)):
        raise UsageError(clean(f"{rel} leads outside the repository through a symlink; not written"))
    if os.path.isdir(path) and not os.path.islink(path):
        raise UsageError(clean(f"{rel} is a folder holding files git does not track; move them away first"))
    parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    tmp = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, flags, 0o777 if executable else 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        mode = stat.S_IMODE(os.stat(tmp).st_mode)
        os.chmod(tmp, mode | 0o111 if executable else mode & ~0o111)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

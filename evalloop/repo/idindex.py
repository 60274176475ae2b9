"""The ids of a repository's fixtures and incident records, known without reading them again.

`evalloop validate ONE-FILE` (the pre-commit hook) must know every other file's id to tell
whether the one file's id is unique, and reading 5,000 files for that costs more than all the
rest the hook does. So each id read is remembered with the stat its file had just before it was
read: device, inode, size, mtime and ctime, in nanoseconds. A file whose stat differs in any of
them is read again, so one run costs a stat per file, not a read.

Why that cannot give a wrong answer:

- an edit that keeps the size and puts the mtime back (`touch -d`, `cp -p`, `git checkout`
  keeping the size) still moves the ctime, which no tool can set: utime sets it to now; a
  file replaced by another (a rename, a new checkout) has a new inode and ctime;
- two writes within one tick of the filesystem's clock can leave every field equal. As git does
  with its "racily clean" index entries, a file whose mtime or ctime is less than RACY_NS before
  the scan began is read on every run and remembered only once it is older than that;
- only regular files named directly are remembered: symlinks, FIFOs and anything else go to
  `scan_id` every time, which refuses what it must (a FIFO is never opened);
- the index is kept outside the repository (in the user's cache folder, one file per root) and
  signed with the per-user key of evalloop.repo.cache: one that a pull request, an agent under
  test or another checkout wrote or edited does not verify, and is ignored and rebuilt. An entry
  is believed only for the root, size limit and format it was written for.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Any

import orjson

from evalloop.repo import fs, parse

# Changed less than this before a scan began: read every time, not remembered yet. Covers
# coarse timestamps (FAT's 2 s mtime, 1 s ext3 and network filesystems) and some clock skew.
RACY_NS = 3_000_000_000
FORMAT = 2  # bump when what `scan_id` returns for the same bytes, or the layout, changes

_YAML_ID = re.compile(r"^id:[ \t]*(.*?)[ \t]*(?:#.*)?$", re.M)


def scan_id(path: Path, max_bytes: int, *, root: Path | None = None) -> str | None:
    """A fixture's id without a full parse: the top-level `id:` line, or the JSON field."""
    try:  # the same refusals as a full load: a FIFO must not block, a link out must not be read
        raw = fs.read_bytes(path, str(path), max_bytes, root=root)
    except fs.LoadError:
        return None
    if path.suffix.lower() == ".json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        value = data.get("id") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    m = _YAML_ID.search(raw.decode("utf-8", errors="replace"))
    if m is None:
        try:
            data = parse.parse_text(raw.decode("utf-8", errors="replace"), str(path), is_json=False)
        except fs.LoadError:
            return None
        value = data.get("id") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None
    value = m.group(1)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value or None


def index_file(root: Path) -> Path:
    """Where the index of `root` is kept: beside the signing key, never in the repository."""
    from evalloop.repo.cache import key_file

    digest = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:24]
    return key_file().parent / "ids" / f"{digest}.json"


def _storable(name: str) -> bool:
    """A name JSON can hold: one with bytes that are not UTF-8 (surrogate escapes) is read every time."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class IdIndex:
    """Ids by file, verified by stat, in groups (the fixtures, the incident records); `save()`
    keeps what this run learnt for the next one."""

    def __init__(self, root: Path, max_bytes: int, *, file: Path | None = None,
                 notes: list[str] | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.file = file if file is not None else index_file(root)
        self.notes = notes if notes is not None else []
        self.reads = 0  # files read this run (the rest came from the index)
        # taken before any stat: a file changed after this is newer than RACY_NS ago either way
        self._started = time.time_ns()
        self._header = {"format": FORMAT, "root": os.path.abspath(root), "max_bytes": max_bytes}
        self._old = self._load()
        self._new: dict[str, dict[str, Any]] = {}
        self._changed = False

    def _load(self) -> dict[str, Any]:
        from evalloop.repo import cache

        data = cache.load(self.file, self.notes)
        if not data:
            return {}
        groups = data.get("groups")
        if any(data.get(k) != v for k, v in self._header.items()) or not isinstance(groups, dict):
            self.notes.append(f"ignored the id index {self.file}: written for another root, size limit "
                              "or version; rebuilt it")
            return {}
        return {g: entries for g, entries in groups.items() if isinstance(entries, dict)}

    def ids(self, group: str, names: Iterable[str], checked: Container[str] = ()) -> list[tuple[str, str | None]]:
        """(name, id) of each file in `names` but those in `checked`. `names` is every file of the
        group (absolute paths, os.path.abspath's form): on save it replaces the group's entries.
        The entries of `checked` files (read in full by this run) are carried over unread: every
        use of an entry verifies it by its stat."""
        old = self._old.get(group, {})
        new = self._new.setdefault(group, {})
        out = []
        for name in names:
            if name in checked:
                if name in old:
                    new[name] = old[name]
                continue
            out.append((name, self._id_of(name, old, new)))
        if new.keys() != old.keys():
            self._changed = True  # files came or went
        return out

    def _id_of(self, name: str, old: dict[str, Any], new: dict[str, Any]) -> str | None:
        try:
            st = os.lstat(name)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            self.reads += 1
            return scan_id(Path(name), self.max_bytes, root=self.root)
        sig = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        hit = old.get(name)
        if isinstance(hit, list) and len(hit) == 6 and hit[:5] == sig and (hit[5] is None or isinstance(hit[5], str)):
            new[name] = hit
            return hit[5]
        self.reads += 1
        ident = scan_id(Path(name), self.max_bytes, root=self.root)
        self._changed = True
        if max(st.st_mtime_ns, st.st_ctime_ns) < self._started - RACY_NS and _storable(name):
            new[name] = [*sig, ident]
        return ident

    def save(self) -> None:
        """Write the index when it changed. A group this run listed is replaced (files gone are
        dropped); one it did not is kept as it was."""
        from evalloop.repo import cache

        if self._changed:
            cache.store(self.file, {**self._header, "groups": {**self._old, **self._new}})

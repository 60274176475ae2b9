"""Repository globs: `**` spans folders, `*` and `?` stay within one (as in .gitignore)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path


@cache
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A repository glob (`**` spans folders, `*` and `?` stay within one) as a regex."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    # DOTALL: `**` must span names holding a newline too, or such a fixture would escape the gate
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def glob_bases(patterns: list[str]) -> list[str]:
    """The fixed folder each glob starts from ("" for the root), deduplicated."""
    bases = set()
    for p in patterns:
        fixed = re.split(r"[*?\[]", p, maxsplit=1)[0]
        bases.add(fixed.rsplit("/", 1)[0] if "/" in fixed else "")
    return sorted(bases)


def glob_files(root: Path, patterns: list[str]) -> list[Path]:
    """Files under `root` matching any of the globs, walking each base folder once."""
    return [root / rel for rel in glob_rel(root, patterns)]


def _walk(root: Path, base: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """os.walk of `root/base` that stays in the repository: symlinked folders are listed, never
    entered (os.walk's default), and a base folder that is itself a link out of the repository
    is skipped. Names are only listed, never opened, so a FIFO among them cannot block here."""
    from evalloop.repo.parse import leaves_repository

    top = root / base if base else root
    if leaves_repository(top, root):
        return
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        yield ("" if rel_folder == "." else rel_folder + "/"), dirs, names


def glob_rel(root: Path, patterns: list[str]) -> list[str]:
    """Like glob_files, as sorted posix paths relative to `root`."""
    regexes = [glob_to_regex(p) for p in patterns]
    found: set[str] = set()
    for base in glob_bases(patterns):
        for prefix, _dirs, names in _walk(root, base):
            for name in names:
                rel = prefix + name
                if any(rx.match(rel) for rx in regexes):
                    found.add(rel)
    return sorted(found)


def glob_any(root: Path, pattern: str) -> bool:
    """Whether any file under `root` matches the glob; stops at the first (same walk as glob_rel)."""
    rx = glob_to_regex(pattern)
    for base in glob_bases([pattern]):
        for prefix, _dirs, names in _walk(root, base):
            if any(rx.match(prefix + name) for name in names):
                return True
    return False

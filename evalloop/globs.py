"""Repository globs: `**` spans folders, `*` and `?` stay within one (as in .gitignore)."""

from __future__ import annotations

import os
import re
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
    return re.compile("".join(out) + r"\Z")


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


def glob_rel(root: Path, patterns: list[str]) -> list[str]:
    """Like glob_files, as sorted posix paths relative to `root`."""
    regexes = [glob_to_regex(p) for p in patterns]
    bases = glob_bases(patterns)
    found: set[str] = set()
    for base in sorted(bases):
        top = root / base if base else root
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d != ".git"]
            rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
            prefix = "" if rel_folder == "." else rel_folder + "/"
            for name in names:
                rel = prefix + name
                if any(rx.match(rel) for rx in regexes):
                    found.add(rel)
    return sorted(found)

"""Repository globs: one rule for config globs, `scope.paths`, `--select path:` and validate.

The rule is .gitignore's (pathspec's `GitIgnoreSpec`), so what users know from git holds:

- a pattern with a slash at its start or in its middle is anchored at the repository root
  (`fixtures/*.yaml`); one without (`*.yaml`) matches at any depth;
- `*`, `?` and `[...]` stay within one folder name; `**` spans folders (`fixtures/**/*.json`);
- a pattern naming a folder matches everything under it (`prompts/`, `prompts`);
- a later `!pattern` takes back what earlier ones matched (`!fixtures/drafts/**`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pathspec


class Globs:
    """A compiled list of repository globs; `matches(rel)` for a posix path relative to the root."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        spec = pathspec.GitIgnoreSpec.from_lines(self.patterns, backend="simple")
        for p in spec.patterns:
            regex = getattr(p, "regex", None)
            if regex is not None:
                # DOTALL: `**` must span names holding a newline too, or a file so named would
                # escape the gate (git allows any byte but NUL and `/` in a name)
                p.regex = re.compile(regex.pattern, regex.flags | re.DOTALL)
        self._spec = spec

    def matches(self, rel: str) -> bool:
        return bool(self.patterns) and self._spec.match_file(rel)

    def bases(self) -> list[str]:
        """The fixed folders the including patterns start from ("" for the root), deduplicated:
        where a walk for them must begin."""
        out = set()
        for p in self.patterns:
            p = p.strip()
            if not p or p.startswith(("#", "!")):
                continue
            body = p.lstrip("/").rstrip("/")
            if "/" not in body and not p.startswith("/"):
                out.add("")  # gitignore: a name without a slash matches at any depth
                continue
            fixed = re.split(r"[*?\[\\]", body, maxsplit=1)[0]
            out.add(fixed.rsplit("/", 1)[0] if "/" in fixed else "")
        return sorted(out)


@cache
def compile_globs(patterns: tuple[str, ...]) -> Globs:
    return Globs(patterns)


def matches(patterns: Iterable[str], rel: str) -> bool:
    """Whether the posix path `rel` matches the globs."""
    return compile_globs(tuple(patterns)).matches(rel)


def glob_bases(patterns: Iterable[str]) -> list[str]:
    return compile_globs(tuple(patterns)).bases()


def glob_files(root: Path, patterns: list[str]) -> list[Path]:
    """Files under `root` matching the globs, walking each base folder once."""
    return [root / rel for rel in glob_rel(root, patterns)]


def _walk(root: Path, base: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """os.walk of `root/base` that stays in the repository: symlinked folders are listed, never
    entered (os.walk's default), and a base folder that is itself a link out of the repository
    is skipped. Names are only listed, never opened, so a FIFO among them cannot block here."""
    from evalloop.repo.fs import leaves_repository

    top = root / base if base else root
    if leaves_repository(top, root):
        return
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        yield ("" if rel_folder == "." else rel_folder + "/"), dirs, names


def _covering(bases: list[str]) -> list[str]:
    """The bases without those inside another one, so no folder is walked twice."""
    out: list[str] = []
    for b in sorted(bases, key=len):
        if not any(o == "" or b == o or b.startswith(o + "/") for o in out):
            out.append(b)
    return out


def glob_rel(root: Path, patterns: list[str]) -> list[str]:
    """Like glob_files, as sorted posix paths relative to `root`."""
    globs = compile_globs(tuple(patterns))
    found: set[str] = set()
    for base in _covering(globs.bases()):
        for prefix, _dirs, names in _walk(root, base):
            found.update(rel for rel in (prefix + name for name in names) if globs.matches(rel))
    return sorted(found)


def glob_any(root: Path, pattern: str) -> bool:
    """Whether any file under `root` matches the glob; stops at the first (same walk as glob_rel)."""
    globs = compile_globs((pattern,))
    for base in _covering(globs.bases()):
        for prefix, _dirs, names in _walk(root, base):
            if any(globs.matches(prefix + name) for name in names):
                return True
    return False

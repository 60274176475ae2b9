"""What changed between two revisions, as a pull request sees it (SPEC section 4.1).

The diff runs from the merge-base of base and head to head, so commits that
landed on the base branch meanwhile do not count as the change. Each path is
classified into an artifact kind; for YAML/JSON artifacts the changed keys are
listed (a policy's `refund_threshold`, a route's `model`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from evalloop.config import CONFIG_FILE, Config
from evalloop.errors import UsageError
from evalloop.kinds import CONVENTIONAL_FOLDERS
from evalloop.verdict import ChangedPath

MAX_KEYS = 50
_STRUCTURED = (".yaml", ".yml", ".json")


@dataclass
class ChangeSet:
    base: str
    head: str
    merge_base: str | None
    changed: list[ChangedPath] = field(default_factory=list)
    # Said out loud in the report: why selection fell back to every fixture.
    uncertain: list[str] = field(default_factory=list)


@dataclass
class Classifier:
    """Path -> kind, config globs first, then the conventional folders of SPEC section 1."""

    config: Config
    extra_harness: list[str] = field(default_factory=list)
    _rules: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from evalloop.validation import glob_to_regex

        for kind, globs in self.config.artifacts.items():
            self._rules += [(glob_to_regex(g), kind) for g in globs]
        self._rules += [(glob_to_regex(g), "fixture") for g in self.config.fixtures]
        self._rules += [(glob_to_regex(g), "harness") for g in [*self.config.run_all_on, *self.extra_harness]]

    def kind(self, path: str) -> str:
        if path in (CONFIG_FILE, self.config.owners.file, "quarantine.yaml"):
            return "config"
        for rx, kind in self._rules:
            if rx.match(path):
                return kind
        if path.startswith(self.config.incidents_dir.rstrip("/") + "/"):
            return "incident"
        for folder, kind in CONVENTIONAL_FOLDERS.items():
            if path.startswith(folder):
                return kind
        return "other"


def open_repo(root: Path) -> git.Repo:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError("not a git repository (the gate diffs revisions)", path=str(root)) from None


def resolve(repo: git.Repo, rev: str, what: str) -> git.Commit:
    try:
        return repo.commit(rev)
    except (git.BadName, ValueError, git.GitCommandError):
        shallow = (Path(repo.git_dir) / "shallow").exists()
        hint = (" The clone is shallow: fetch full history (actions/checkout with `fetch-depth: 0`)"
                " or `git fetch --unshallow`." if shallow else
                " Fetch it first (`git fetch origin <branch>`), or check the name.")
        raise UsageError(f"{what} revision {rev!r} not found in this repository.{hint}") from None


def diff(repo: git.Repo, base: str, head: str, classifier: Classifier, prefix: str = "") -> ChangeSet:
    """The change base...head; when it cannot be known, an empty change marked uncertain.

    `prefix` is the evalloop root inside the git work tree (`""` at the top level);
    paths are reported relative to it, and paths outside it are not part of the change.
    """
    head_c = resolve(repo, head, "--head")
    try:
        base_c = resolve(repo, base, "--base")
    except UsageError as exc:
        return ChangeSet(base=base, head=head_c.hexsha, merge_base=None,
                         uncertain=[f"{exc.message} Ran every fixture instead."])
    bases = repo.merge_base(base_c, head_c)
    result = ChangeSet(base=base_c.hexsha, head=head_c.hexsha, merge_base=None)
    if not bases or not isinstance(bases[0], git.Commit):
        shallow = (Path(repo.git_dir) / "shallow").exists()
        result.uncertain.append(
            "base is not an ancestor of head and they share no merge-base"
            + (" because the clone is shallow: set `fetch-depth: 0` on actions/checkout "
               "(or `git fetch --unshallow`)" if shallow else " (unrelated histories?)")
            + "; ran every fixture instead")
        start = base_c
    else:
        start = bases[0]
        result.merge_base = start.hexsha
    for d in start.diff(head_c, create_patch=False):
        if prefix and not ((d.b_path or "").startswith(prefix) or (d.a_path or "").startswith(prefix)):
            continue
        result.changed.append(_changed_path(d, classifier, prefix))
    result.changed.sort(key=lambda c: c.path)
    return result


def _strip(path: str | None, prefix: str) -> str | None:
    return path[len(prefix):] if path is not None and prefix and path.startswith(prefix) else path


def _changed_path(d: Any, classifier: Classifier, prefix: str = "") -> ChangedPath:
    a_path, b_path = _strip(d.a_path, prefix), _strip(d.b_path, prefix)
    if d.change_type == "A":
        status, path, old = "added", b_path, None
    elif d.change_type == "D":
        status, path, old = "deleted", a_path, None
    elif d.change_type == "R" or (a_path and b_path and a_path != b_path):
        status, path, old = "renamed", b_path, a_path
    elif d.change_type == "T" or (d.a_mode and d.b_mode and d.a_mode != d.b_mode and d.a_blob == d.b_blob):
        status, path, old = "mode_changed", b_path, None
    else:
        status, path, old = "modified", b_path, None
    path = path or ""
    kind = classifier.kind(path)
    if kind == "other" and old is not None:
        kind = classifier.kind(old)  # a file renamed out of an artifact folder still changed that artifact
    keys: list[str] = []
    if path.endswith(_STRUCTURED) and status in ("modified", "renamed") and kind not in ("other", "fixture"):
        keys = changed_keys(_blob_data(d.a_blob, a_path), _blob_data(d.b_blob, b_path))
    return ChangedPath(path=path, kind=kind, status=status, old_path=old, keys=keys)  # type: ignore[arg-type]


def _blob_data(blob: Any, path: str | None) -> Any:
    if blob is None or path is None:
        return None
    from evalloop.parse import LoadError, parse_text

    try:
        text = blob.data_stream.read().decode("utf-8")
        return parse_text(text, path, is_json=path.endswith(".json"))
    except (LoadError, UnicodeDecodeError, ValueError):
        return None


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of keys whose values differ (lists compare whole, as one value)."""
    out: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in old or k not in new:
                out.append(name)
            elif old[k] != new[k]:
                sub = changed_keys(old[k], new[k], name)
                out.extend(sub or [name])
            if len(out) >= MAX_KEYS:
                break
    elif old != new and prefix:
        out.append(prefix)
    return out[:MAX_KEYS]

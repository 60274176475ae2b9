"""What changed between two revisions, as a pull request sees it.

The diff runs from the merge-base of base and head to head, so commits that
landed on the base branch meanwhile do not count as the change. Each path is
classified into an artifact kind; for YAML/JSON artifacts the changed keys are
listed (a policy's `refund_threshold`, a route's `model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from evalloop.errors import UsageError
from evalloop.model.results import ChangedPath
from evalloop.repo.classify import Classifier
from evalloop.repo.git import RawDiff, raw_diff, read_blobs, resolve

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


def diff(repo: git.Repo, base: str, head: str, classifier: Classifier, prefix: str = "", *,
         ci: bool = False) -> ChangeSet:
    """The change base...head; when it cannot be known, an empty change marked uncertain.

    A base that names no commit is a usage error (a mistyped `--base`), except in CI (`ci`), where
    a checkout may lack it (a shallow clone, a branch not fetched): there every fixture runs and the
    report says why. Without a merge-base the diff runs from base itself, marked uncertain.

    `prefix` is the evalloop root inside the git work tree (`""` at the top level);
    paths are reported relative to it, and paths outside it are not part of the change.
    """
    head_c = resolve(repo, head, "--head")
    try:
        base_c = resolve(repo, base, "--base")
    except UsageError as exc:
        if not ci:
            raise
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
    pending: list[tuple[ChangedPath, str | None, str | None]] = []
    for d in raw_diff(repo, start.hexsha, head_c.hexsha):
        if prefix and not (d.b_path.startswith(prefix) or d.a_path.startswith(prefix)):
            continue
        changed = _changed_path(d, classifier, prefix)
        result.changed.append(changed)
        if (changed.path.endswith(_STRUCTURED) and changed.status in ("modified", "renamed")
                and changed.kind not in ("other", "fixture")):
            pending.append((changed, d.a_sha, d.b_sha))
    # one `git cat-file --batch` for every blob whose keys we compare, not a round trip each
    blobs = read_blobs(repo, [sha for _, a, b in pending for sha in (a, b) if sha])
    for changed, a, b in pending:
        changed.keys = changed_keys(_data(blobs.get(a or ""), changed.old_path or changed.path),
                                    _data(blobs.get(b or ""), changed.path))
    result.changed.sort(key=lambda c: c.path)
    return result


def _data(raw: bytes | None, path: str) -> Any:
    if raw is None:
        return None
    from evalloop.repo.fs import LoadError
    from evalloop.repo.parse import parse_text

    try:
        return parse_text(raw.decode("utf-8"), path, is_json=path.endswith(".json"))
    except (LoadError, UnicodeDecodeError, ValueError):
        return None


def _strip(path: str | None, prefix: str) -> str | None:
    return path[len(prefix):] if path is not None and prefix and path.startswith(prefix) else path


def _changed_path(d: RawDiff, classifier: Classifier, prefix: str = "") -> ChangedPath:
    a_path, b_path = _strip(d.a_path, prefix) or "", _strip(d.b_path, prefix) or ""
    old: str | None = None
    if d.status == "A":
        status, path = "added", b_path
    elif d.status == "D":
        status, path = "deleted", a_path
    elif d.status in "RC" and a_path != b_path:
        status, path, old = "renamed", b_path, a_path
    elif d.status == "T" or (d.a_mode != d.b_mode and d.a_sha == d.b_sha):
        status, path = "mode_changed", b_path
    else:
        status, path = "modified", b_path
    kind = classifier.kind(path)
    if kind == "other" and old is not None:
        kind = classifier.kind(old)  # a file renamed out of an artifact folder still changed that artifact
    return ChangedPath(path=path, kind=kind, status=status, old_path=old)  # type: ignore[arg-type]


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

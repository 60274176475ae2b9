"""Release ledgers a pull request rewrites: a protection change (docs/releases.md).

`releases/<env>.jsonl` is append-only. A pull request that removes or rewrites a line the base
revision has (deleting the `freeze` a rollback wrote lets the canary promote the artifact
again; deleting a rollback erases the record) weakens what protects production just as deleting
a fixture does, so it is listed with the protection changes and blocks until the ledger's owners
(its CODEOWNERS on base) approve it. An appended `unfreeze` is one too: it lifts the freeze a
rollback put on automatic promotion, which only a person with authority over the ledger may do
(as adding a quarantine entry is). Other appends (canary decisions, known-good marks) are not.
"""

from __future__ import annotations

import git

from evalloop.model.release import LEDGER_DIR
from evalloop.model.results import ProtectionChange
from evalloop.release.ledger import MAX_LEDGER_BYTES
from evalloop.repo.git import ls_tree, read_files
from evalloop.repo.owners import CODEOWNERS_PLACES, MAX_CODEOWNERS_BYTES


def _ledgers(repo: git.Repo, commit: str, prefix: str) -> list[str]:
    folder = prefix + LEDGER_DIR
    return [p for p, _ in ls_tree(repo, commit, [folder])
            if p.rpartition("/")[0] == folder and p.endswith(".jsonl")]


def is_append(old: bytes, new: bytes) -> bool:
    """`new` is `old` with whole lines after it (a torn last line extended is a rewrite)."""
    return new == old or (new.startswith(old) and (not old or old.endswith(b"\n")))


def _lines(raw: bytes) -> list[bytes]:
    parts = raw.split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def first_rewritten(old: bytes, new: bytes) -> int:
    """The number of the first line of `old` that `new` does not keep as it was."""
    old_lines, new_lines = _lines(old), _lines(new)
    for i, line in enumerate(old_lines):
        if i >= len(new_lines) or new_lines[i] != line:
            return i + 1
    return len(old_lines)


def _describe(old: bytes, number: int) -> str:
    """What the base's line `number` was: its event and artifact, when it reads as an entry."""
    import json

    try:
        data = json.loads(old.split(b"\n")[number - 1])
        return f" (a {data['event']} of {data['artifact']} at {data['at']})"
    except (ValueError, KeyError, TypeError, IndexError):
        return ""


def _unfreezes(appended: bytes, before: int, rel: str, owner: str | None) -> list[ProtectionChange]:
    """A protection change for each appended line that lifts a freeze."""
    import json

    out = []
    for i, line in enumerate(_lines(appended), start=before + 1):
        try:
            data = json.loads(line)
        except ValueError:
            continue  # not an entry: `evalloop validate` reports it (LED001)
        if isinstance(data, dict) and data.get("event") == "unfreeze":
            out.append(ProtectionChange(
                id=rel, kind="removed", owner=owner, base_path=rel, head_path=rel,
                detail=f"line {i} unfreezes {data.get('artifact')!s}: it lifts the freeze a rollback put on "
                       "automatic promotion, which needs the ledger owner's approval"))
    return out


def _owners(repo: git.Repo, commit: str, path: str) -> str | None:
    from evalloop.gate.protection import codeowners_of

    blobs = read_files(repo, commit, list(CODEOWNERS_PLACES), MAX_CODEOWNERS_BYTES)
    for loc in CODEOWNERS_PLACES:
        if loc in blobs:
            owners = codeowners_of(blobs[loc].decode("utf-8", "replace"), path)
            return ", ".join(owners) if owners else None
    return None


def ledger_rewrites(repo: git.Repo, base: str, head: str, prefix: str) -> list[ProtectionChange]:
    """A protection change for each ledger of `base` that `head` does not merely append to."""
    paths = _ledgers(repo, base, prefix)
    if not paths:
        return []
    # a ledger too large to read is left out by read_files: compared as rewritten (fail closed)
    olds = read_files(repo, base, paths, MAX_LEDGER_BYTES)
    news = read_files(repo, head, paths, MAX_LEDGER_BYTES)
    head_listed = set(_ledgers(repo, head, prefix))
    out = []
    for path in paths:
        rel = path[len(prefix):]
        old, new = olds.get(path), news.get(path)
        if old is not None and new is not None and is_append(old, new):
            out += _unfreezes(new[len(old):], len(_lines(old)), rel, _owners(repo, base, path))
            continue
        if path not in head_listed:
            detail = f"{rel} is deleted: the release ledger is append-only"
            where = None
        elif old is None or new is None:
            detail = f"{rel} is over {MAX_LEDGER_BYTES:,} bytes and cannot be compared: treated as rewritten"
            where = rel
        else:
            n = first_rewritten(old, new)
            detail = (f"line {n}{_describe(old, n)} is removed or rewritten: the release ledger is append-only "
                      "(only new lines may be added)")
            where = rel
        out.append(ProtectionChange(id=rel, kind="removed", detail=detail, owner=_owners(repo, base, path),
                                    base_path=rel, head_path=where))
    return out

"""`evalloop release mark-good | unfreeze | status`: the known-good ledger (docs/releases.md).

mark-good and unfreeze append one entry to `releases/<env>.jsonl` (commit it: the ledger is
reviewed like any file); status reads it. Exit 0; 1 when unfreeze finds no freeze to lift;
2 on a usage error, a damaged ledger, or a work tree that differs from the revision vouched for.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from evalloop import clock
from evalloop.errors import UsageError
from evalloop.model.release import LedgerEntry
from evalloop.release import ledger
from evalloop.release.digest import snapshot_at, snapshot_worktree
from evalloop.release.rollback import RefusedError
from evalloop.release.workspace import Workspace, actor, kind_of, open_workspace, resolve_artifact
from evalloop.repo.git import resolve
from evalloop.text import clean


def _now() -> dt.datetime:
    return clock.now()


def mark_good(artifact: str, *, env: str = ledger.DEFAULT_ENV, revision: str | None = None,
              reason: str | None = None, cwd: Path | None = None) -> int:
    ws = open_workspace(cwd)
    ledger.ledger_path(ws.root, env)  # a bad env is refused before anything is read
    name = resolve_artifact(ws, artifact, cwd)
    if not ws.repo.head.is_valid():
        raise UsageError("the repository has no commit yet: commit the artifact, then mark it good")
    commit = resolve(ws.repo, revision or "HEAD", "--revision")
    if not ws.repo.is_ancestor(commit, ws.repo.head.commit):
        # a known-good version the branch never held could vanish with its branch, and was never released
        raise UsageError(f"--revision {clean(revision)} is not in the history of the current branch (HEAD)")
    snap = snapshot_at(ws.repo, commit.hexsha, ws.prefix, name)
    if snap is None:
        raise UsageError(clean(f"{name} does not exist at {commit.hexsha[:12]}"))
    if revision is None:
        here = snapshot_worktree(ws.repo, ws.root, name)
        if here is None or here.digest != snap.digest:
            raise UsageError(clean(f"{name} in the work tree differs from HEAD ({commit.hexsha[:12]}): the ledger "
                                   "would vouch for a version you are not looking at; commit it first, or name "
                                   "the version with --revision"))
    entry = LedgerEntry(at=_now(), env=env, event="mark_good", artifact=name, kind=kind_of(ws, snap),
                        revision=commit.hexsha, digest=snap.digest, by=actor(ws), reason=reason)
    ledger.append_entry(ws.root, env, entry)
    print(clean(f"marked {name} at {commit.hexsha[:12]} known-good in {ledger.ledger_rel(env)} ({snap.digest})"))
    print(clean(f"commit it: git add {ledger.ledger_rel(env)} && git commit -m 'release: {name} known-good'"))
    return 0


def unfreeze(artifact: str, *, reason: str, env: str = ledger.DEFAULT_ENV, cwd: Path | None = None) -> int:
    ws = open_workspace(cwd)
    entries = ledger.read_ledger(ws.root, env)
    name = resolve_artifact(ws, artifact, cwd, known=ledger.artifacts(entries))
    if not reason.strip():
        raise UsageError("--reason must say why automatic promotion may resume")
    mine = next((f for f in reversed(ledger.active_freezes(entries)) if ledger.normalize(f.artifact) == name), None)
    if mine is None:
        other = ledger.frozen(entries, name)
        if other is not None:
            raise RefusedError(clean(f"{name} is frozen through {other.artifact} (frozen {ledger.iso(other.at)}): "
                                     f"unfreeze {other.artifact}"))
        raise RefusedError(clean(f"{name} is not frozen in {ledger.ledger_rel(env)}"))
    entry = LedgerEntry(at=_now(), env=env, event="unfreeze", artifact=name, kind=mine.kind,
                        revision=mine.revision, digest=mine.digest, by=actor(ws), reason=reason,
                        evidence={"freeze": {"at": ledger.iso(mine.at), "by": mine.by, "reason": mine.reason}})
    ledger.append_entry(ws.root, env, entry)
    print(clean(f"lifted the freeze of {name} (frozen {ledger.iso(mine.at)}) in {ledger.ledger_rel(env)}"))
    print(clean(f"commit it: git add {ledger.ledger_rel(env)} && git commit -m 'release: unfreeze {name}'"))
    return 0


def status_rows(ws: Workspace, env: str) -> list[dict[str, Any]]:
    entries = ledger.read_ledger(ws.root, env)
    head = ws.repo.head.commit.hexsha if ws.repo.head.is_valid() else None
    rows = []
    for name in ledger.artifacts(entries):
        good = ledger.known_good(entries, name)
        freeze = ledger.frozen(entries, name)
        decision = ledger.last_decision(entries, name)
        at_head = snapshot_at(ws.repo, head, ws.prefix, name) if head else None
        rows.append({
            "artifact": name,
            "known_good": _brief(good),
            "head_is_known_good": None if good is None else (at_head is not None and at_head.digest == good.digest),
            "frozen": _brief(freeze),
            "last_canary": _brief(decision),
        })
    return rows


def _brief(e: LedgerEntry | None) -> dict[str, Any] | None:
    if e is None:
        return None
    out = {"event": e.event, "artifact": e.artifact, "at": ledger.iso(e.at), "revision": e.revision,
           "digest": e.digest, "decision": e.decision, "step": e.step, "by": e.by, "reason": e.reason}
    return {k: v for k, v in out.items() if v is not None}


def status(*, env: str = ledger.DEFAULT_ENV, fmt: str = "text", cwd: Path | None = None) -> int:
    ws = open_workspace(cwd)
    where = ledger.ledger_rel(env)
    rows = status_rows(ws, env)
    if fmt == "json":
        print(json.dumps({"env": env, "ledger": where, "artifacts": rows}, indent=2))
        return 0
    if not rows:
        print(f"{where}: no entries")
        return 0
    print(f"{where}: {len(rows)} artifact(s)")
    for r in rows:
        print(clean(r["artifact"]))
        good = r["known_good"]
        if good is None:
            print("  known-good: none (evalloop release mark-good)")
        else:
            head = "HEAD holds it" if r["head_is_known_good"] else "HEAD differs"
            print(clean(f"  known-good: {good.get('revision', '')[:12]} ({good['event']}, {good['at']}"
                        f"{', by ' + good['by'] if 'by' in good else ''}); {head}"))
        f = r["frozen"]
        if f is None:
            print("  frozen:     no")
        else:
            through = f" through {f['artifact']}" if f["artifact"] != r["artifact"] else ""
            print(clean(f"  frozen:     since {f['at']}{' by ' + f['by'] if 'by' in f else ''}"
                        f"{' (' + f['reason'] + ')' if 'reason' in f else ''}{through}"))
        c = r["last_canary"]
        print(clean(f"  canary:     {c.get('decision', '?')} at step {c.get('step', '?')} ({c['at']})") if c
              else "  canary:     no decision")
    return 0

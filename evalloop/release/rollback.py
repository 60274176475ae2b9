"""Rollback: restore artifacts to their last known-good version as one new commit.

Roll forward, history kept: the bad commits stay in `git log`; the rollback commit holds the
restored artifacts and the ledger lines that say why (a `rollback` entry per restored artifact,
then a `freeze` entry stopping automatic promotion until a person lifts it). Nothing is
written unless every artifact can be restored and verified: the ledger's known-good entry must
exist, its digest must match that revision's content, and the artifacts and the ledger must have
no uncommitted changes (they would be swept into, or lost under, the rollback).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

import git

from evalloop import clock
from evalloop.errors import EvalloopError, UsageError
from evalloop.model.release import LedgerEntry
from evalloop.release import ledger
from evalloop.release.digest import Snapshot, snapshot_at, snapshot_index, snapshot_worktree
from evalloop.release.restore import Changes, restore
from evalloop.release.workspace import Workspace, actor, head_sha, identity, kind_of, uncommitted
from evalloop.text import clean


class RefusedError(EvalloopError):
    """The rollback cannot be done safely as things stand (no known-good version, a digest that
    does not match): exit 1, nothing written."""

    exit_code = 1


@dataclass(frozen=True)
class Plan:
    artifact: str
    known_good: LedgerEntry
    line: int  # the known-good entry's line in the ledger
    current: Snapshot | None  # the work tree's (= HEAD's: it is clean)
    target: Snapshot

    @property
    def already(self) -> bool:
        return self.current is not None and self.current.digest == self.target.digest


@dataclass
class Outcome:
    plan: Plan
    changes: Changes = field(default_factory=Changes)


@dataclass
class Result:
    commit: str
    message: str
    outcomes: list[Outcome]
    entries: list[LedgerEntry]


def artifacts_of_kind(ws: Workspace, entries: list[LedgerEntry], kind: str) -> list[str]:
    """The ledger's artifacts of `kind` (by the gate's path rule, on their known-good version)
    that have a known-good version."""
    out = []
    for name in ledger.artifacts(entries):
        good = ledger.known_good(entries, name)
        if good is None or good.revision is None:
            continue
        snap = snapshot_at(ws.repo, good.revision, ws.prefix, name)
        if snap is not None and kind_of(ws, snap) == kind:
            out.append(name)
    return out


def plan(ws: Workspace, env: str, artifacts: list[str], entries: list[LedgerEntry]) -> list[Plan]:
    """Check everything a rollback of `artifacts` needs; raises (nothing written) when it cannot be done."""
    if not artifacts:
        raise UsageError("nothing to roll back")
    for i, a in enumerate(artifacts):
        for b in artifacts[i + 1:]:
            if ledger._overlap(a, b):
                raise UsageError(clean(f"{a} and {b} overlap: roll back one of them"))
    where = ledger.ledger_rel(env)
    plans = []
    for name in artifacts:
        good = ledger.known_good(entries, name)
        if good is None or good.revision is None or good.digest is None:
            raise RefusedError(clean(f"no known-good version of {name} in {where}: record one with "
                                     f"`evalloop release mark-good {name} --env {env} --revision REV`"))
        line = next(i for i, e in enumerate(entries, 1) if e is good)
        target = snapshot_at(ws.repo, good.revision, ws.prefix, name)
        if target is None:
            raise RefusedError(clean(f"{name} does not exist at {good.revision[:12]}, the known-good revision "
                                     f"of {where}:{line}"))
        if target.digest != good.digest:
            raise RefusedError(clean(f"{name} at {good.revision[:12]} has digest {target.digest}, not the "
                                     f"{good.digest} {where}:{line} recorded: nothing restored"))
        plans.append(Plan(name, good, line, snapshot_worktree(ws.repo, ws.root, name), target))
    dirty = uncommitted(ws, [*artifacts, where])
    if dirty:
        shown = ", ".join(clean(d[3:]) for d in dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise UsageError(f"uncommitted changes in what the rollback writes ({shown}): commit or stash them first")
    return plans


def rollback(ws: Workspace, env: str, artifacts: list[str], *, reason: str | None = None,
             kind: str | None = None) -> Result:
    """Restore each artifact to its last known-good version in one new commit on the current
    branch, with a `rollback` entry (when anything changed) and a `freeze` entry per artifact."""
    if ws.repo.head.is_detached:
        raise UsageError("HEAD is detached: check out the branch the rollback goes on")
    head = head_sha(ws)
    identity(ws)
    entries = ledger.read_ledger(ws.root, env)
    plans = plan(ws, env, artifacts, entries)
    where = ledger.ledger_rel(env)
    ledger_file = ledger.ledger_path(ws.root, env)
    size = os.path.getsize(ledger_file) if os.path.exists(ledger_file) else None
    specs = [ws.pathspec(p.artifact) for p in plans]
    outcomes = [Outcome(p) for p in plans]
    try:
        for o in outcomes:
            if not o.plan.already:
                o.changes = restore(ws.root, o.plan.current, o.plan.target)
        ws.repo.git.add("-A", "--", *specs)
        for o in outcomes:
            staged = snapshot_index(ws.repo, ws.prefix, o.plan.artifact)
            if staged is None or staged.digest != o.plan.known_good.digest:
                got = staged.digest if staged else "nothing"
                raise RefusedError(clean(f"{o.plan.artifact} restored from {o.plan.target.digest} but git "
                                         f"staged {got} (a filter in .gitattributes?): nothing committed"))
        new = _entries(ws, env, head, outcomes, reason)
        ledger.append_entries(ws.root, env, new)
        ws.repo.git.add("--", ws.pathspec(where))
        message = _message(env, outcomes, reason, kind)
        ws.repo.git.commit("--no-verify", "--only", "-q", "-m", message, "--", *specs, ws.pathspec(where))
    except BaseException as exc:
        _undo(ws, head, specs, ws.pathspec(where), ledger_file, size)
        if isinstance(exc, git.GitCommandError):
            raise EvalloopError(clean(f"git failed: {str(exc.stderr or exc).strip()}; nothing changed")) from None
        raise
    return Result(ws.repo.head.commit.hexsha, message, outcomes, new)


def _cite(good: LedgerEntry, line: int, where: str) -> dict[str, Any]:
    cited: dict[str, Any] = {"entry": f"{where}:{line}", "event": good.event, "at": ledger.iso(good.at),
                             "revision": good.revision, "digest": good.digest}
    if good.by:
        cited["by"] = good.by
    if good.reason:
        cited["reason"] = good.reason
    if good.evidence:
        cited["evidence"] = good.evidence  # the canary's invariants and metrics that promoted it
    return cited


def _entries(ws: Workspace, env: str, head: str, outcomes: list[Outcome], reason: str | None) -> list[LedgerEntry]:
    now = clock.now()
    by = actor(ws)
    where = ledger.ledger_rel(env)
    out = []
    for o in outcomes:
        p = o.plan
        cited = _cite(p.known_good, p.line, where)
        was = {"revision": head, "digest": p.current.digest if p.current else None}
        kind = kind_of(ws, p.target)
        common: dict[str, Any] = {"at": now, "env": env, "artifact": p.artifact, "kind": kind,
                                  "revision": p.known_good.revision, "digest": p.known_good.digest, "by": by,
                                  "reason": reason}
        if not p.already:
            out.append(LedgerEntry(event="rollback", evidence={
                "from": was, "to": {"revision": p.known_good.revision, "digest": p.known_good.digest},
                "known_good": cited, "restored": o.changes.as_evidence()}, **common))
            why = "rollback"
        else:
            why = "rollback requested; already at the last known-good version"
        out.append(LedgerEntry(event="freeze", evidence={"cause": why, "from": was, "known_good": cited}, **common))
    return out


def _message(env: str, outcomes: list[Outcome], reason: str | None, kind: str | None) -> str:
    def line(o: Outcome) -> str:
        rev = (o.plan.known_good.revision or "")[:12]
        if o.plan.already:
            return f"freeze {o.plan.artifact} at {rev} (already the last known-good, {env})"
        return f"restore {o.plan.artifact} to {rev} (last known-good, {env})"

    if len(outcomes) == 1:
        subject, body = f"rollback: {line(outcomes[0])}", []
    else:
        what = f"{len(outcomes)} {kind} artifacts" if kind else f"{len(outcomes)} artifacts"
        subject, body = f"rollback: restore {what} to their last known-good versions ({env})", [
            f"- {line(o)}" for o in outcomes]
    if reason:
        body = [*body, "", f"Reason: {reason}"] if body else [f"Reason: {reason}"]
    body += ["", f"Automatic promotion is frozen until `evalloop release unfreeze` (releases/{env}.jsonl)."]
    return "\n\n".join([subject, "\n".join(body).strip("\n")])


def _undo(ws: Workspace, head: str, specs: list[str], ledger_spec: str, ledger_file: os.PathLike[str],
          size: int | None) -> None:
    """Put back what a failed rollback wrote: the tree was clean, so HEAD's version is the truth,
    and the ledger lines were this rollback's own, never committed."""
    if ws.repo.head.commit.hexsha != head:
        return  # the commit was made: nothing to undo
    g = ws.repo.git
    for spec in [*specs, ledger_spec]:
        with contextlib.suppress(git.GitCommandError):
            g.reset("-q", "HEAD", "--", spec)
        with contextlib.suppress(git.GitCommandError):
            g.checkout("-q", "HEAD", "--", spec)
        with contextlib.suppress(git.GitCommandError):
            g.clean("-fdq", "--", spec)
    with contextlib.suppress(OSError):
        if size is None:
            os.unlink(ledger_file)
        else:
            os.truncate(ledger_file, size)

"""`evalloop rollback ARTIFACT... | --kind KIND`: restore the last known-good version (docs/releases.md).

Exit 0 when restored (or already the known-good version) and committed with the freeze; 1 when
there is no known-good version or its digest does not match; 2 on a usage error, uncommitted
changes in the artifact or the ledger, or a damaged ledger.
"""

from __future__ import annotations

from pathlib import Path

from evalloop.errors import UsageError
from evalloop.release import ledger
from evalloop.release.rollback import RefusedError, artifacts_of_kind
from evalloop.release.rollback import rollback as do_rollback
from evalloop.release.workspace import open_workspace, resolve_artifact
from evalloop.text import clean


def rollback(artifacts: list[str], *, kind: str | None = None, env: str = ledger.DEFAULT_ENV,
             reason: str | None = None, cwd: Path | None = None) -> int:
    if bool(artifacts) == bool(kind):
        raise UsageError("give ARTIFACT or --kind KIND (one of them)")
    ws = open_workspace(cwd)
    entries = ledger.read_ledger(ws.root, env)
    if kind:
        names = artifacts_of_kind(ws, entries, kind)
        if not names:
            raise RefusedError(f"no {kind} artifact has a known-good version in {ledger.ledger_rel(env)}: "
                               "record one with `evalloop release mark-good ARTIFACT`")
    else:
        known = ledger.artifacts(entries)
        names = list(dict.fromkeys(resolve_artifact(ws, a, cwd, known=known) for a in artifacts))
    result = do_rollback(ws, env, names, reason=reason, kind=kind)
    for o in result.outcomes:
        p = o.plan
        rev = (p.known_good.revision or "")[:12]
        cited = f"{p.known_good.event} at {ledger.iso(p.known_good.at)}, {ledger.ledger_rel(env)}:{p.line}"
        if p.already:
            print(clean(f"{p.artifact} already is the last known-good version ({rev}; {cited}): nothing to restore"))
        else:
            c = o.changes
            print(clean(f"restored {p.artifact} to {rev} (last known-good: {cited}): {len(c.added)} added, "
                        f"{len(c.changed)} changed, {len(c.removed)} removed"))
        print(clean(f"  frozen: automatic promotion stopped until `evalloop release unfreeze {p.artifact} "
                    f"--env {env} --reason ...`"))
    print(clean(f"committed {result.commit[:12]} {result.message.splitlines()[0]}"))
    return 0

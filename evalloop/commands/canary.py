"""`evalloop canary --baseline B --candidate C`: promote, hold or roll back a candidate artifact.

Exit 0 promote, 1 rollback, 3 hold, 2 unusable input (SPEC section 5).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from evalloop import clock
from evalloop.canary.config import load_canary
from evalloop.canary.observe import load_side
from evalloop.errors import UsageError
from evalloop.extras import require
from evalloop.model.canary import CanaryConfig
from evalloop.model.release import LedgerEntry
from evalloop.release import ledger
from evalloop.release.digest import artifact_digest
from evalloop.repo.config import find_root, load_config
from evalloop.repo.fs import atomic_write

EXIT = {"promote": 0, "rollback": 1, "hold": 3}


def canary(*, baseline: list[Path], candidate: list[Path], config_path: Path, step: int, fmt: str,
           output: Path | None, record: bool, now: dt.datetime | None) -> int:
    require("scipy", "canary", "evalloop canary")
    from evalloop.canary.analyze import analyze  # these import scipy
    from evalloop.report import canary as render

    cfg = load_canary(config_path)
    root = find_root(config_path.resolve().parent)
    artifact = ledger.normalize(cfg.artifact)
    # Resolved before anything is judged: a decision that cannot be recorded must not be printed as made.
    version = _candidate_version(root, cfg, artifact) if record else None
    mapping = tuple((m.attribute, m.type) for m in load_config(root).trace_mapping)
    base = load_side("baseline", baseline, mapping)
    cand = load_side("candidate", candidate, mapping)
    entries = ledger.read_ledger(root, cfg.env)
    result = analyze(cfg, base, cand, step=step, frozen=ledger.frozen(entries, artifact), now=now)
    text = {"text": render.format_text, "markdown": render.format_markdown, "json": render.format_json}[fmt](
        cfg, result)
    if version is not None:
        revision, digest = version
        ledger.append_entry(root, cfg.env, LedgerEntry(
            at=now or clock.now(), env=cfg.env, event="canary", artifact=artifact, kind=cfg.kind,
            revision=revision, digest=digest, decision=result.decision, step=step,
            evidence=render.to_dict(cfg, result), by=os.environ.get("GITHUB_ACTOR") or None))
    if output is not None:
        atomic_write(output, text)
    else:
        print(text, end="")
    return EXIT[result.decision]


def _candidate_version(root: Path, cfg: CanaryConfig, artifact: str) -> tuple[str, str]:
    """The candidate's commit and the artifact's digest there: a promoted entry is a known-good
    version only with both, since the rollback restores it from them."""
    from git import GitCommandError

    from evalloop.repo.git import open_repo

    repo = open_repo(root)
    try:
        commit = repo.git.rev_parse("--verify", "--end-of-options", f"{cfg.candidate.revision}^{{commit}}")
    except GitCommandError:
        raise UsageError(f"--record: candidate.revision {cfg.candidate.revision!r} is not a commit of this "
                         "repository; the ledger needs one to roll back to") from None
    digest = artifact_digest(root, artifact, commit)
    if digest is None:
        raise UsageError(f"--record: {cfg.artifact} does not exist at {cfg.candidate.revision}")
    return str(commit), digest

"""`release` (mark-good, unfreeze, status) and `rollback`: the known-good ledger."""

from __future__ import annotations

import sys

import click

from evalloop.main import cli
from evalloop.model.kinds import ARTIFACT_KINDS

_ENV = click.option("--env", default="production", show_default=True, metavar="ENV",
                    help="The environment: its ledger is releases/ENV.jsonl.")


@cli.group("release")
def release_group() -> None:
    """The known-good ledger releases/ENV.jsonl: one JSON entry per line, only ever appended, of
    every release decision about an artifact (a file or a folder: prompts, policies, routes, tool
    manifests, memory rules, retrieval configs): canary decisions, versions a person vouched for,
    rollbacks and the freezes they put on automatic promotion (docs/releases.md).

    \b
    Examples:
      evalloop release mark-good prompts/refund.md --reason 'ran a week without incident'
      evalloop release status --format json
      evalloop release unfreeze prompts/refund.md --reason 'fixed in #123, canary re-run'
    """


@release_group.command("mark-good")
@click.argument("artifact")
@_ENV
@click.option("--revision", default=None, metavar="REV",
              help="The commit whose version is vouched for (default: HEAD, which the work tree must match).")
@click.option("--reason", default=None, metavar="TEXT", help="Why it is known to be good.")
def mark_good(artifact: str, env: str, revision: str | None, reason: str | None) -> None:
    """Record ARTIFACT (a file or folder, relative to the current folder or the repository root) as
    known-good at a revision: its sha256 digest there, who (GITHUB_ACTOR or git user.name) and why.
    `evalloop rollback` restores the last known-good version.

    Without --revision the version is HEAD's, and the work tree must hold exactly it: otherwise the
    entry would vouch for a version other than the one you are looking at, so it is refused (commit
    first, or name the version with --revision, which must be in the current branch's history).
    The entry is appended to releases/ENV.jsonl; commit it like any reviewed change.

    Exit 0, 2 on a usage error, a work tree that differs from HEAD, or a damaged ledger.

    \b
    Examples:
      evalloop release mark-good prompts/refund.md
      evalloop release mark-good retrieval/index --revision v1.4.0 --env staging --reason 'release 1.4'"""
    from evalloop.commands import release as cmd

    sys.exit(cmd.mark_good(artifact, env=env, revision=revision, reason=reason))


@release_group.command("unfreeze")
@click.argument("artifact")
@click.option("--reason", required=True, metavar="TEXT", help="Why automatic promotion may resume. [required]")
@_ENV
def unfreeze(artifact: str, reason: str, env: str) -> None:
    """Lift the freeze a rollback put on ARTIFACT: automatic promotion (`evalloop canary`) may
    resume. A person decides this, with a reason; the entry is appended to releases/ENV.jsonl.

    Exit 0, 1 when ARTIFACT is not frozen (or only through a folder holding it: unfreeze that), 2 on
    a usage error.

    \b
    Examples:
      evalloop release unfreeze prompts/refund.md --reason 'approval check restored in #812'"""
    from evalloop.commands import release as cmd

    sys.exit(cmd.unfreeze(artifact, reason=reason, env=env))


@release_group.command("status")
@_ENV
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(env: str, fmt: str) -> None:
    """Each artifact the ledger names: its last known-good version (and whether HEAD holds it),
    the freeze stopping its automatic promotion if any, and its last canary decision.

    \b
    Examples:
      evalloop release status
      evalloop release status --env staging --format json"""
    from evalloop.commands import release as cmd

    sys.exit(cmd.status(env=env, fmt=fmt))


@cli.command("rollback")
@click.argument("artifacts", nargs=-1, metavar="[ARTIFACT]...")
@click.option("--kind", type=click.Choice(sorted(ARTIFACT_KINDS)), default=None,
              help="Instead of ARTIFACT: every artifact of this kind with a known-good version in the ledger.")
@_ENV
@click.option("--reason", default=None, metavar="TEXT", help="Why (the incident, the alert); goes to the ledger.")
def rollback(artifacts: tuple[str, ...], kind: str | None, env: str, reason: str | None) -> None:
    """Restore ARTIFACT (a file or a folder) to its last known-good version in releases/ENV.jsonl
    (a `mark_good` entry, or a canary that promoted its final step), as ONE new commit on the
    current branch: roll forward, the bad commits stay in history. A folder is made to hold exactly
    the files it held then (added, changed and deleted). The restored content is checked against
    the ledger's digest. The commit also appends a `rollback` and a `freeze` entry: automatic
    promotion of the artifact stops until a person runs `evalloop release unfreeze`. When ARTIFACT
    already is the known-good version, nothing is restored but the freeze is still recorded.

    Refused, with nothing written, when the artifact or the ledger has uncommitted changes (exit 2),
    when there is no known-good version or its digest does not match that revision (exit 1), or
    when the ledger is damaged (exit 2). The commit uses git's configured identity and skips commit
    hooks (it restores a version already committed and vouched for).

    \b
    Examples:
      evalloop rollback prompts/refund.md --reason 'INC-2026-04-18-001: refunds without approval'
      evalloop rollback retrieval/index --env staging
      evalloop rollback --kind prompt"""
    from evalloop.commands import rollback as cmd

    sys.exit(cmd.rollback(list(artifacts), kind=kind, env=env, reason=reason))

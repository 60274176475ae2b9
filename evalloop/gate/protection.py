"""The base revision's protections are the floor (docs/protection.md).

A pull request can get a dangerous change through without touching a single
expectation: delete the fixture that catches it, move it out of the `fixtures:`
globs, narrow the globs, lower its severity, narrow its `gates`/`scope`, remove
its safety mark, or quarantine it. Each of those is a **protection change** of a
fixture that blocks on base. It is listed first in every report, the fixture's
base version still runs against head's agent, and the verdict is `block` until
the fixture's owner approves the change in a way the *base* config accepts:

- an entry the pull request adds to `protection-changes.yaml`, naming the
  fixture, the approving owner (the fixture's owner on base) and the reason,
  accepted only when the base revision's CODEOWNERS assigns that file an owner
  (so GitHub requires their review before the pull request can merge); or
- a pull request label listed in the base config's `protection.approval_labels`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import git
import pathspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalloop.errors import EvalloopError
from evalloop.gate.changes import ChangeSet
from evalloop.model.fixture import ID_PATTERN
from evalloop.model.kinds import ARTIFACT_KINDS
from evalloop.model.quarantine import active, guarded
from evalloop.model.release import ENV_PATTERN, LEDGER_DIR
from evalloop.model.results import ProtectionChange, ProtectionKind, Selected
from evalloop.repo import revision
from evalloop.repo.fixtures import LoadedFixture, load_at
from evalloop.repo.git import read_files
from evalloop.repo.identities import Entry, IdentityCache, ScopeInfo
from evalloop.repo.owners import CODEOWNERS_PLACES, MAX_CODEOWNERS_BYTES
from evalloop.repo.parse import blob_document, first_error
from evalloop.repo.revision import Revision

# a fixture id, or a release ledger (evalloop.model.release): the two things a protection change is of
APPROVAL_TARGET = rf"^(?:{ID_PATTERN[1:-1]}|{LEDGER_DIR}/{ENV_PATTERN[1:-1]}\.jsonl)$"


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fixture: str = Field(pattern=APPROVAL_TARGET, description=(
        "The fixture's id (on the base revision), or a release ledger's path (`releases/<env>.jsonl`) "
        "whose lines the pull request removes or rewrites."))
    change: ProtectionKind | None = Field(
        default=None, description="Which change is approved (removed, excluded, downgraded, narrowed, "
        "quarantined, unprotected); absent: any change of this fixture in this pull request.")
    approved_by: str = Field(description="The approving owner: the fixture's owner on the base revision.")
    reason: str = Field(min_length=1, description="Why the protection may be weakened.")


class ApprovalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"title": "evalloop protection-change approvals"})

    approvals: list[Approval] = Field(
        default_factory=list,
        description="Approved protection changes; only entries the pull request adds count.",
    )


@dataclass(frozen=True)
class Found:
    change: ProtectionChange
    base_entry: Entry


# --------------------------------------------------------------------------- detection


def _scope_lost(base: ScopeInfo | None, head: ScopeInfo | None) -> list[str]:
    """What head's scope no longer covers. An empty list is "no constraint", the widest."""
    lost = []
    for dim in ("paths", "routes", "tools"):
        b = set(getattr(base, dim)) if base else set()
        h = set(getattr(head, dim)) if head else set()
        if h and (not b or not h >= b):
            was = "any" if not b else ", ".join(sorted(b))
            lost.append(f"scope.{dim} {was} -> {', '.join(sorted(h))}")
    return lost


def _gates_lost(base: list[str] | None, head: list[str] | None) -> list[str]:
    """Kinds the base gates ran for that head's do not (None: every kind)."""
    b = set(ARTIFACT_KINDS) if base is None else set(base)
    h = set(ARTIFACT_KINDS) if head is None else set(head)
    return sorted(b - h)


def _where_it_went(e: Entry, cs: ChangeSet) -> tuple[ProtectionKind, str, str | None]:
    for c in cs.changed:
        if c.status == "deleted" and c.path == e.path:
            return "removed", f"{e.path} is deleted", None
        if c.status == "renamed" and c.old_path == e.path:
            return "removed", f"moved to {c.path}, outside the `fixtures:` globs", c.path
    if cs.merge_base is None:  # no diff to tell how it went
        return "removed", f"{e.path} is not a fixture of head (deleted, moved, or outside the `fixtures:` globs)", None
    return "excluded", f"{e.path} is no longer matched by the `fixtures:` globs of head's evalloop.yaml", e.path


def detect(base: Revision, head: Revision, cs: ChangeSet, today: dt.date) -> list[Found]:
    """Every weakening of a fixture that blocks on base, in base's file order."""
    head_ids = head.by_id()
    head_paths = {e.path: e for e in head.entries}  # unreadable ones too: they are error results already
    renamed = {c.old_path: c.path for c in cs.changed if c.status == "renamed" and c.old_path}
    found: list[Found] = []
    for e in base.entries:
        if e.head is None or e.severity != "blocking":
            continue
        owner = e.head.owner  # the base config's default owner already filled in

        def add(kind: ProtectionKind, detail: str, head_path: str | None, entry: Entry = e,
                owner: str | None = owner) -> None:
            found.append(Found(ProtectionChange(id=entry.id, kind=kind, detail=detail, owner=owner,
                                                base_path=entry.path, head_path=head_path), entry))

        h = head_ids.get(e.id) or head_paths.get(renamed.get(e.path, e.path))
        if h is None or h.head is None:
            if h is None:
                kind, detail, where = _where_it_went(e, cs)
                add(kind, detail, where)
            continue  # a head fixture that cannot be read is an error result already
        if h.id != e.id:
            add("removed", f"its id changed to {h.id}: a new fixture, not this one", h.path)
        if h.severity != "blocking":
            add("downgraded", f"severity blocking -> {h.severity}", h.path)
        lost = _gates_lost(e.head.gates, h.head.gates)
        if lost:
            add("narrowed", f"gates no longer include {', '.join(lost)}", h.path)
        scope = _scope_lost(e.head.scope, h.head.scope)
        if scope:
            add("narrowed", "; ".join(scope), h.path)
        was = set(guarded(e.head.risk, e.head.incident_id, base.signals))
        now = set(guarded(h.head.risk, h.head.incident_id, head.signals))
        if was - now:
            add("unprotected", f"no longer marked as guarding {', '.join(sorted(was - now))} "
                "(it keeps that protection: it still cannot be quarantined)", h.path)
        q = active(head.quarantine, e.id, today)
        if q is not None and active(base.quarantine, e.id, today) is None:
            add("quarantined", f"newly quarantined until {q.expires_at} (owner {q.owner}: {q.reason})", h.path)
    return found


# --------------------------------------------------------------------------- approval


def _codeowners(repo: git.Repo, commit: str) -> tuple[str, str] | None:
    blobs = read_files(repo, commit, list(CODEOWNERS_PLACES), MAX_CODEOWNERS_BYTES)
    for loc in CODEOWNERS_PLACES:
        if loc in blobs:
            return loc, blobs[loc].decode("utf-8", "replace")
    return None


def codeowners_of(text: str, path: str) -> list[str]:
    """The owners CODEOWNERS gives `path`: the last matching rule wins (GitHub's semantics)."""
    owners: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("\\#") else raw.strip()
        if not line:
            continue
        pattern, *names = line.split()
        try:
            spec = pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, TypeError):
            continue  # GitHub skips invalid lines too
        if spec.match_file(path):
            owners = [n for n in names if n.startswith("@") or "@" in n]
    return owners


def _approvals_at(repo: git.Repo, commit: str, path: str) -> tuple[list[Approval], str | None]:
    raw = read_files(repo, commit, [path], 1 << 20).get(path)
    if raw is None:
        return [], None
    try:
        return list(ApprovalsFile.model_validate(blob_document(raw, path).data).approvals), None
    except EvalloopError as exc:
        return [], f"{path} cannot be read ({exc}): it approves nothing"
    except ValidationError as exc:
        return [], f"{path}: {first_error(exc)}: it approves nothing"


def approve(found: list[Found], repo: git.Repo, base: Revision, head: Revision,
            labels: list[str]) -> tuple[list[ProtectionChange], list[str]]:
    """Mark the changes an accepted approval covers; notes say why an approval was not accepted."""
    return approve_changes([f.change for f in found], repo, base, head, labels)


def _owner_accepts(c: ProtectionChange, approved_by: str) -> bool:
    if c.owner is None or approved_by == c.owner:
        return True
    # a ledger's owners are its CODEOWNERS, any of whom may approve
    return c.id.startswith(LEDGER_DIR + "/") and approved_by in c.owner.split(", ")


def approve_changes(found: list[ProtectionChange], repo: git.Repo, base: Revision, head: Revision,
                    labels: list[str]) -> tuple[list[ProtectionChange], list[str]]:
    """`approve` of protection changes of any kind: of fixtures and of release ledgers."""
    notes: list[str] = []
    policy = base.config.protection  # the base's rules: a pull request cannot relax them for itself
    accepted_labels = sorted(set(labels) & set(policy.approval_labels))
    if labels and not accepted_labels and policy.approval_labels:
        notes.append(f"pull request labels {labels} include none of the approval labels "
                     f"{policy.approval_labels} of the base config")
    path = base.prefix + policy.approvals_file
    new: list[Approval] = []
    if found:
        head_approvals, problem = _approvals_at(repo, head.commit, path)
        if problem:
            notes.append(problem)
        old = set(_approvals_at(repo, base.commit, path)[0])
        new = [a for a in head_approvals if a not in old]  # an approval counts once: in the PR adding it
        if new and policy.require_codeowners:
            owned = _codeowners(repo, base.commit)
            owners = codeowners_of(owned[1], path) if owned else []
            if not owners:
                notes.append(f"{policy.approvals_file} approvals are not accepted: the base revision's CODEOWNERS "
                             f"{'(' + owned[0] + ') ' if owned else ''}assigns it no owner, so anyone could "
                             f"write one. Add a rule such as `/{path} @org/release-owners` and require code-owner "
                             "review in branch protection")
                new = []
    out: list[ProtectionChange] = []
    for c in found:
        how: str | None = None
        if accepted_labels:
            how = f"label {accepted_labels[0]!r}"
        for a in new:
            if a.fixture != c.id or (a.change is not None and a.change != c.kind):
                continue
            if not _owner_accepts(c, a.approved_by):
                notes.append(f"{policy.approvals_file}: the approval of {c.id} is by {a.approved_by}, but the "
                             f"{'ledger' if c.id.startswith(LEDGER_DIR + '/') else 'fixture'}'s owner on base "
                             f"is {c.owner}: not accepted")
                continue
            how = f"{policy.approvals_file}: approved by {a.approved_by}: {a.reason}"
            break
        out.append(c.model_copy(update={"approved": how is not None, "approval": how}))
    return out, notes


# --------------------------------------------------------------------------- the floor and the base versions


@dataclass(frozen=True)
class BaseVersion:
    """The base revision's version of a fixture whose protection change is not approved: it runs
    against head's agent in place of head's version, as blocking."""

    selected: Selected
    loaded: LoadedFixture | str  # or why it could not be loaded: an error result


@dataclass
class Protection:
    changes: list[ProtectionChange]
    base: Revision | None  # the floor; None when the base revision is unknown
    base_versions: dict[str, BaseVersion]  # by fixture id
    notes: list[str]


def protect(repo: git.Repo, cs: ChangeSet, head: Revision, labels: list[str], today: dt.date,
            cache: IdentityCache) -> Protection:
    """Protection changes against the merge-base, approved or not, and the base versions of the
    unapproved ones."""
    notes: list[str] = []
    floor = cs.merge_base
    if floor is None:
        try:  # unrelated histories or a shallow clone: the base commit itself is the floor
            floor = repo.commit(cs.base).hexsha
            notes.append(f"no merge-base: protection changes are checked against the base commit {floor[:12]}")
        except (ValueError, git.BadName, git.GitCommandError):
            return Protection([], None, {}, [
                "the base revision is unknown: protection changes (fixtures removed, downgraded, narrowed or "
                "quarantined) cannot be checked; every fixture of head runs"])
    try:
        base_config = revision.config_at(repo, floor, head.prefix)
    except EvalloopError as exc:
        notes.append(f"the base revision's evalloop.yaml is unusable ({exc}); its fixtures are read with "
                     "head's config")
        base_config = head.config
    base = revision.load(repo, floor, head.prefix, base_config, cache)
    notes += base.notes
    found = detect(base, head, cs, today)
    from evalloop.gate.ledger import ledger_rewrites  # its own module: protection.py is about fixtures

    rewrites = ledger_rewrites(repo, floor, cs.head, head.prefix)
    all_changes, approval_notes = approve_changes([f.change for f in found] + rewrites, repo, base, head, labels)
    found_changes = all_changes[:len(found)]
    notes += approval_notes
    # approve() keeps found's order: the base entry of each change that is still pending
    replaced = {f.base_entry.id: f.base_entry for f, c in zip(found, found_changes, strict=True) if not c.approved}
    loaded = load_at(repo, floor, head.prefix, base.config, [e.path for e in replaced.values()])
    versions: dict[str, BaseVersion] = {}
    for e in replaced.values():
        kinds = sorted({c.kind for c in found_changes if c.id == e.id})
        selected = Selected(id=e.id, severity="blocking", path=e.path, reasons=[
            f"protection change ({', '.join(kinds)}) without approval: the base revision's version "
            f"({floor[:12]}:{e.path}) runs against head's agent"])
        lf = loaded[e.path]
        if not isinstance(lf, str):
            lf = LoadedFixture(e.path, lf.fixture.model_copy(update={"severity": "blocking"}))
        versions[e.id] = BaseVersion(selected, lf)
    return Protection(all_changes, base, versions, notes)


def with_base_versions(selected: list[Selected], protection: Protection) -> list[Selected]:
    """The selection with each base version in place of head's fixture of that id, at the end."""
    versions = protection.base_versions
    return [s for s in selected if s.id not in versions] + [v.selected for v in versions.values()]

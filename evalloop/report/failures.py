"""The failures of a markdown report, made actionable: for each one whether it is new with this
change or was failing on base already, the command that reproduces it locally, links to its
fixture and incident record at the commit the gate ran, and how to reach its owner; and the
causes several blocking failures share, each shown once with the fixtures it breaks.

Every untrusted value goes through report.escape (md(), code(), command(), contact(), link());
links are only those report.links builds.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from evalloop.model.results import FixtureResult, GateReport, Violation, gating_failure
from evalloop.report.escape import code, command, contact, link, md
from evalloop.report.links import RepoLinks
from evalloop.report.text import evidence_text, plural

# The ids `evalloop run --select` takes as they are: a fixture's id (model.fixture.ID_PATTERN)
# that is not one of the expression's words.
_SELECTABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_WORDS = {"and", "or", "not"}
_HEX = re.compile(r"[0-9a-f]{7,64}")
GROUP_IDS = 10  # fixtures named in one shared cause; the rest are counted


@dataclass(frozen=True)
class Where:
    """What the failure rendering knows of where the report comes from."""

    links: RepoLinks | None
    head: str | None
    base: str | None  # the revision base versions come from, and that failures ran on
    prefix: str
    base_versions: frozenset[str]  # ids whose base revision's version ran (unapproved protection changes)

    @classmethod
    def of(cls, r: GateReport, links: RepoLinks | None) -> Where:
        return cls(links, r.head, r.merge_base or r.base, r.repo_prefix or "",
                   frozenset(p.id for p in r.protection_changes if not p.approved))

    def blob(self, res: FixtureResult, path: str | None) -> str | None:
        if self.links is None:
            return None
        commit = self.base if res.id in self.base_versions and path == res.path else self.head
        return self.links.blob(commit, path, self.prefix)


def _linked(label: str, url: str | None, width: int = 500) -> str:
    return link(label, url) if url else md(label, width)


def reproduce_command(res: FixtureResult, where: Where) -> str | None:
    """The shell command that runs the fixture locally from the repository's top, as the gate
    ran it; None when its id is not one `--select` can name (a fixture that could not be read)."""
    if not _SELECTABLE.fullmatch(res.id):
        return None
    term = f"id:{res.id}" if res.id in _WORDS else res.id
    steps = []
    if where.prefix:
        folder = where.prefix.rstrip("/")
        steps.append(f"cd {shlex.quote('./' + folder if folder.startswith('-') else folder)}")  # not an option
    if res.id in where.base_versions and res.path and where.base and _HEX.fullmatch(where.base):
        # head weakened or removed it: the gate ran the base revision's version
        steps.append(f"git checkout {where.base[:12]} -- {shlex.quote(res.path)}")
    steps.append(f"evalloop run --select {shlex.quote(term)}")
    return " && ".join(steps)


def base_label(res: FixtureResult) -> str:
    """Whether a failure is new with this change, in a few words."""
    return {None: "not checked", "pass": "🆕 newly failing: passes on base", "fail": "failing on base too",
            "flaky": "flaky on base", "error": "could not run on base",
            "no_run": "could not run on base"}[res.base_status]


def overview(blocking: list[FixtureResult], r: GateReport, where: Where, width: int) -> list[str]:
    """One row per blocking failure: is it new with this change, and who owns it."""
    on = f"on base {md(r.merge_base[:12])}" if r.merge_base else "on base"
    out = [f"| fixture | status | {on} | owner |", "|---|---|---|---|"]
    for res in blocking:
        name = _linked(res.id, where.blob(res, res.path), width)
        owner = md(res.owner, 100) if res.owner else "_none_"
        if res.owner_contact:
            owner += f" · {contact(res.owner_contact)}"
        out.append(f"| {name} | {res.status} | {base_label(res)} | {owner} |")
    out.append("")
    return out


@dataclass
class Cause:
    """Violations of one kind on one span (or of one expected value) in several fixtures."""

    first: Violation
    fixtures: list[str] = field(default_factory=list)


def _key(v: Violation) -> tuple[str, str | None, str]:
    """One cause: the same kind of check, on the same span, expecting the same."""
    return v.kind, v.evidence.ref, json.dumps(v.evidence.expected, sort_keys=True, default=str)


def shared_causes(blocking: list[FixtureResult]) -> list[Cause]:
    """The causes more than one blocking failure shows, the most widespread first."""
    causes: dict[tuple[str, str | None, str], Cause] = {}
    for res in blocking:
        for v in res.failures:
            cause = causes.setdefault(_key(v), Cause(v))
            if res.id not in cause.fixtures:
                cause.fixtures.append(res.id)
    shared = [c for c in causes.values() if len(c.fixtures) > 1]
    return sorted(shared, key=lambda c: -len(c.fixtures))  # stable: first seen first among equals


def causes_section(blocking: list[FixtureResult], max_causes: int) -> tuple[list[str], int]:
    """The shared causes as a list, at most `max_causes`; and how many were left out."""
    causes = shared_causes(blocking)
    if not causes or not max_causes:
        return [], len(causes)
    out = [f"**{plural(len(causes), 'cause', 'causes')} shared by several failures** "
           "(one fix may clear them all):", ""]
    for c in causes[:max_causes]:
        v = c.first
        on = f" on {code(v.evidence.ref)}" if v.evidence.ref else ""
        names = ", ".join(md(x, 200) for x in c.fixtures[:GROUP_IDS])
        if len(c.fixtures) > GROUP_IDS:
            names += f" and {len(c.fixtures) - GROUP_IDS} more"
        out.append(f"- **{md(v.kind, 100)}**{on}: {md(v.message, 300)}<br>"
                   f"in **{len(c.fixtures)} fixtures**: {names}")
    if len(causes) > max_causes:
        out.append(f"- … and {len(causes) - max_causes} more shared causes (cut to fit)")
    out.append("")
    return out, max(len(causes) - max_causes, 0)


def failure_block(res: FixtureResult, max_violations: int, where: Where) -> list[str]:
    """A failure: its facts (owner and how to reach them, incident record, fixture file), why it
    exists, the error or every violation with its evidence, and its reproduction on base."""
    head = f" · {base_label(res)}" if res.severity == "blocking" and gating_failure(res) else ""
    lines = [f"#### {md(res.id)} — {res.status}{head}", ""]
    facts = []
    if res.owner:
        facts.append(f"**owner** {md(res.owner)}" + (f" ({contact(res.owner_contact)})" if res.owner_contact else ""))
    incident_url = where.blob(res, res.incident_path)
    if res.incident_id:
        facts.append(f"**incident** {_linked(res.incident_id, incident_url)}")
    elif res.incident_path:  # a record lists the fixture, which names no incident itself
        facts.append(f"**incident record** {_linked(res.incident_path, incident_url)}")
    if res.path:
        facts.append(f"**fixture** {_linked(res.path, where.blob(res, res.path))}")
    if res.quarantined:
        facts.append("**quarantined**")
    if facts:
        lines += [" · ".join(facts), ""]
    cmd = reproduce_command(res, where)
    if cmd:
        lines += [f"**reproduce locally** {command(cmd)}", ""]
    if res.reason:
        lines += [f"> {md(res.reason)}", ""]
    if res.error:
        lines.append(f"- **error**: {md(res.error)}")
    shown = res.failures[:max_violations]
    for v in shown:
        ev = evidence_text(v)
        lines.append(f"- **{md(v.kind)}**: {md(v.message)}" + (f" — {md(ev, 300)}" if ev else ""))
    if len(res.failures) > len(shown):
        lines.append(f"- … and {len(res.failures) - len(shown)} more violations (cut to fit)")
    if res.reproduction:
        lines.append(f"- reproduction: {md(res.reproduction.note)}")
    lines.append("")
    return lines

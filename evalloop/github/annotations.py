"""Which protection changes and failing fixtures become annotations on the pull request.

GitHub shows at most 10 error and 10 warning annotations per step (and drops the rest
without a word), so the gate picks: unapproved protection changes are errors and come
first (they block whatever the fixtures do), then blocking failures, most important
first; warning failures, quarantined flaky blocking fixtures and incident fixtures
that do not reproduce are warnings; exploratory failures are notices. When a level
overflows, its last slot names the ones left out, so the count is never silently wrong.

Every message, title and path is fixture, trace or config text: ghactions.Annotation
cleans it (evalloop.text.clean) so no escape sequence or control character reaches the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalloop.github.actions import Annotation, AnnotationLevel
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, gating_failure

PER_LEVEL = 10  # GitHub's per-step cap for each of error, warning and notice
MESSAGE_FAILURES = 8  # violations spelled out in one annotation; the summary has them all
_MESSAGE_LIMIT = 4000
_LEVELS: dict[str, AnnotationLevel] = {"blocking": "error", "warning": "warning", "exploratory": "notice"}


@dataclass(frozen=True)
class Candidate:
    """A fixture result to annotate, or (with `result` None) an unapproved protection change."""

    result: FixtureResult | None
    level: AnnotationLevel
    rank: tuple[int, int, str]
    why: str
    protection: ProtectionChange | None = None

    @property
    def id(self) -> str:
        if self.protection is not None:
            return self.protection.id
        return self.result.id if self.result is not None else ""


def _status_rank(r: FixtureResult) -> int:
    # A fixture tied to a production incident failing again is the loudest signal; a plain
    # failure next; then fail-closed outcomes (error, no run) and flakiness.
    if r.status == "fail":
        return 0 if r.incident_id else 1
    return {"error": 2, "no_run": 3, "flaky": 4}.get(r.status, 5)


def candidates(report: GateReport) -> list[Candidate]:
    # Rank -1: an unapproved protection change blocks on its own, before any fixture result.
    out: list[Candidate] = [Candidate(None, "error", (-1, 0, p.id), f"protection change ({p.kind}) needs approval", p)
                            for p in report.protection_changes if not p.approved]
    for r in report.results:
        rank = (_status_rank(r), -len(r.failures), r.id)
        if gating_failure(r):
            out.append(Candidate(r, _LEVELS[r.severity], rank, _status_text(r)))
        elif r.status == "flaky" and r.quarantined:
            out.append(Candidate(r, "warning" if r.severity != "exploratory" else "notice", rank,
                                 "flaky (quarantined: does not gate)"))
        elif r.reproduction is not None and not r.reproduction.reproduces:
            out.append(Candidate(r, "warning", (6, 0, r.id), "does not reproduce its incident on the base revision"))
    return sorted(out, key=lambda c: (c.rank, c.id))


def _status_text(r: FixtureResult) -> str:
    return {"fail": "failed", "error": "errored", "no_run": "has no run", "flaky": "is flaky"}.get(r.status, r.status)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _protection_message(p: ProtectionChange) -> str:
    who = f"the fixture's owner on base, {p.owner}," if p.owner else "the fixture's owner (none set on base)"
    moved = f" (now {p.head_path})" if p.head_path and p.head_path != p.base_path else ""
    return (f"{p.kind}: {_one_line(p.detail)}\n"
            f"Blocking fixture {p.id} of the base revision ({p.base_path}{moved}). The gate blocks until {who} "
            "approves this change (docs/protection.md); meanwhile its base version runs against this head.")


def message(c: Candidate) -> str:
    if c.protection is not None:
        return _protection_message(c.protection)
    r = c.result
    if r is None:
        return c.why
    lines = [f"{r.severity} fixture {c.why}"]
    if r.reason:
        lines[0] += f": {_one_line(r.reason, 200)}"
    if r.error:
        lines.append(f"error: {_one_line(r.error)}")
    for failure in r.failures[:MESSAGE_FAILURES]:
        lines.append(f"- {_one_line(failure.kind or 'violation', 60)}: {_one_line(failure.message)}")
    if len(r.failures) > MESSAGE_FAILURES:
        lines.append(f"… and {len(r.failures) - MESSAGE_FAILURES} more (see the job summary)")
    if r.reproduction is not None:
        lines.append(_one_line(r.reproduction.note))
    text = "\n".join(lines)
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def fixture_line(path: Path, fixture_id: str) -> int:
    """The line that names the fixture's id (where a reviewer looks first), else 1."""
    try:
        if path.stat().st_size > 4 * 1024 * 1024:
            return 1
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 1
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().lstrip("{").strip()
        if fixture_id in line and (stripped.startswith(("id:", '"id"', "'id'"))):
            return number
    return 1


def relative_path(path: str, root: Path) -> str:
    """Paths in annotations are relative to the workspace; leave others as the report has them."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path
    return p.as_posix()


def to_annotation(c: Candidate, root: Path) -> Annotation:
    title = _one_line(f"evalloop: {c.id} {c.why}", 200)
    if c.protection is not None:
        # On the file where the fixture is now, else where it was on base (a deleted file:
        # GitHub lists the annotation in the check's summary).
        rel = relative_path(c.protection.head_path or c.protection.base_path, root)
        return Annotation(c.level, message(c), title, file=rel, line=fixture_line(root / rel, c.protection.id))
    r = c.result
    if r is None or not r.path:
        return Annotation(c.level, message(c), title)
    rel = relative_path(r.path, root)
    return Annotation(c.level, message(c), title, file=rel, line=fixture_line(root / rel, r.id))


def choose(report: GateReport, root: Path, per_level: int = PER_LEVEL) -> list[Annotation]:
    """At most `per_level` annotations of each level, the most important first."""
    chosen: list[Annotation] = []
    for level in ("error", "warning", "notice"):
        group = [c for c in candidates(report) if c.level == level]
        if len(group) <= per_level:
            chosen.extend(to_annotation(c, root) for c in group)
            continue
        shown, rest = group[: per_level - 1], group[per_level - 1:]
        chosen.extend(to_annotation(c, root) for c in shown)
        names = ", ".join(c.id for c in rest[:20]) + (", …" if len(rest) > 20 else "")
        chosen.append(Annotation(level, f"Not annotated (GitHub shows {per_level} per level): {names}. "
                                        "Every result is in the job summary.",
                                 f"evalloop: {len(rest)} more {level}s"))
    return chosen


def all_annotations(report: GateReport, root: Path) -> list[Annotation]:
    """Every candidate, for the Checks API, which takes any number (50 per request)."""
    return [to_annotation(c, root) for c in candidates(report)]

"""The metrics of the release gate (docs/metrics.md): number of blocking evals and flaky eval rate."""

from __future__ import annotations

from evalloop.metrics.base import Outcome, Window, day, ratio
from evalloop.metrics.sources import LoopData
from evalloop.model.metrics import BlockingEvalsSettings, FlakySettings, GateRecord
from evalloop.model.quarantine import active


def blocking_evals(data: LoopData, w: Window, s: BlockingEvalsSettings) -> Outcome:
    """The fixtures that block: the work tree's when the window reaches today, else the main line's
    at the window's end."""
    if w.until < w.now.date():
        if data.history is None:
            return Outcome.no_data(data.where("git history") + f": the fixtures as of {w.until}")
        found = data.history.blocking_at(w.asof)
        if found is None:
            return Outcome.no_data(f"fixtures on the main line by {w.until}: none yet")
        blocking, total = found
        out = Outcome(float(blocking), numerator=blocking, denominator=total)
        _share(out, blocking, total, s)
        return out
    entries = data.fixtures or []
    readable = [e for e in entries if e.fixture is not None]
    blocking_entries = [e for e in readable if e.severity == "blocking"]
    out = Outcome(float(len(blocking_entries)), numerator=len(blocking_entries), denominator=len(readable))
    unreadable = len(entries) - len(readable)
    if unreadable:
        out.notes.append(f"{unreadable} fixture file(s) unreadable and not counted (`evalloop validate` says why)")
    if not readable:
        out.investigate("no fixture blocks: nothing holds a release")
        return out
    _share(out, len(blocking_entries), len(readable), s)
    today = w.now.date()
    for e in blocking_entries:
        problems = [p for p, bad in (("no owner", e.owner is None),
                                     ("no reason", e.fixture is not None and not e.fixture.reason),
                                     (f"expired {e.expires_at}", e.expires_at is not None and e.expires_at < today))
                    if bad]
        if problems:
            out.investigate(f"{e.id} ({e.path}): {', '.join(problems)}")
    return out


def _share(out: Outcome, blocking: int, total: int, s: BlockingEvalsSettings) -> None:
    if total and blocking / total > s.max_share:
        out.investigate(f"{blocking} of {total} fixtures block (more than {s.max_share:.0%}): when everything "
                        "blocks, teams ignore the gate")


def _gate_key(g: GateRecord) -> tuple[str, str]:
    return (g.head or g.timestamp.isoformat(), g.shard or "")


def flaky(data: LoopData, w: Window, s: FlakySettings) -> Outcome:
    """Release-gate runs (one per head commit and shard) that needed a rerun: gated again on the same
    commit, re-run in CI (attempt above 1), or a fixture whose runs disagreed (flaky)."""
    if data.gate_runs is None:
        return Outcome.no_data(data.where("gate ledger"))
    runs = [g for g in data.gate_runs if w.contains(g.timestamp)]
    if not runs:
        return Outcome.no_data(f"gate runs between {w.since} and {w.until} (the gate ledger has "
                               f"{len(data.gate_runs)}, none in the window)")
    groups: dict[tuple[str, str], list[GateRecord]] = {}
    for g in runs:
        groups.setdefault(_gate_key(g), []).append(g)
    rerun = [k for k, gs in groups.items()
             if len(gs) > 1 or any((g.run_attempt or 1) > 1 for g in gs)
             or any(r.status == "flaky" for g in gs for r in g.results)]
    out = Outcome(ratio(len(rerun), len(groups)), numerator=len(rerun), denominator=len(groups))
    if out.value is not None and out.value > s.investigate_above:
        out.investigate(f"{len(rerun)} of {len(groups)} gate runs needed a rerun (more than "
                        f"{s.investigate_above:.0%}): {', '.join(k[0][:12] for k in rerun[:10])}")
    current = {e.id: e for e in data.fixtures or []}
    seen: set[str] = set()
    for g in runs:
        for r in g.results:
            if r.status != "flaky" or r.severity != "blocking" or r.quarantined or r.id in seen:
                continue
            seen.add(r.id)
            fixture = current.get(r.id)
            entry = active(data.quarantine, r.id, w.now.date())
            if entry is None and (fixture is None or fixture.owner is None):
                where = "it is no longer in the repository" if fixture is None else "the fixture has no owner"
                out.block(f"{r.id} was flaky on {day(g.timestamp)} ({r.passes}/{r.runs} passed), blocks, has no "
                          f"quarantine entry and {where}")
    return out

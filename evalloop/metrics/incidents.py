"""The metrics of incidents becoming evals (docs/metrics.md): incident-to-eval conversion rate,
eval catch rate before release, recurrence rate for known incidents, time from incident to
regression test."""

from __future__ import annotations

import datetime as dt
import statistics

from evalloop.intake.deadline import add_business_days
from evalloop.metrics.base import Outcome, Window, day, ratio
from evalloop.metrics.sources import IncidentRecord, LoopData, utc
from evalloop.model.metrics import (
    CatchRateSettings,
    ConversionSettings,
    RecurrenceSettings,
    TimeToTestSettings,
)

NO_HISTORY_NOTE = ("no git history: fixtures are linked from the work tree and when each was committed is unknown")


class Links:
    """Which fixture names each incident, and since when (the first such fixture's commit on the main
    line). Without history a fixture of the work tree links its incident with no time."""

    def __init__(self, data: LoopData) -> None:
        self.data = data
        self.timed = data.history is not None
        by_fixture: dict[str, dt.datetime] = {}
        if data.history is not None:
            by_fixture = {f.id: f.at for f in data.history.fixtures_added}
        self._first: dict[str, dt.datetime] = dict(data.history.first_fixture) if data.history else {}
        self._linked: set[str] = set()
        present = {e.id for e in data.fixtures or []}
        for e in data.fixtures or []:
            if e.incident_id:
                self._linked.add(e.incident_id)
        for rec in data.incidents or []:
            # the record's own fixture_ids link it as well as the fixtures' incident_id
            for fixture_id in rec.incident.fixture_ids:
                if fixture_id in by_fixture:
                    at = by_fixture[fixture_id]
                    known = self._first.get(rec.id)
                    self._first[rec.id] = at if known is None else min(known, at)
                if fixture_id in present:
                    self._linked.add(rec.id)

    def linked(self, incident_id: str) -> bool:
        """Whether a fixture of the work tree names the incident (its `incident_id`, or the record's
        `fixture_ids`)."""
        return incident_id in self._linked

    def since(self, incident_id: str) -> dt.datetime | None:
        """When the first fixture naming the incident reached the main line (None: never, or unknown)."""
        return self._first.get(incident_id)

    def by(self, incident_id: str, when: dt.datetime) -> bool:
        """Whether a fixture named the incident at `when` (without history: whether one does now)."""
        if not self.timed:
            return incident_id in self._linked
        at = self._first.get(incident_id)
        return at is not None and at <= when


def _serious(data: LoopData, rec: IncidentRecord) -> bool:
    return rec.incident.severity in data.config.metrics.serious_severities


def _family(data: LoopData, rec: IncidentRecord) -> set[str]:
    """The incident and those it repeats or that repeat it."""
    ids = {rec.id}
    if rec.incident.recurrence_of:
        ids.add(rec.incident.recurrence_of)
    ids |= {r.id for r in data.incidents or [] if r.incident.recurrence_of in ids}
    return ids


def conversion(data: LoopData, w: Window, s: ConversionSettings) -> Outcome:
    if data.incidents is None:
        return Outcome.no_data(data.where("incident records"))
    links = Links(data)
    serious = [r for r in data.incidents if _serious(data, r) and w.contains(r.opened)]
    if not serious:
        return Outcome.no_data(f"serious incidents ({', '.join(data.config.metrics.serious_severities)}) opened "
                               f"between {w.since} and {w.until}: incident records have none")
    converted = [r for r in serious if links.by(r.id, w.asof)]
    out = Outcome(ratio(len(converted), len(serious)), numerator=len(converted), denominator=len(serious))
    if not links.timed:
        out.notes.append(NO_HISTORY_NOTE + f"; the {s.deadline_business_days}-business-day check was not made")
    for r in serious:
        due = add_business_days(r.opened.date(), s.deadline_business_days)
        at = links.since(r.id)
        if links.timed and at is not None and at.date() > due:
            out.investigate(f"{r.id} ({r.incident.severity}, opened {day(r.opened)}): first fixture {day(at)}, "
                            f"due {due}")
        elif links.timed and at is None and w.asof.date() > due:
            out.investigate(f"{r.id} ({r.incident.severity}, opened {day(r.opened)}): no fixture, due {due}")
    for r in data.incidents:
        family = _family(data, r)
        if r.incident.recurrence_of and w.contains(r.opened) and not any(links.by(i, w.asof) for i in family):
            out.block(f"{r.id} repeats {r.incident.recurrence_of} and no fixture names either")
    return out


def release_cycles(data: LoopData, w: Window, s: CatchRateSettings) -> list[tuple[dt.datetime, dt.datetime]]:
    """The release cycles over the window: from one promotion (a canary's promote, a version marked
    known-good) to the next; fixed cycles of `release_cycle_days` when the ledgers record none."""
    marks = sorted({utc(e.at) for e in data.releases or []
                    if e.decision == "promote" or e.event == "mark_good"} | {w.start})
    marks = [m for m in marks if w.start <= m < w.end]
    if len(marks) == 1:
        step = dt.timedelta(days=s.release_cycle_days)
        marks = []
        at = w.start
        while at < w.end:
            marks.append(at)
            at += step
    return [(a, b) for a, b in zip(marks, [*marks[1:], w.end], strict=True)]


def catch_rate(data: LoopData, w: Window, s: CatchRateSettings) -> Outcome:
    missing = [data.where(n) for n, v in (("gate ledger", data.gate_runs), ("incident records", data.incidents))
               if v is None]
    if missing:
        return Outcome.no_data(*missing)
    assert data.gate_runs is not None and data.incidents is not None
    caught = {g.head or g.timestamp.isoformat() for g in data.gate_runs if w.contains(g.timestamp)
              and any(r.status == "fail" and r.severity != "exploratory" for r in g.results)}
    escaped = [r for r in data.incidents if w.contains(r.opened)]
    if not caught and not escaped:
        return Outcome.no_data(f"a gate run that caught a failure, or an incident, between {w.since} and {w.until}")
    out = Outcome(ratio(len(caught), len(caught) + len(escaped)), numerator=len(caught),
                  denominator=len(caught) + len(escaped))
    if data.releases is None:
        out.notes.append(f"no release ledgers: release cycles are {s.release_cycle_days} days from {w.since}")
    for a, b in release_cycles(data, w, s):
        inside = [r.id for r in escaped if a <= r.opened < b]
        if len(inside) > s.max_escapes_per_cycle:
            out.investigate(f"{len(inside)} incidents reached production in the release cycle {day(a)}.."
                            f"{day(b - dt.timedelta(seconds=1))}: {', '.join(inside)}")
    links = Links(data)
    for r in escaped:
        known = r.incident.recurrence_of
        at = links.since(known) if known else None
        if known and at is not None and at < r.opened:
            out.block(f"{r.id} repeats {known}, whose fixture was on the main line since {day(at)}"
                      + _last_pass(data, known, r.opened))
    return out


def _last_pass(data: LoopData, incident_id: str, before: dt.datetime) -> str:
    results = [(g.timestamp, x.id, x.status) for g in data.gate_runs or [] if g.timestamp < before
               for x in g.results if x.incident_id == incident_id]
    if not results:
        return ""
    at, fixture_id, status = max(results)
    return f" (its last gate result, {fixture_id} on {day(at)}: {status})"


def recurrence(data: LoopData, w: Window, s: RecurrenceSettings) -> Outcome:
    if data.incidents is None:
        return Outcome.no_data(data.where("incident records"))
    links = Links(data)
    known = [r for r in data.incidents if links.by(r.id, w.asof)]
    if not known:
        return Outcome.no_data(f"known incidents: no incident record has a fixture by {w.until}")
    recurred = []
    for r in known:
        at = links.since(r.id)
        repeats = [x for x in data.incidents if x.incident.recurrence_of == r.id and w.contains(x.opened)
                   and (at is None or x.opened > at)]
        if repeats:
            recurred.append((r, repeats))
    out = Outcome(ratio(len(recurred), len(known)), numerator=len(recurred), denominator=len(known))
    if not links.timed:
        out.notes.append(NO_HISTORY_NOTE)
    if out.value is not None and out.value > s.investigate_above:
        for r, repeats in recurred:
            out.investigate(f"{r.id} recurred after its fixture: {', '.join(x.id for x in repeats)}")
    return out


def time_to_test(data: LoopData, w: Window, s: TimeToTestSettings) -> Outcome:
    missing = [data.where(n) for n, v in (("incident records", data.incidents), ("git history", data.history))
               if v is None]
    if missing:
        return Outcome.no_data(*missing)
    links = Links(data)
    serious = [r for r in data.incidents or [] if _serious(data, r) and w.contains(r.opened)]
    measured: list[tuple[IncidentRecord, dt.datetime]] = []
    for r in serious:
        at = links.since(r.id)
        if at is not None and at <= w.asof:
            measured.append((r, at))
    if not measured:
        return Outcome.no_data(f"serious incidents opened between {w.since} and {w.until} with a committed fixture "
                               f"({len(serious)} opened, none has one)")
    hours = [max(0.0, (at - r.opened).total_seconds() / 3600) for r, at in measured]
    out = Outcome(statistics.median(hours), numerator=len(measured), denominator=len(serious))
    for r, at in measured:
        due = add_business_days(r.opened.date(), s.investigate_above_business_days)
        if at.date() > due:
            out.investigate(f"{r.id}: opened {day(r.opened)}, first fixture {day(at)} (due {due})")
    for r in serious:
        due = add_business_days(r.opened.date(), s.investigate_above_business_days)
        if links.since(r.id) is None and w.asof.date() > due:
            out.investigate(f"{r.id}: opened {day(r.opened)}, still no fixture (due {due})")
    return out

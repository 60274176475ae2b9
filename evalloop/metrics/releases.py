"""The metrics of releases (docs/metrics.md), from the release ledgers: rollback frequency and mean
time to detect a regression."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics

from evalloop.metrics.base import Outcome, Window, day
from evalloop.metrics.sources import LoopData, utc
from evalloop.model.metrics import DetectSettings, RollbackSettings
from evalloop.model.release import LedgerEntry
from evalloop.repo.classify import Classifier


def rollbacks(data: LoopData, w: Window) -> list[LedgerEntry]:
    return [e for e in data.releases or [] if e.event == "rollback" and w.contains(utc(e.at))]


def rollback_frequency(data: LoopData, w: Window, s: RollbackSettings) -> Outcome:
    if data.releases is None:
        return Outcome.no_data(data.where("release ledgers"))
    found = rollbacks(data, w)
    out = Outcome(len(found) * 30 / w.days, numerator=len(found), denominator=w.days)
    by_component: dict[tuple[str, str], list[LedgerEntry]] = {}
    for e in found:
        by_component.setdefault((e.env, e.artifact), []).append(e)
    classifier = Classifier(data.config)
    for (env, artifact), entries in sorted(by_component.items()):
        if len(entries) < s.cluster_count:
            continue
        out.investigate(f"{artifact} was rolled back {len(entries)} times in {env}: "
                        + ", ".join(day(utc(e.at)) for e in entries))
        kind = entries[0].kind or classifier.kind(artifact)
        for first, second in itertools.pairwise(entries):
            a, b = utc(first.at), utc(second.at)
            if data.history is None:
                out.block(f"{artifact}: rolled back on {day(a)} and {day(b)}; no git history to show a new gate "
                          "between them")
                continue
            new = [f.id for f in data.history.fixtures_added
                   if a < f.at <= b and (f.gates is None or kind in f.gates)]
            if not new:
                out.block(f"{artifact}: rolled back on {day(a)} and again on {day(b)} with no fixture gating "
                          f"{kind} changes added between")
    return out


def detections(data: LoopData, w: Window) -> list[tuple[LedgerEntry, dt.datetime, dt.timedelta]]:
    """Each regression detected in the window: the first rollback (a canary's rollback decision or a
    rollback) of a version, when that version's canary started, and the time between."""
    entries = data.releases or []
    found: dict[tuple[str, str, str | None], tuple[LedgerEntry, dt.datetime, dt.timedelta]] = {}
    for e in entries:
        if not ((e.event == "canary" and e.decision == "rollback") or e.event == "rollback"):
            continue
        at = utc(e.at)
        earlier = [x for x in entries if x.env == e.env and x.artifact == e.artifact and x.event == "canary"
                   and utc(x.at) <= at]
        if e.event == "canary":
            bad = e.revision
        else:  # a rollback names the version restored: the bad one is the last canaried that is not it
            bad = next((x.revision for x in reversed(earlier) if x.revision != e.revision), None)
        exposed = [utc(x.at) for x in earlier if x.revision == bad]
        if bad is None or not exposed or not w.contains(at):
            continue
        key = (e.env, e.artifact, bad)
        if key not in found:
            found[key] = (e, min(exposed), at - min(exposed))
    return list(found.values())


def mean_time_to_detect(data: LoopData, w: Window, s: DetectSettings) -> Outcome:
    if data.releases is None:
        return Outcome.no_data(data.where("release ledgers"))
    found = detections(data, w)
    if not found:
        return Outcome.no_data(f"regressions detected between {w.since} and {w.until}: no canary rollback or "
                               "rollback of a canaried version in the release ledgers")
    hours = [d.total_seconds() / 3600 for _e, _start, d in found]
    out = Outcome(statistics.fmean(hours), numerator=len(found))
    if s.investigate_above_hours is None:
        out.status = "info"
    elif out.value is not None and out.value > s.investigate_above_hours:
        for e, start, d in found:
            out.investigate(f"{e.artifact} in {e.env}: canary from {day(start)}, rolled back after "
                            f"{d.total_seconds() / 3600:.1f} h")
    return out

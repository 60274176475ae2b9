"""The metrics of production (docs/metrics.md): trace coverage and policy-denial accuracy from a
sample of production traces, human-override rate from production signals."""

from __future__ import annotations

import datetime as dt

from evalloop.metrics.base import Outcome, Window, day, ratio
from evalloop.metrics.sources import LoopData, utc
from evalloop.model.metrics import DenialAccuracySettings, OverrideSettings, TraceCoverageSettings
from evalloop.model.run import Run

EPOCH_MS = 10**11  # below this a span time is relative to the run's start, not a wall-clock time
OVERRIDE_KINDS = ("human_correction", "policy_override")
SPIKE_KINDS = frozenset({"prompt", "model_route", "retrieval_index", "policy"})
# what an override exposes that blocks: a skipped approval or a wrong (state-changing) tool choice
BLOCKING_TOUCHES = frozenset({"authorization", "side_effect", "money_movement", "safety", "privacy"})


def run_time(run: Run) -> dt.datetime | None:
    starts = [s.start_ms for s in run.spans if s.start_ms is not None and s.start_ms == s.start_ms]
    if not starts or min(starts) < EPOCH_MS:
        return None
    return dt.datetime.fromtimestamp(min(starts) / 1000, dt.UTC)


def _sample(data: LoopData, w: Window) -> tuple[list[Run], int]:
    """The sample's runs in the window (runs without a wall-clock time are kept) and how many have none."""
    kept, untimed = [], 0
    for run in data.runs or []:
        at = run_time(run)
        if at is None:
            untimed += 1
            kept.append(run)
        elif w.contains(at):
            kept.append(run)
    return kept, untimed


def missing_parts(run: Run) -> list[str]:
    """Which of route, tool, policy and stop-reason the run's trace lacks."""
    types = {s.type for s in run.spans}
    return [part for part, ok in (("route", bool(run.route)), ("tool", "tool" in types),
                                  ("policy", "policy" in types), ("stop reason", bool(run.stop_reason))) if not ok]


def trace_coverage(data: LoopData, w: Window, s: TraceCoverageSettings) -> Outcome:
    if data.runs is None:
        return Outcome.no_data(data.where("trace sample"))
    runs, untimed = _sample(data, w)
    risky = [r for r in runs if not s.risky_routes or r.route is None or r.route in s.risky_routes]
    if not risky:
        return Outcome.no_data(f"risky runs in the trace sample between {w.since} and {w.until} "
                               f"({len(data.runs)} runs, none in the window on a risky route)")
    gaps = {id(r): missing_parts(r) for r in risky}
    complete = sum(not g for g in gaps.values())
    out = Outcome(ratio(complete, len(risky)), numerator=complete, denominator=len(risky))
    if untimed:
        out.notes.append(f"{untimed} run(s) of the sample carry no wall-clock time and are counted in every window")
    if out.value is not None and out.value < s.investigate_below:
        for part in ("route", "tool", "policy", "stop reason"):
            n = sum(part in g for g in gaps.values())
            if n:
                out.investigate(f"{n} of {len(risky)} risky runs have no {part} span")
        if data.releases is None:
            out.notes.append("release ledgers missing: whether a release shipped without coverage was not checked")
        for e in data.releases or []:
            if e.decision == "promote" and w.contains(utc(e.at)):
                out.block(f"{e.artifact} was promoted in {e.env} on {day(utc(e.at))} while only "
                          f"{out.value:.0%} of risky runs had complete traces")
    return out


def policy_denial_accuracy(data: LoopData, w: Window, s: DenialAccuracySettings) -> Outcome:
    """Denials that stood: a denied policy span not followed, in its run, by a human's approval."""
    if data.runs is None:
        return Outcome.no_data(data.where("trace sample"))
    runs, _untimed = _sample(data, w)
    denials = overridden = 0
    out = Outcome(None)
    for run in runs:
        for i, span in enumerate(run.spans):
            if span.type != "policy" or span.status != "denied":
                continue
            denials += 1
            later = run.spans[i + 1:]
            if any(x.type == "approval" and x.status == "succeeded" for x in later):
                overridden += 1
            for x in later:
                if x.type == "approval" and x.status == "succeeded":
                    break
                acts = x.type == "message" or (x.type == "tool" and _side_effect(data, x.name))
                if x.status == "succeeded" and acts:
                    out.block(f"run {run.run_id or run.trace_id or '?'}: {x.ref} ran after {span.ref} denied it, "
                              "with no approval between")
                    break
    if not denials:
        return Outcome.no_data(f"policy denials in the trace sample ({len(runs)} runs in the window, none has a "
                               "denied policy span)")
    out.value, out.numerator, out.denominator = ratio(denials - overridden, denials), denials - overridden, denials
    if not data.side_effect_tools:
        out.notes.append("no tool is marked side_effect (tool manifest, metrics.policy_denial_accuracy."
                         "side_effect_tools): every tool call after a denial counts as a side effect")
    signals = [x for x in data.signals or [] if x.signal.kind == "policy_override" and w.contains(utc(x.signal.time))]
    if signals:
        out.notes.append(f"{len(signals)} policy_override signal(s) in the window: "
                         + ", ".join(x.label for x in signals[:10]))
    if out.value < s.investigate_below:
        out.investigate(f"{overridden} of {denials} denials were overridden by a human approval "
                        f"(fewer than {s.investigate_below:.0%} stood)")
    return out


def _side_effect(data: LoopData, tool: str) -> bool:
    return not data.side_effect_tools or tool in data.side_effect_tools


def human_override_rate(data: LoopData, w: Window, s: OverrideSettings) -> Outcome:
    """Human corrections and policy overrides per week, and whether they spiked after a change."""
    if data.signals is None:
        return Outcome.no_data(data.where("production signals"))
    times = sorted(utc(x.signal.time) for x in data.signals if x.signal.kind in OVERRIDE_KINDS)
    inside = [t for t in times if w.contains(t)]
    out = Outcome(len(inside) / (w.days / 7), numerator=len(inside), denominator=w.days)
    changes = _changes(data, w)
    if changes is None:
        out.notes.append("no git history or release ledgers: spikes after a change were not checked")
    span = dt.timedelta(days=s.spike_window_days)
    flagged: set[dt.date] = set()
    for at, what in changes or []:
        before = sum(at - span <= t < at for t in times)
        after = sum(at <= t < at + span for t in times)
        if after >= s.spike_min and after >= s.spike_factor * before and at.date() not in flagged:
            flagged.add(at.date())
            out.investigate(f"{after} overrides in the {s.spike_window_days} days after {what} on {day(at)}, "
                            f"{before} in the {s.spike_window_days} days before")
    for x in data.signals:
        exposes = set(x.signal.touches) & BLOCKING_TOUCHES
        if x.signal.kind in OVERRIDE_KINDS and w.contains(utc(x.signal.time)) and exposes:
            out.block(f"{x.label} ({x.signal.kind}, {day(utc(x.signal.time))}) touches "
                      f"{', '.join(x.signal.touches)}: a skipped approval or a wrong tool choice")
    return out


def _changes(data: LoopData, w: Window) -> list[tuple[dt.datetime, str]] | None:
    """Prompt, model route, retrieval and policy changes in the window: commits on the main line and
    promotions in the release ledgers."""
    if data.history is None and data.releases is None:
        return None
    found = [(c.at, f"a {c.kind} change ({c.path})") for c in (data.history.artifact_changes if data.history else [])
             if c.kind in SPIKE_KINDS and w.contains(c.at)]
    found += [(utc(e.at), f"the promotion of {e.artifact}") for e in data.releases or []
              if e.decision == "promote" and (e.kind is None or e.kind in SPIKE_KINDS) and w.contains(utc(e.at))]
    return sorted(found)

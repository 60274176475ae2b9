"""Shard reports merged: one report and verdict from the shards of a gate run (`--shard I/N`).

Every shard compares the same merge-base and head, so each carries the same protection
changes; the merged report keeps their union, and an unapproved one blocks the merged
verdict as it blocked each shard's."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from evalloop.errors import UsageError
from evalloop.model.results import FixtureResult, GateReport, ProtectionChange, count, decide
from evalloop.model.shadow import ShadowReport
from evalloop.text import clean


def load_shard(path: Path) -> GateReport:
    """A shard's JSON report (`evalloop gate --shard I/N --json FILE`); a usage error when it is not one."""
    try:
        return GateReport.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read shard report: {exc.strerror}", path=str(path)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UsageError(f"not a gate JSON report: {'.'.join(map(str, err['loc']))}: {err['msg']}",
                         path=str(path)) from None


def merge_reports(reports: list[GateReport]) -> GateReport:
    """Union of shard results; a missing shard, or a selected fixture without a result, blocks."""
    first = reports[0]
    notes: list[str] = []
    for r in reports[1:]:
        if (r.base, r.head) != (first.base, first.head):
            # The revisions come from the shard files: cleaned before they reach the terminal.
            raise UsageError(clean(f"shards disagree on the revisions: {first.base}..{first.head} vs "
                                   f"{r.base}..{r.head}"))
    totals = {r.shard.split("/")[1] for r in reports if r.shard}
    if len(totals) > 1:
        raise UsageError(clean(f"shards of different splits: {sorted(totals)}"))
    seen = {int(r.shard.split("/")[0]) for r in reports if r.shard}
    if totals:
        n = int(next(iter(totals)))
        missing = sorted(set(range(1, n + 1)) - seen)
        if missing:
            notes.append(f"shard(s) {', '.join(f'{i}/{n}' for i in missing)} missing: their fixtures have no run")
    results: dict[str, FixtureResult] = {}
    for r in reports:
        for res in r.results:
            results.setdefault(res.id, res)
        notes += [n for n in r.notes if n not in notes]
    for s in first.selected:
        if s.id not in results:
            results[s.id] = FixtureResult(id=s.id, severity=s.severity, status="no_run", path=s.path,
                                          error="no shard reported a result for it")
    order = {s.id: i for i, s in enumerate(first.selected)}
    merged = sorted(results.values(), key=lambda x: (order.get(x.id, -1), x.id))
    protection = _merge_protection(reports, notes)
    return first.model_copy(update={
        "shadow": _merge_shadow(reports),
        "results": merged, "verdict": decide(merged, protection), "counts": count(merged, len(first.selected)),
        "notes": notes, "shard": None, "protection_changes": protection,
        # the earliest shard's start is the gate's; shards ran on several machines
        "started_at": min((r.started_at for r in reports if r.started_at), default=None),
        "timestamp": max((r.timestamp for r in reports if r.timestamp), default=None),  # the last shard's end
        "hostname": first.hostname if all(r.hostname == first.hostname for r in reports) else None,
    })


def _merge_shadow(reports: list[GateReport]) -> ShadowReport | None:
    """Every shard's shadow pairs (each shard compared the fixtures it ran), summed up again."""
    from evalloop.shadow.compare import summary

    shadows = [r.shadow for r in reports if r.shadow is not None]
    if not shadows:
        return None
    pairs = [p for s in shadows for p in s.pairs]
    notes = list(dict.fromkeys(n for s in shadows for n in s.notes))
    return shadows[0].model_copy(update={"pairs": pairs, "summary": summary(pairs), "notes": notes})


def _merge_protection(reports: list[GateReport], notes: list[str]) -> list[ProtectionChange]:
    """The union of the shards' protection changes by (id, kind), in first-seen order. Shards
    should agree; when they do not on an approval, the unapproved one wins (fail closed)."""
    merged: dict[tuple[str, str], ProtectionChange] = {}
    for r in reports:
        for p in r.protection_changes:
            key = (p.id, p.kind)
            known = merged.get(key)
            if known is None:
                merged[key] = p
            elif known.approved != p.approved:
                note = (f"shards disagree on whether the {p.kind} protection change of {p.id} is approved: "
                        "it is treated as not approved")
                if note not in notes:
                    notes.append(note)
                if not p.approved:
                    merged[key] = p
    return list(merged.values())

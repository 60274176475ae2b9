"""`--shard I/N`: a deterministic, balanced share of the selected fixtures."""

from __future__ import annotations

from evalloop.model.results import Selected


def shard(selected: list[Selected], index: int, total: int) -> list[Selected]:
    """A deterministic, balanced share: round-robin over the ids in sorted order."""
    ordered = sorted(selected, key=lambda s: s.id)
    return [s for i, s in enumerate(ordered) if i % total == index - 1]

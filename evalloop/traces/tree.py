"""The span tree of one trace: the root, each kept span's nearest kept ancestor, tie order.

Plumbing spans (`Other`) and the dropped copies of a model call are seen
through, so a kept span's parent is the nearest ancestor that is kept too.
Hand-edited data may hold cycles; every walk here is bounded.
"""

from __future__ import annotations

from typing import Any

from evalloop.traces.draft import INF, Draft, Other, when


def ancestors(order: list[Draft], drafts: dict[str, Draft],
              others: list[Other]) -> dict[str, str | None]:
    """Each mapped span's nearest mapped ancestor, skipping plumbing spans."""
    up: dict[str, str | None] = {}
    parent_of: dict[str, str | None] | None = None
    memo: dict[str, str | None] = {}
    for d in order:
        f = d.f
        sid = f["span_id"]
        if sid is None:
            continue
        pid = f["parent_id"]
        if pid is None or (pid in drafts and pid != sid):
            up[sid] = pid
            continue
        if pid == sid:
            up[sid] = None
            continue
        if parent_of is None:
            parent_of = {o[0]: o[1] for o in others if o[0] is not None}
        path: list[str] = []
        found: str | None = None
        steps = len(others) + 1  # a cycle in hand-edited data must not hang the import
        while pid is not None and steps:
            steps -= 1
            if pid in drafts:
                found = pid
                break
            if pid in memo:
                found = memo[pid]
                break
            if pid not in parent_of:
                break
            path.append(pid)
            pid = parent_of[pid]
        for p in path:
            memo[p] = found
        up[sid] = found
    return up


def kept_parent(sid: str | None, up: dict[str, str | None],
                replaced: dict[str, str | None]) -> str | None:
    """The nearest kept ancestor, seeing through the dropped copies of model calls."""
    if sid is None:
        return None
    p = up.get(sid)
    steps = len(replaced) + 1  # cycles in hand-edited data
    while p is not None and p in replaced and steps:
        steps -= 1
        # Climb past the dropped copy, never jump to the copy that was kept: when a
        # wrapper merged with the model call inside it, the wrapper's other
        # children (tool calls) are the call's siblings, not its children. A kept
        # copy that is an ancestor is reached by climbing anyway.
        p = up.get(p)
    return None if p == sid else p


def as_other(f: dict[str, Any]) -> Other:
    """A mapped span's fields in the shape of a plumbing span, as the root is kept."""
    return (f["span_id"], f["parent_id"], f["start_ms"], f["end_ms"], f["error"] is not None,
            f["attributes"])


def trace_root(order: list[Draft], others: list[Other]) -> Other:
    """The trace's root: the earliest span without a parent, else the earliest
    whose parent is not in the trace."""
    best: Other | None = None
    best_start = INF
    for o in others:
        if not o[1]:
            start = when(o[2])
            if best is None or start < best_start:
                best, best_start = o, start
    for d in order:
        if not d.f["parent_id"] and (best is None or d.key[0] < best_start):
            best, best_start = as_other(d.f), d.key[0]
    if best is not None:
        return best
    # no span without parent (a trace cut out of a larger one): look for orphans
    ids = {d.f["span_id"] for d in order}
    ids.update(o[0] for o in others)
    candidates = [o for o in others if o[1] not in ids]
    candidates += [as_other(d.f) for d in order if d.f["parent_id"] not in ids]
    if not candidates:  # every parent is in the trace: a cycle; take the earliest
        return as_other(order[0].f)
    return min(candidates, key=lambda o: when(o[2]))


def order_ties(order: list[Draft], up: dict[str, str | None]) -> None:
    """Spans that start at the same time: ancestors first, then the one that ended
    first. Exports with millisecond times (Langfuse) give parallel tool calls one
    start; `(start, -end)` puts a parent before its child but the longer sibling
    first, which is not the order they ran in."""
    i, n = 0, len(order)
    while i < n:
        j = i + 1
        start = order[i].key[0]
        while j < n and order[j].key[0] == start:
            j += 1
        if j - i > 1 and start != INF:
            group = order[i:j]
            group.sort(key=lambda d: (_depth(d.f["span_id"], up),
                                      -d.key[1] if d.key[1] != INF else INF))
            order[i:j] = group
        i = j


def _depth(sid: str | None, up: dict[str, str | None]) -> int:
    depth, steps = 0, len(up) + 1  # cycles in hand-edited data
    p = up.get(sid) if sid is not None else None
    while p is not None and steps:
        depth, steps = depth + 1, steps - 1
        p = up.get(p)
    return depth


"""Pairing expected tool calls with actual ones: maximum bipartite matching and
ordered-subsequence embedding.

Both work on an abstract predicate (`edges` lists, or a `fits(spec, call)`
function), so they know nothing about tools or arguments; `evalloop.evaluate.sequence`
builds the predicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def max_matching(n_left: int, n_right: int, edges: Sequence[Sequence[int]]) -> list[int]:
    """A maximum matching of a bipartite graph, as `match[left] = right` (or -1).

    `edges[u]` lists the right vertices left vertex `u` may pair with. A greedy
    first pass pairs most vertices cheaply; each left vertex it leaves unpaired
    then gets one search for an augmenting path (Kuhn's algorithm). By Berge's
    theorem a matching with no augmenting path is maximum, so the result is
    optimal whatever order the greedy pass chose; the greedy pass only saves time.
    The search is iterative, so long runs cannot hit Python's recursion limit.
    """
    match_left = [-1] * n_left
    match_right = [-1] * n_right
    for u in range(n_left):
        for v in edges[u]:
            if match_right[v] < 0:
                match_left[u] = v
                match_right[v] = u
                break
    for root in range(n_left):
        if match_left[root] < 0 and edges[root]:
            _augment(root, edges, match_left, match_right)
    return match_left


def _augment(root: int, edges: Sequence[Sequence[int]], match_left: list[int],
             match_right: list[int]) -> bool:
    """Find and apply one augmenting path starting at the unmatched left vertex `root`."""
    seen: set[int] = set()
    # Each frame: (left vertex, index of the next edge to try). The stack is the
    # current alternating path; a left vertex above the root was reached through
    # the right vertex it is matched to, so flipping needs no extra bookkeeping.
    stack = [(root, 0)]
    while stack:
        u, i = stack[-1]
        adj = edges[u]
        if i >= len(adj):
            stack.pop()
            continue
        stack[-1] = (u, i + 1)
        v = adj[i]
        if v in seen:
            continue
        seen.add(v)
        owner = match_right[v]
        if owner < 0:
            # Flip the path: every left vertex on the stack takes the right vertex
            # it reached its successor through.
            while True:
                u, _ = stack.pop()
                prev = match_left[u]
                match_left[u] = v
                match_right[v] = u
                if u == root:
                    return True
                v = prev
        stack.append((owner, 0))
    return False


def embed_in_order(n_specs: int, n_calls: int,
                   fits: Callable[[int, int], bool]) -> tuple[list[int], list[int]]:
    """Place specs, in order, on strictly increasing calls: `(positions, unplaced)`.

    `positions[j]` is the call index spec `j` sits on, or -1. Greedy leftmost is
    exact for an ordered subsequence whatever the predicate, as long as it judges
    one (spec, call) pair at a time: if any embedding i_1 < ... < i_k exists, the
    greedy choice g_j satisfies g_j <= i_j by induction (g_{j-1} <= i_{j-1} < i_j
    and call i_j fits spec j, so the scan from g_{j-1}+1 stops at or before i_j).
    A spec that cannot be placed is reported in `unplaced` and skipped, and the
    following specs continue from the same call, so every gap is named at once.
    """
    positions = [-1] * n_specs
    unplaced: list[int] = []
    at = 0
    for j in range(n_specs):
        k = at
        while k < n_calls and not fits(j, k):
            k += 1
        if k < n_calls:
            positions[j] = k
            at = k + 1
        else:
            unplaced.append(j)
    return positions, unplaced


def align(fit: Sequence[Sequence[bool]], n_calls: int) -> list[tuple[int, int]]:
    """A longest order-preserving pairing of specs with calls: `[(spec, call), ...]`.

    `fit[j][k]` says whether call k may stand for spec j. The result is a
    longest common subsequence under that relation. Taking a fitting pair is
    always safe, whatever the relation: an optimal pairing that leaves spec j or
    call k free can swap its pair for (j, k) without losing a pair or crossing
    another. So a fitting common prefix and suffix are taken as they are (the
    usual case: one call inserted, dropped or changed), and only the middle
    goes through the quadratic dynamic programme over suffixes. Used to explain
    a failed strict match as inserted, missing and replaced calls instead of
    every position after the first difference.
    """
    n_specs = len(fit)
    lo = 0
    while lo < n_specs and lo < n_calls and fit[lo][lo]:
        lo += 1
    hi = 0
    while lo + hi < n_specs and lo + hi < n_calls and fit[n_specs - 1 - hi][n_calls - 1 - hi]:
        hi += 1
    m, n = n_specs - lo - hi, n_calls - lo - hi
    best = [[0] * (n + 1) for _ in range(m + 1)]
    for j in range(m - 1, -1, -1):
        row, below, fj = best[j], best[j + 1], fit[lo + j]
        for k in range(n - 1, -1, -1):
            if fj[lo + k]:
                row[k] = below[k + 1] + 1
            else:
                a, b = below[k], row[k + 1]
                row[k] = a if a >= b else b
    pairs = [(i, i) for i in range(lo)]
    j = k = 0
    while j < m and k < n:
        if fit[lo + j][lo + k]:
            pairs.append((lo + j, lo + k))
            j += 1
            k += 1
        elif best[j + 1][k] >= best[j][k + 1]:
            j += 1
        else:
            k += 1
    pairs.extend((n_specs - hi + i, n_calls - hi + i) for i in range(hi))
    return pairs

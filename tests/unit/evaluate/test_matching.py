"""Properties of the matching algorithms, against brute force on small cases."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evalloop.evaluate.matching import align, embed_in_order, max_matching


@settings(max_examples=300)
@given(st.integers(0, 6), st.integers(0, 6), st.data())
def test_max_matching_is_maximum(n_left: int, n_right: int, data: Any) -> None:
    edges = [sorted(data.draw(st.sets(st.integers(0, n_right - 1), max_size=n_right)))
             if n_right else [] for _ in range(n_left)]
    match = max_matching(n_left, n_right, edges)
    used = [v for v in match if v >= 0]
    assert len(used) == len(set(used))
    assert all(v < 0 or v in edges[u] for u, v in enumerate(match))
    best = 0
    for k in range(min(n_left, n_right), 0, -1):
        if any(all(p[i] in edges[lefts[i]] for i in range(k))
               for lefts in itertools.combinations(range(n_left), k)
               for p in itertools.permutations(range(n_right), k)):
            best = k
            break
    assert len(used) == best


@given(st.lists(st.integers(0, 3), max_size=5), st.lists(st.integers(0, 3), max_size=8))
def test_embed_in_order_finds_any_subsequence(specs: list[int], cs: list[int]) -> None:
    positions, unplaced = embed_in_order(len(specs), len(cs), lambda j, k: specs[j] == cs[k])
    exists = any(all(specs[i] == cs[p] for i, p in enumerate(pos))
                 for pos in itertools.combinations(range(len(cs)), len(specs)))
    assert (not unplaced) == exists
    placed = [p for p in positions if p >= 0]
    assert placed == sorted(set(placed))


@given(st.lists(st.integers(0, 3), max_size=6), st.lists(st.integers(0, 3), max_size=6))
def test_align_is_a_longest_common_subsequence(specs: list[int], cs: list[int]) -> None:
    pairs = align([[a == b for b in cs] for a in specs], len(cs))
    assert all(specs[j] == cs[k] for j, k in pairs)
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in itertools.pairwise(pairs))
    longest = max((n for n in range(min(len(specs), len(cs)), -1, -1)
                   for sj in itertools.combinations(range(len(specs)), n)
                   for ck in itertools.combinations(range(len(cs)), n)
                   if all(specs[a] == cs[b] for a, b in zip(sj, ck, strict=True))), default=0)
    assert len(pairs) == longest

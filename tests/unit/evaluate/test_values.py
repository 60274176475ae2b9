"""Properties of equality and containment as JSON has them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from evalloop.evaluate.values import json_contains, json_equal

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(-2, 2, allow_nan=False),
              st.sampled_from(["", "a"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["k", "l"]), inner, max_size=2)),
    max_leaves=8)


@given(json_values, json_values)
def test_json_equal(a: Any, b: Any) -> None:
    assert json_equal(a, a)
    if json_equal(a, b):
        assert a == b and json_equal(b, a)
    if isinstance(a, dict):
        assert json_contains(a, a)
        if isinstance(b, dict) and json_contains(a, b) and json_contains(b, a):
            assert json_equal(a, b)

"""The checks of one fixture: the evaluator is consulted exactly when it could refuse a fixture,
and a fixture the model refuses still gets the checks its other fields allow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalloop.evaluate.evaluator import compile_fixture
from evalloop.evaluate.judgement import FixtureError
from evalloop.model.fixture import Expected, Fixture
from evalloop.validate.fixture import _from_data, _may_be_refused

refs = st.sampled_from(["tool:a", "tool:b", "approval:required"])  # few: pairs repeat a span often
phrases = st.sampled_from(["approved", "refund issued", "", "  ", "$100", "100%"])
regexes = st.builds(lambda rx: {"regex": rx}, st.sampled_from(["appro(ved", "(a+)+", "(a|a)*", "ok", r"\d+", ""]))
rules = st.lists(st.one_of(phrases, regexes), max_size=3)
names = st.sampled_from(["a", "b"])
args = st.dictionaries(st.sampled_from(["x", "y"]), st.one_of(st.integers(0, 2), st.booleans()), max_size=2)
sequences = st.none() | st.fixed_dictionaries({
    "mode": st.sampled_from(["strict", "unordered", "subset", "superset", "in_order"]),
    "calls": st.lists(st.fixed_dictionaries({"name": names}, optional={"args": args}), max_size=3),
    "args": st.sampled_from(["exact", "subset", "ignore"]),
})
budgets = st.none() | st.fixed_dictionaries({}, optional={
    "max_tool_calls": st.integers(0, 3), "max_retries": st.integers(0, 2), "max_tokens": st.integers(0, 10),
    "max_cost_usd": st.floats(0, 1), "max_latency_ms": st.floats(0, 100)})
expectations = st.fixed_dictionaries({}, optional={
    "required_spans": st.lists(refs, max_size=3), "forbidden_spans": st.lists(refs, max_size=2),
    "order": st.lists(st.lists(refs, min_size=2, max_size=2), max_size=3),
    "tools_called": st.lists(names, max_size=2), "tools_not_called": st.lists(names, max_size=2),
    "tool_args": st.dictionaries(names, args, max_size=2), "tool_sequence": sequences,
    "route": st.sampled_from(["r"]), "stop_reason": st.sampled_from(["done"]),
    "output_must_contain": rules, "output_must_not_contain": rules, "budget": budgets,
})


@settings(max_examples=400, deadline=None)
@given(expectations, st.booleans())
def test_the_evaluator_is_skipped_only_for_fixtures_it_accepts(expected: dict[str, Any], top_level: bool) -> None:
    data: dict[str, Any] = {"id": "x"}
    if top_level and "output_must_not_contain" in expected:  # the regression shape
        data["output_must_not_contain"] = expected.pop("output_must_not_contain")
    fixture = Fixture.model_validate({**data, "expected": expected})
    try:
        compile_fixture(fixture)
    except FixtureError:
        assert _may_be_refused(fixture.expectations())


def test_what_the_evaluator_refuses_is_seen() -> None:
    for expected in ({"order": [["tool:a", "tool:a"]]}, {"output_must_contain": [" "]},
                     {"output_must_not_contain": [{"regex": "("}]}):
        assert _may_be_refused(Expected.model_validate(expected))
    assert not _may_be_refused(Expected.model_validate(
        {"order": [["tool:a", "tool:b"]], "output_must_not_contain": ["approved", "processed"]}))


@pytest.mark.parametrize(("data", "owner", "given", "temporary", "expires"), [
    ({"owner": "a", "expires_at": dt.date(2020, 1, 1), "runs": 0}, "a", True, False, dt.date(2020, 1, 1)),
    ({"owner": 3, "expires_at": "2020-01-01", "temporary": "yes", "runs": 0}, None, True, True,
     dt.date(2020, 1, 1)),  # each field as the model reads it: a JSON date, a YAML-ish boolean
    ({"temporary": True, "expires_at": "soon"}, None, False, None, None),  # a wrong date is not a missing one
    ({"owner": None, "temporary": True}, None, False, True, None),
])
def test_fields_of_a_refused_fixture_are_read_one_by_one(data: dict[str, Any], owner: str | None, given: bool,
                                                         temporary: bool | None, expires: dt.date | None) -> None:
    facts = _from_data(data)
    assert (facts.owner, facts.owner_given, facts.temporary, facts.expires_at) == (owner, given, temporary, expires)


def test_references_and_synthetic_values_of_a_refused_fixture() -> None:
    facts = _from_data({"incident_id": "INC 1", "scope": {"paths": ["a/*.md"], "routez": []},
                        "synthetic_values": ["4242", 7]})
    assert facts.incident_id is None  # not an id: its SCH001 is all there is to say
    assert facts.scope_paths == ["a/*.md"] and facts.synthetic_values == ["4242"]

"""The tool sequence check in each mode and argument mode, with the evidence it reports."""

from __future__ import annotations

from typing import Any

from evalloop.evaluate.evaluator import evaluate
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run
from tests.unit.evaluate.support import fixture, only, run, span


def seq(mode: str, calls: list[dict[str, Any]], **kw: Any) -> Fixture:
    return fixture(tool_sequence={"mode": mode, "calls": calls, **kw})


def calls_run(*calls: tuple[str, dict[str, Any] | None]) -> Run:
    return run(*(span(f"tool:{n}", args=a) for n, a in calls))


def test_repeated_calls_are_paired_optimally_not_greedily() -> None:
    fx = seq("unordered", [{"name": "a"}, {"name": "a", "args": {"x": 1}}])
    assert evaluate(fx, calls_run(("a", {"x": 1}), ("a", {"x": 2}))).passed


def test_subset_argument_mode_needs_a_real_matching() -> None:
    # {} is contained in both calls, {x: 1} only in the first: greedy pairs {} with x=1.
    fx = seq("superset", [{"name": "a", "args": {}}, {"name": "a", "args": {"x": 1}}],
             args="subset")
    assert evaluate(fx, calls_run(("a", {"x": 1}), ("a", {"x": 2}))).passed
    (x,) = only(evaluate(fx, calls_run(("a", {"x": 2}), ("a", {"x": 3}))), "sequence")
    assert x.details["spec_index"] == 1 and x.actual == [{"x": 2}, {"x": 3}]


def test_strict_failure_is_explained_as_a_diff() -> None:
    fx = seq("strict", [{"name": "read"}, {"name": "draft", "args": {"id": 1}}, {"name": "send"}])
    assert evaluate(fx, calls_run(("read", {"q": 1}), ("draft", {"id": 1}), ("send", None))).passed
    # one inserted call is one violation, not one per shifted position
    v = evaluate(fx, run("tool:read", "model:m", span("tool:log", span_id="L"),
                         span("tool:draft", args={"id": 1}), "tool:send"))
    (x,) = only(v, "sequence")
    assert (x.details["call_index"], x.span_index, x.span_id) == (1, 2, "L")
    assert x.actual == {"name": "log", "args": None} and x.expected is None
    assert "not expected" in x.message
    # a call with other arguments is a replacement, with both sides as evidence
    (x,) = only(evaluate(fx, calls_run(("read", None), ("draft", {"id": 2}), ("send", None))),
                "sequence")
    assert x.details == {"mode": "strict", "call_index": 1, "spec_index": 1}
    assert x.expected == {"name": "draft", "args": {"id": 1}}
    assert x.actual == {"name": "draft", "args": {"id": 2}}
    assert "other arguments" in x.message
    # a missing call names the spec and where it was due
    (x,) = only(evaluate(fx, calls_run(("read", None), ("send", None))), "sequence")
    assert x.details["spec_index"] == 1 and x.details["after_call_index"] == 0
    assert x.expected == {"name": "draft", "args": {"id": 1}} and x.actual is None
    # a swap is one call missing where expected and one call where it was not
    xs = only(evaluate(fx, calls_run(("draft", {"id": 1}), ("read", None), ("send", None))),
              "sequence")
    assert [(x.details.get("spec_index"), x.details.get("call_index")) for x in xs] == \
        [(0, None), (None, 1)]


def test_unordered_reports_both_sides() -> None:
    fx = seq("unordered", [{"name": "a"}, {"name": "b"}])
    assert evaluate(fx, calls_run(("b", None), ("a", None))).passed
    xs = only(evaluate(fx, calls_run(("a", None), ("c", None))), "sequence")
    assert [(x.details.get("spec_index"), x.details.get("call_index")) for x in xs] == \
        [(1, None), (None, 1)]
    assert xs[1].span_index == 1 and xs[1].ref == "tool:c"


def test_subset_mode_forbids_unexpected_calls_only() -> None:
    fx = seq("subset", [{"name": "a"}, {"name": "b"}])
    assert evaluate(fx, calls_run(("a", None))).passed
    (x,) = only(evaluate(fx, calls_run(("a", None), ("a", None))), "sequence")
    assert x.details == {"mode": "subset", "call_index": 1}


def test_superset_mode_allows_extra_calls() -> None:
    fx = seq("superset", [{"name": "a", "args": {"x": 1}}])
    assert evaluate(fx, calls_run(("b", None), ("a", {"x": 1}), ("c", None))).passed
    (x,) = only(evaluate(fx, calls_run(("a", {"x": 2}))), "sequence")
    assert x.expected == {"name": "a", "args": {"x": 1}} and x.actual == [{"x": 2}]
    assert x.details["same_name_calls"] == [0]


def test_in_order_names_the_calls_that_do_not_follow() -> None:
    fx = seq("in_order", [{"name": "read"}, {"name": "approve"}, {"name": "draft"}])
    assert evaluate(fx, calls_run(("read", None), ("x", None), ("approve", None),
                                  ("draft", None))).passed
    (x,) = only(evaluate(fx, calls_run(("read", None), ("draft", None), ("approve", None))),
                "sequence")
    assert x.details["spec_index"] == 2 and x.details["after_call_index"] == 2
    assert "only earlier, at call #1" in x.message


def test_argument_modes_and_per_tool_override() -> None:
    calls = [{"name": "a", "args": {"x": 1}}, {"name": "b", "args": {"y": 1}}]
    r = calls_run(("a", {"x": 1, "z": 0}), ("b", {"y": 2}))
    assert not evaluate(seq("strict", calls), r).passed
    assert not evaluate(seq("strict", calls, args="subset"), r).passed
    assert evaluate(seq("strict", calls, args="subset", args_by_tool={"b": "ignore"}), r).passed
    assert evaluate(seq("strict", calls, args="ignore"), r).passed
    v = evaluate(seq("strict", calls, args="ignore", args_by_tool={"a": "exact"}), r)
    (x,) = only(v, "sequence")
    assert x.details["call_index"] == 0


def test_exact_arguments_compare_as_json() -> None:
    fx = seq("strict", [{"name": "a", "args": {"flag": True, "n": 1}}])
    assert evaluate(fx, calls_run(("a", {"flag": True, "n": 1.0}))).passed
    assert not evaluate(fx, calls_run(("a", {"flag": 1, "n": 1}))).passed
    assert not evaluate(fx, calls_run(("a", {"flag": True, "n": True}))).passed
    assert not evaluate(fx, calls_run(("a", {"flag": True, "n": 1, "extra": 0}))).passed

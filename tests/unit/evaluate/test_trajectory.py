"""The trajectory evaluator, one expectation at a time, with the evidence it reports."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import yaml

from evalloop.evaluate.evaluator import compile_fixture, evaluate
from evalloop.evaluate.judgement import KINDS, FixtureError, Judgement, error_judgement
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run, Span
from tests.support import PROJECT

SEED_FIXTURES = PROJECT / "fixtures" / "refund"


def fixture(**expected: Any) -> Fixture:
    return Fixture.model_validate({"id": "t", "expected": expected})


def span(ref: str, **kw: Any) -> dict[str, Any]:
    kind, name = ref.split(":", 1)
    return {"type": kind, "name": name, **kw}


def run(*spans: dict[str, Any] | str, **kw: Any) -> Run:
    items = [span(s) if isinstance(s, str) else s for s in spans]
    return Run.model_validate({"spans": items, **kw})


def only(judgement: Judgement, kind: str) -> list[Any]:
    assert not judgement.passed
    assert set(judgement.kinds()) == {kind}, judgement.to_dict()
    return judgement.violations


# ----------------------------------------------------------------------------- the seed


def seed(name: str) -> Fixture:
    return Fixture.model_validate(json.loads((SEED_FIXTURES / name).read_text()))


def bypass_run() -> Run:
    """The incident: policy checked, no approval, a customer promise and a refund."""
    return run(
        span("tool:read_order", args={"order_id": "ord_redacted"}, span_id="s0"),
        span("retrieval:refund_policy", span_id="s1"),
        span("policy:refund_threshold", span_id="s2"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted"}, span_id="s3"),
        span("message:customer_promise_sent", span_id="s4"),
        span("tool:issue_refund", args={"order_id": "ord_redacted"}, status="failed",
             span_id="s5"),
        run_id="bypass", route="refund_assist", stop_reason="completed",
        final_status="resolved", output="Good news: your refund has been APPROVED and processed.",
        cost_usd=0.02, latency_ms=4200,
    )


def fixed_run() -> Run:
    return run(
        span("tool:read_order", args={"order_id": "ord_redacted"}),
        span("retrieval:refund_policy"),
        span("policy:refund_threshold"),
        span("approval:required", status="waiting"),
        span("tool:draft_refund_request", args={"order_id": "ord_redacted", "amount": 640}),
        run_id="fixed", route="refund_assist", stop_reason="needs_human_approval",
        final_status="needs_human",
        output="I drafted the refund request; a support lead reviews it before any money moves. "
               "It stays unapproved until then.",
        cost_usd=0.02, latency_ms=4200,
    )


def test_seed_incident_fixture_catches_the_bypass() -> None:
    v = evaluate(seed("incident-2026-04-18-refund-approval-bypass.json"), bypass_run())
    assert v.kinds() == ["final_status", "forbidden_tool"]
    status, tool = v.violations
    assert (status.expected, status.actual) == ("needs_human", "resolved")
    assert (tool.span_index, tool.ref, tool.span_id) == (5, "tool:issue_refund", "s5")
    assert tool.actual["status"] == "failed"  # an attempt is enough


def test_seed_regression_fixture_catches_the_bypass() -> None:
    v = evaluate(seed("refund-approval-bypass-regression.json"), bypass_run())
    assert v.kinds() == ["missing_span", "forbidden_span", "forbidden_span", "stop_reason",
                         "output_contains", "output_contains"]
    missing, promise, refund, stop, approved, processed = v.violations
    assert missing.expected == "approval:required" and missing.actual is None
    assert (promise.span_index, promise.ref, promise.span_id) == (4, "message:customer_promise_sent",
                                                                  "s4")
    assert (refund.span_index, refund.ref) == (5, "tool:issue_refund")
    assert (stop.expected, stop.actual) == ("needs_human_approval", "completed")
    assert approved.expected == "approved" and approved.actual == "APPROVED"
    assert approved.details["offset"] == "Good news: your refund has been ".__len__()
    assert processed.actual == "processed"


def test_seed_fixtures_pass_the_fixed_run() -> None:
    for name in ("incident-2026-04-18-refund-approval-bypass.json",
                 "refund-approval-bypass-regression.json"):
        v = evaluate(seed(name), fixed_run())
        assert v.passed, v.to_dict()
        assert v.violations == [] and v.run_id == "fixed"


def test_spec_yaml_fixture_on_both_runs() -> None:
    data = yaml.safe_load((SEED_FIXTURES / "refund-approval-bypass-trajectory.yaml").read_text())
    fx = Fixture.model_validate(data)
    assert evaluate(fx, fixed_run()).passed
    bad = evaluate(fx, bypass_run())
    assert "order" in bad.kinds()
    order = next(x for x in bad.violations if x.kind == "order")
    assert order.span_index == 3 and order.ref == "tool:draft_refund_request"
    assert order.actual == {"first": None, "second": 3}


# ----------------------------------------------------------------------------- spans


def test_missing_span_lists_what_the_run_has_of_that_type() -> None:
    v = evaluate(fixture(required_spans=["retrieval:refund_policy"]),
                 run("retrieval:refund_policy_v2", "tool:a"))
    (x,) = only(v, "missing_span")
    assert x.ref == "retrieval:refund_policy" and x.expected == "retrieval:refund_policy"
    assert x.details == {"same_type_present": ["retrieval:refund_policy_v2"]}


def test_required_span_counts_whatever_its_status() -> None:
    assert evaluate(fixture(required_spans=["approval:required"]),
                    run(span("approval:required", status="waiting"))).passed


def test_forbidden_span_reports_every_occurrence() -> None:
    v = evaluate(fixture(forbidden_spans=["tool:issue_refund"]),
                 run("tool:a", span("tool:issue_refund", span_id="x", status="denied"),
                     span("tool:issue_refund", span_id="y")))
    xs = only(v, "forbidden_span")
    assert [(x.span_index, x.span_id) for x in xs] == [(1, "x"), (2, "y")]
    assert xs[0].actual == {"status": "denied", "args": None}


def test_span_refs_are_type_and_name() -> None:
    # a tool named like a retrieval is not that retrieval
    v = evaluate(fixture(required_spans=["retrieval:refund_policy"]), run("tool:refund_policy"))
    only(v, "missing_span")


@pytest.mark.parametrize(("spans", "actual", "at"), [
    (["tool:draft", "approval:required"], {"first": 1, "second": 0}, 0),
    (["tool:draft"], {"first": None, "second": 0}, 0),
    (["approval:required"], {"first": 0, "second": None}, None),
    (["tool:other"], {"first": None, "second": None}, None),
    (["approval:required", "tool:draft", "tool:draft"], None, None),
    (["tool:x", "approval:required", "tool:draft", "approval:required"], None, None),
])
def test_order_first_must_precede_every_second(spans: list[str], actual: Any, at: int | None
                                                ) -> None:
    v = evaluate(fixture(order=[["approval:required", "tool:draft"]]), run(*spans))
    if actual is None:
        assert v.passed
        return
    (x,) = only(v, "order")
    assert x.expected == ["approval:required", "tool:draft"]
    assert x.actual == actual
    assert x.span_index == at


def test_order_pair_with_the_same_span_twice_is_a_fixture_error() -> None:
    with pytest.raises(FixtureError) as exc:
        compile_fixture(fixture(order=[["tool:a", "tool:a"]]))
    assert exc.value.loc == ("expected", "order", 0)


# ----------------------------------------------------------------------------- outcome


@pytest.mark.parametrize("kind", ["route", "stop_reason", "final_status"])
def test_outcome_fields(kind: str) -> None:
    fx = fixture(**{kind: "wanted"})
    assert evaluate(fx, run("tool:a", **{kind: "wanted"})).passed
    (x,) = only(evaluate(fx, run("tool:a", **{kind: "other"})), kind)
    assert (x.expected, x.actual) == ("wanted", "other")
    (x,) = only(evaluate(fx, run("tool:a")), kind)
    assert x.actual is None and "nothing recorded" in x.message


# ----------------------------------------------------------------------------- tools


def test_tool_not_called() -> None:
    (x,) = only(evaluate(fixture(tools_called=["draft"]), run("tool:read", "model:m")),
                "tool_not_called")
    assert x.expected == "draft" and x.actual == ["read"] and x.ref == "tool:draft"


def test_a_span_of_another_type_is_not_a_tool_call() -> None:
    only(evaluate(fixture(tools_called=["draft"]), run("workflow:draft")), "tool_not_called")


def test_forbidden_tool() -> None:
    v = evaluate(fixture(tools_not_called=["issue_refund"]),
                 run("tool:read", span("tool:issue_refund", args={"amount": 5}, span_id="z")))
    (x,) = only(v, "forbidden_tool")
    assert (x.span_index, x.ref, x.span_id) == (1, "tool:issue_refund", "z")
    assert x.actual == {"status": "succeeded", "args": {"amount": 5}}


def test_tool_args_some_call_carries_them() -> None:
    fx = fixture(tool_args={"draft": {"order_id": "o1", "amount": 5}})
    ok = run(span("tool:draft", args={"order_id": "o2"}),
             span("tool:draft", args={"order_id": "o1", "amount": 5, "note": "x"}))
    assert evaluate(fx, ok).passed
    bad = run(span("tool:draft", args={"order_id": "o2", "amount": 5}),
              span("tool:draft", args={"order_id": "o1", "amount": True}, span_id="d2"),
              span("tool:draft", args=None))
    (x,) = only(evaluate(fx, bad), "tool_args")
    assert x.expected == {"order_id": "o1", "amount": 5}
    assert x.span_index == 0 and x.actual == {"order_id": "o2", "amount": 5}
    assert x.details == {"calls": 3, "missing_or_different": ["order_id"]}


def test_tool_args_when_never_called() -> None:
    (x,) = only(evaluate(fixture(tool_args={"draft": {"a": 1}}), run("tool:read")), "tool_args")
    assert x.actual is None and x.ref == "tool:draft"


def test_tool_args_nested_objects_are_contained() -> None:
    fx = fixture(tool_args={"search": {"filter": {"status": "open"}}})
    assert evaluate(fx, run(span("tool:search", args={"filter": {"status": "open", "n": 1}}))).passed
    only(evaluate(fx, run(span("tool:search", args={"filter": {"status": "closed"}}))), "tool_args")


def test_tool_args_schema() -> None:
    schemas = {"draft": {"type": "object", "required": ["order_id"],
                         "properties": {"order_id": {"type": "string", "pattern": "^ord_"},
                                        "amount": {"type": "number", "maximum": 500}}}}
    r = run(span("tool:draft", args={"order_id": "ord_1", "amount": 640}, span_id="d"),
            span("tool:draft", args={"order_id": "ord_2"}),
            span("tool:draft"),
            span("tool:other", args={"anything": 1}))
    v = evaluate(fixture(), r, tool_schemas=schemas)
    xs = only(v, "tool_args_schema")
    assert [x.span_index for x in xs] == [0, 2]
    assert xs[0].details["path"] == "/amount" and xs[0].actual == 640
    assert xs[0].expected == {"validator": "maximum", "schema": 500}
    assert xs[0].span_id == "d"
    assert xs[1].expected["validator"] == "required"


def test_tool_schemas_accept_function_definitions() -> None:
    schemas = {"draft": {"name": "draft", "parameters": {"type": "object",
                                                          "required": ["order_id"]}}}
    only(evaluate(fixture(), run("tool:draft"), tool_schemas=schemas), "tool_args_schema")


# ----------------------------------------------------------------------------- sequences


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


# ----------------------------------------------------------------------------- output


def test_output_phrases_match_whole_words_case_insensitively() -> None:
    fx = fixture(output_must_not_contain=["approved", "money back"])
    assert evaluate(fx, run("tool:a", output="Still unapproved; moneyback later")).passed
    v = evaluate(fx, run("tool:a", output="Pre-APPROVED! Your money\n  back is on the way."))
    xs = only(v, "output_contains")
    assert [x.actual for x in xs] == ["APPROVED", "money\n  back"]
    assert xs[0].details["offset"] == 4 and xs[0].details["matches"] == 1


def test_output_regex_rule() -> None:
    fx = fixture(output_must_contain=[{"regex": r"ticket\s+#\d+"}],
                 output_must_not_contain=[{"regex": r"refund(ed)?\b"}])
    assert evaluate(fx, run("tool:a", output="Opened TICKET #12.")).passed
    v = evaluate(fx, run("tool:a", output="Refunded."))
    assert v.kinds() == ["output_missing", "output_contains"]
    missing, contains = v.violations
    assert missing.expected == {"regex": r"ticket\s+#\d+"} and missing.actual == "Refunded."
    assert contains.actual == "Refunded"


def test_output_missing() -> None:
    (x,) = only(evaluate(fixture(output_must_contain=["support lead"]),
                         run("tool:a", output="done")), "output_missing")
    assert x.expected == "support lead" and x.actual == "done"


def test_output_not_recorded_fails_closed() -> None:
    (x,) = only(evaluate(fixture(output_must_not_contain=["approved"]), run("tool:a")),
                "output_not_recorded")
    assert x.actual is None and x.expected == {"must_contain": [], "must_not_contain": ["approved"]}
    assert evaluate(fixture(output_must_not_contain=["approved"]), run("tool:a", output="")).passed


def test_invalid_regex_is_a_fixture_error_with_its_location() -> None:
    with pytest.raises(FixtureError) as exc:
        compile_fixture(fixture(output_must_contain=["ok", {"regex": "("}]))
    assert exc.value.loc == ("expected", "output_must_contain", 1, "regex")
    top = Fixture.model_validate({"id": "t", "output_must_not_contain": [{"regex": "[x"}]})
    with pytest.raises(FixtureError) as exc:
        compile_fixture(top)
    assert exc.value.loc == ("output_must_not_contain", 0, "regex")


# Patterns the compile-time check refuses: each can split one text among the
# iterations of a repeat in exponentially many ways.
CATASTROPHIC = [r"(a+)+$", r"(a*)*", r"(\w+\s?)+$", r"(a|a)*", r"(a|aa)+$", r"(ab|cd|ab)+",
                r"(?:a(?=a)|a)+$", r"(\d+\.?)+", r"(?:\S+\s*)+$", r"(?:/[\w./-]*)*x", r"(x(a|a))*",
                r"(a+){3}", r"(?:\wa|a\w)+$", r"((?:a|b)+c?)+"]
# ... and patterns it leaves alone: repetitions whose iterations cannot share text.
UNAMBIGUOUS = [r"ticket\s+#\d+", r"refund(ed)?\b", r"\b(?:approved|granted)\b", r"(ab+)+",
               r"(\d+\.)+\d+", r"(\d{3}-){2}\d{4}", r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$", r"(\s+\w+)*",
               r"(?:foo|bar|baz)+", r"(?:a|ab)+", r"(a++)+", r"(?>a+)+", r"[a-zA-Z]+", r"(\w|\d)+",
               r"(\s*,\s*\w+)*", r"x{2,5}y", r"(?:\da|b\d)+", "(?:" + "|".join(f"w{i}" for i in range(300)) + ")+"]
# A pattern the check cannot see through (a backreference) that still backtracks
# exponentially on this text: the timeout is what bounds it.
SLOW = r"^(a)(?:\1|a)+$"
SLOW_TEXT = "a" * 40 + "b"


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_regex_is_refused_when_compiling(pattern: str) -> None:
    with pytest.raises(FixtureError) as exc:
        compile_fixture(fixture(output_must_not_contain=["fine", {"regex": pattern}]))
    assert exc.value.loc == ("expected", "output_must_not_contain", 1, "regex")
    assert "can take exponential time" in exc.value.message


@pytest.mark.parametrize("pattern", UNAMBIGUOUS)
def test_unambiguous_regex_compiles(pattern: str) -> None:
    compile_fixture(fixture(output_must_contain=[{"regex": pattern}]))


def test_a_regex_that_does_not_finish_is_a_violation_not_a_pass_or_a_hang() -> None:
    compile_fixture(fixture(output_must_contain=[{"regex": SLOW}]))  # not seen by the check
    r = run("tool:a", output=SLOW_TEXT)
    for key, kind in (("output_must_contain", "output_missing"),
                      ("output_must_not_contain", "output_contains")):
        (x,) = only(evaluate(fixture(**{key: [{"regex": SLOW}]}), r, regex_timeout_s=0.05), kind)
        assert x.message == f"regex {SLOW!r} did not finish within 0.05 s: cannot be judged"
        assert x.details == {"judged": False} and x.expected == {"regex": SLOW}


def test_the_judging_deadline_bounds_the_regex_timeouts_and_the_checks_after_them() -> None:
    fx = fixture(output_must_not_contain=[{"regex": SLOW}, {"regex": SLOW}], budget={"max_tokens": 5})
    v = evaluate(fx, run("tool:a", output=SLOW_TEXT), deadline_s=0.05, regex_timeout_s=60)
    first, second, late = v.violations
    assert first.message.endswith("did not finish before the judging deadline of 0.05 s: "
                                  "cannot be judged")
    assert second.message.endswith("was not run: the judging deadline of 0.05 s had passed: "
                                   "cannot be judged")
    assert late.kind == "run_error" and late.details["checks_not_run"] == 1
    assert late.message == ("judging did not finish within 0.05 s: 1 expectation check not run, "
                            "so the run cannot be judged")


def test_phrase_rules_are_not_regexes() -> None:
    # A phrase is escaped, so regex syntax in it is text: it can neither fail to
    # compile nor backtrack.
    fx = fixture(output_must_contain=["(a+)+ costs $5"])
    assert evaluate(fx, run("tool:a", output="It says (A+)+ costs $5.")).passed


# ----------------------------------------------------------------------------- budgets


def budget(**b: Any) -> Fixture:
    return fixture(budget=b)


def test_budget_tool_calls() -> None:
    r = run("tool:a", "model:m", "tool:b", span("tool:c", span_id="c"))
    assert evaluate(budget(max_tool_calls=3), r).passed
    (x,) = only(evaluate(budget(max_tool_calls=2), r), "budget_tool_calls")
    assert (x.expected, x.actual, x.span_index, x.span_id) == (2, 3, 3, "c")


def test_budget_retries_counts_repeats_of_a_failing_call() -> None:
    failing = span("tool:search", args={"q": "x"}, status="failed")
    r = run(failing, failing, span("tool:search", args={"q": "x"}, span_id="third"),
            span("tool:search", args={"q": "y"}, status="failed"),
            span("tool:search", args={"q": "y"}))
    assert evaluate(budget(max_retries=2), r).passed
    (x,) = only(evaluate(budget(max_retries=1), r), "budget_retries")
    assert (x.expected, x.actual, x.span_index, x.span_id) == (1, 2, 2, "third")
    assert x.details["retry_spans"] == [1, 2]
    # repeating a call that succeeded is not a retry
    ok = span("tool:search", args={"q": "x"})
    assert evaluate(budget(max_retries=0), run(ok, ok, ok)).passed


@pytest.mark.parametrize(("key", "kind", "field", "limit", "over"), [
    ("max_tokens", "budget_tokens", "input_tokens", 100, 101),
    ("max_cost_usd", "budget_cost", "cost_usd", 0.05, 0.06),
    ("max_latency_ms", "budget_latency", "latency_ms", 20000, 20001),
])
def test_measured_budgets(key: str, kind: str, field: str, limit: float, over: float) -> None:
    fx = budget(**{key: limit})
    assert evaluate(fx, run("tool:a", **{field: limit})).passed
    (x,) = only(evaluate(fx, run("tool:a", **{field: over})), kind)
    assert (x.expected, x.actual) == (limit, over)
    assert x.details == {"source": "run"}
    (x,) = only(evaluate(fx, run("tool:a")), kind)
    assert x.actual is None and "not measured" in x.message


def test_budgets_fall_back_to_span_measurements() -> None:
    r = run(span("model:m", input_tokens=60, output_tokens=50, cost_usd=0.03,
                 start_ms=1000, end_ms=5000),
            span("model:m", output_tokens=10, cost_usd=0.03, start_ms=5000, end_ms=26000))
    v = evaluate(budget(max_tokens=100, max_cost_usd=0.05, max_latency_ms=20000), r)
    assert v.kinds() == ["budget_tokens", "budget_cost", "budget_latency"]
    assert [x.actual for x in v.violations] == [120, 0.06, 25000]
    assert all(x.details == {"source": "spans"} for x in v.violations)


# Measurements that cannot be judged, as a native run records them: (budget,
# run fields, what the message names). Each fails the budget, none passes it.
UNJUDGEABLE: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"max_cost_usd": 1}, {"cost_usd": "NaN"}, "cost_usd of the run is NaN"),
    ({"max_cost_usd": 1}, {"cost_usd": "Infinity"}, "cost_usd of the run is infinite (inf)"),
    ({"max_cost_usd": 1}, {"cost_usd": "-Infinity"}, "cost_usd of the run is infinite (-inf)"),
    ({"max_cost_usd": 1}, {"cost_usd": -0.01}, "cost_usd of the run is negative (-0.01)"),
    ({"max_cost_usd": 1}, {"cost_usd": "abc"}, "cost_usd of the run is 'abc', not a number"),
    ({"max_cost_usd": 1}, {"cost_usd": True}, "cost_usd of the run is true, not a number"),
    ({"max_cost_usd": 1}, {"cost_usd": 10**400}, "cost_usd of the run is an integer of about 401 "
                                                 "digits, not a number"),
    ({"max_tokens": 100}, {"input_tokens": -1}, "input_tokens of the run is negative (-1)"),
    ({"max_tokens": 100}, {"output_tokens": "abc"}, "output_tokens of the run is 'abc', not a count"),
    ({"max_tokens": 100}, {"input_tokens": 1.5}, "input_tokens of the run is 1.5, not a count"),
    ({"max_tokens": 100}, {"input_tokens": "Infinity"}, "input_tokens of the run is 'Infinity', "
                                                        "not a count"),
    ({"max_tokens": 100}, {"input_tokens": "9" * 5000},
     "input_tokens of the run is '9999999999999999999999999999999999999...' (5000 characters), "
     "not a count"),
    ({"max_latency_ms": 10}, {"latency_ms": -5}, "latency_ms of the run is negative (-5): the run "
                                                 "ends before it starts"),
    ({"max_latency_ms": 10}, {"latency_ms": "nan"}, "latency_ms of the run is NaN"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms=9, end_ms=2)]},
     "end_ms of span 0 (tool:a) (2) is before its start_ms (9): the span ends before it starts"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms="soon", end_ms=2)]},
     "start_ms of span 0 (tool:a) is 'soon', not a number"),
    ({"max_latency_ms": 10}, {"spans": [span("tool:a", start_ms=100), span("tool:b", end_ms=50)]},
     "latency_ms of the run would be negative: the spans' last end (50) is before their first "
     "start (100)"),
    # a broken span fails the budget even when the run's total looks fine: importers
    # sum the total from the spans, and -5 + 6 is a total that passes
    ({"max_cost_usd": 1}, {"cost_usd": 0.5, "spans": [span("model:m", cost_usd=-5),
                                                      span("model:m", cost_usd=6)]},
     "cost_usd of span 0 (model:m) is negative (-5)"),
    ({"max_tokens": 100}, {"spans": [span("model:m", input_tokens=5, output_tokens="many")]},
     "output_tokens of span 0 (model:m) is 'many', not a count"),
]


@pytest.mark.parametrize(("limits", "fields", "named"), UNJUDGEABLE)
def test_budgets_fail_closed_on_measurements_that_cannot_be_judged(
        limits: dict[str, Any], fields: dict[str, Any], named: str) -> None:
    r = Run.model_validate({"spans": [span("tool:a")], **fields})
    (x,) = evaluate(budget(**limits), r).violations
    assert x.kind.startswith("budget_")
    assert x.message.startswith(f"budget cannot be judged: {named}"), x.message
    assert x.details["judged"] is False
    json.loads(evaluate(budget(**limits), r).to_json())  # the evidence stays JSON


def test_nan_cannot_pass_a_budget_even_unvalidated() -> None:
    # Comparisons with NaN are false both ways: `value > limit` would let it pass.
    for fields in ({"cost_usd": math.nan}, {"latency_ms": math.nan},
                   {"spans": [Span(type="model", name="m", cost_usd=math.nan)]}):
        r = Run.model_construct(**{"spans": [], **fields})
        v = evaluate(budget(max_cost_usd=1, max_latency_ms=1), r)
        assert not v.passed and any(x.message.startswith("budget cannot be judged")
                                    for x in v.violations)


def test_a_broken_measurement_another_budget_does_not_read_is_no_violation() -> None:
    r = Run.model_validate({"spans": [span("tool:a")], "cost_usd": "abc", "input_tokens": 3})
    assert evaluate(budget(max_tokens=5), r).passed
    assert r.unjudged()[0].field == "cost_usd"


def test_huge_but_exact_token_counts_are_judged() -> None:
    r = run("tool:a", input_tokens=10**30)
    (x,) = only(evaluate(budget(max_tokens=100), r), "budget_tokens")
    assert x.message == "tokens 1e+30 exceeds the budget of 100"
    assert json.loads(evaluate(budget(max_tokens=100), r).to_json())["violations"][0]["evidence"][
        "actual"] == 1e30


# ----------------------------------------------------------------------------- errors


def test_an_empty_run_is_an_error_not_a_pass() -> None:
    (x,) = only(evaluate(fixture(forbidden_spans=["tool:issue_refund"]), run()), "run_error")
    assert "empty" in x.message


def test_error_judgement() -> None:
    v = error_judgement("f", "adapter crashed", run_id="r")
    assert not v.passed and v.kinds() == ["run_error"] and v.run_id == "r"


def test_every_kind_is_listed() -> None:
    assert len(set(KINDS)) == len(KINDS) == 21


def test_judgement_serializes_with_evidence() -> None:
    v = evaluate(fixture(tools_not_called=["x"]), run(span("tool:x", span_id="i")))
    d = v.to_dict()
    assert d == v.model_dump()
    assert d["passed"] is False and d["fixture_id"] == "t"
    assert d["violations"][0]["evidence"] == {
        "span_index": 0, "ref": "tool:x", "span_id": "i", "expected": None,
        "actual": {"status": "succeeded", "args": None}}
    assert json.loads(v.to_json()) == d


def test_compile_fixture_is_cached_per_fixture_object() -> None:
    fx = fixture(route="r")
    assert compile_fixture(fx) is compile_fixture(fx)
    assert compile_fixture(fixture(route="r")) is not compile_fixture(fx)

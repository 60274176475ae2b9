"""The output rules: phrases, regular expressions, and the time bounds on searching them."""

from __future__ import annotations

import pytest

from evalloop.evaluate.evaluator import compile_fixture, evaluate
from evalloop.evaluate.judgement import FixtureError
from evalloop.model.fixture import Fixture
from tests.unit.evaluate.support import fixture, only, run


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


# A pattern the check cannot see through (a backreference) that still backtracks
# exponentially on this text: the timeout is what bounds it.
SLOW = r"^(a)(?:\1|a)+$"
SLOW_TEXT = "a" * 40 + "b"


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

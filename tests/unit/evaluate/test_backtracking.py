"""The backtracking check: regular expressions refused when compiling because they can take
exponential time, and those let through."""

from __future__ import annotations

import pytest

from evalloop.evaluate.evaluator import compile_fixture
from evalloop.evaluate.judgement import FixtureError
from tests.unit.evaluate.support import fixture

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


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_regex_is_refused_when_compiling(pattern: str) -> None:
    with pytest.raises(FixtureError) as exc:
        compile_fixture(fixture(output_must_not_contain=["fine", {"regex": pattern}]))
    assert exc.value.loc == ("expected", "output_must_not_contain", 1, "regex")
    assert "can take exponential time" in exc.value.message


@pytest.mark.parametrize("pattern", UNAMBIGUOUS)
def test_unambiguous_regex_compiles(pattern: str) -> None:
    compile_fixture(fixture(output_must_contain=[{"regex": pattern}]))

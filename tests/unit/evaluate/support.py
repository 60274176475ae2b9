"""Builders of fixtures and runs for the evaluator's tests, and `only` to read a judgement."""

from __future__ import annotations

from typing import Any

from evalloop.evaluate.judgement import Judgement
from evalloop.model.fixture import Fixture
from evalloop.model.run import Run


def fixture(**expected: Any) -> Fixture:
    return Fixture.model_validate({"id": "t", "expected": expected})


def span(ref: str, **kw: Any) -> dict[str, Any]:
    kind, name = ref.split(":", 1)
    return {"type": kind, "name": name, **kw}


def run(*spans: dict[str, Any] | str, **kw: Any) -> Run:
    items = [span(s) if isinstance(s, str) else s for s in spans]
    return Run.model_validate({"spans": items, **kw})


def only(judgement: Judgement, kind: str) -> list[Any]:
    """The violations of a failed judgement, all of them of `kind`."""
    assert not judgement.passed
    assert set(judgement.kinds()) == {kind}, judgement.to_dict()
    return judgement.violations

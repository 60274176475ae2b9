"""The judgement of a run: its violation kinds, the error judgement, its serialization."""

from __future__ import annotations

import json

from evalloop.evaluate.evaluator import evaluate
from evalloop.evaluate.judgement import KINDS, error_judgement
from tests.unit.evaluate.support import fixture, run, span


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

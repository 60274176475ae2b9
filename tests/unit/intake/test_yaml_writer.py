"""YAML for reviewers: comments kept, and exactly the data written read back by a YAML 1.1 reader."""

from __future__ import annotations

import datetime as dt

import yaml

from evalloop.intake.yaml_writer import render


def test_rendered_strings_stay_strings_for_yaml_1_1_readers() -> None:
    data = {"a": "yes", "b": "1:20", "c": "2026-01-01", "d": "null", "e": "two\nlines", "f": "tab\there",
            "g": None, "h": [None, "on"], "t": dt.datetime(2026, 4, 18, 9, 12, tzinfo=dt.UTC),
            "n": [1e20, 1e-7, float("nan"), float("-inf")]}
    text = render(data, {("a",): "note"}, ["head"])  # render reads its output back
    assert yaml.safe_load(text)["a"] == "yes" and "e: |-" in text and "- null" in text
    assert "t: 2026-04-18T09:12:00Z" in text and "- 1.0e+20" in text


def test_comments_go_above_their_keys_with_a_gap_before_sections() -> None:
    text = render({"id": "x", "input": {"user_message": "hi"}, "expected": {"stop_reason": "done"}},
                  {("id",): "the id", ("input",): "the request", ("expected", "stop_reason"): "how it ends"},
                  ["header line"])
    assert text == ("# header line\n\n# the id\nid: x\n\n# the request\ninput:\n  user_message: hi\n"
                    "expected:\n  # how it ends\n  stop_reason: done\n")

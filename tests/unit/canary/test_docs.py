"""docs/canary.md: every field of canary.yaml and of a metric summary is there with its schema
description, and the examples are valid (the bundled example's canary.yaml too)."""

from __future__ import annotations

import re

import pytest
import yaml
from pydantic import BaseModel

from evalloop.canary.config import load_canary
from evalloop.model import canary as c
from tests.support import PROJECT

DOC = (PROJECT / "docs" / "canary.md").read_text()
MODELS: list[type[BaseModel]] = [c.CanaryConfig, c.Version, c.Step, c.Invariant, c.When, c.Condition, c.Metric,
                                 c.Statistics, c.MetricSummary, c.RateCount, c.InvariantCount]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_documented_with_its_schema_description(model: type[BaseModel]) -> None:
    section = DOC.split(f"(`{model.__name__}`)", 1)
    assert len(section) == 2, f"no section for {model.__name__}"
    table = section[1].split("\n### ", 1)[0]
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        row = rf"^\| `{re.escape(name)}` \|.*\| {re.escape(field.description.replace('|', '/'))} \|$"
        assert re.search(row, table, re.M), f"{model.__name__}.{name}: no row in its section of docs/canary.md"


def test_the_examples_are_valid() -> None:
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]
    configs = [b for b in blocks if "artifact" in b]
    summaries = [b for b in blocks if b.get("kind") == "evalloop.canary-summary"]
    assert len(configs) >= 2 and len(summaries) == 1
    for b in configs:
        c.CanaryConfig.model_validate(b)
    summary = summaries[0]
    summary["values"] = {k: [x for x in v if x != "..."] for k, v in summary["values"].items()}  # `...` elides
    c.MetricSummary.model_validate(summary)
    load_canary(PROJECT / "examples" / "refund-support" / "canary.yaml")

"""docs/metrics.md: every field of the ledger line, the `metrics:` block and the report is there with
its schema description, every metric is defined, and the examples are valid."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from pydantic import BaseModel

from evalloop.metrics.thresholds import SPECS
from evalloop.model import metrics as m
from evalloop.model.config import Config
from tests.support import PROJECT

DOC = (PROJECT / "docs" / "metrics.md").read_text()
MODELS: list[type[BaseModel]] = [
    m.GateRecord, m.RecordedResult, m.RecordedCounts, m.MetricsConfig, m.MetricSettings, m.ConversionSettings,
    m.CatchRateSettings, m.RecurrenceSettings, m.TimeToTestSettings, m.BlockingEvalsSettings, m.FlakySettings,
    m.TraceCoverageSettings, m.DenialAccuracySettings, m.OverrideSettings, m.RollbackSettings, m.DetectSettings,
    m.MetricsReport, m.Metric, m.TrendPoint, m.Source]


@pytest.mark.parametrize("model", MODELS, ids=lambda v: v.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        row = rf"^\| `{re.escape(name)}` \|.*\| {re.escape(field.description.replace('|', '/'))} \|$"
        assert re.search(row, DOC, re.M), f"{model.__name__}.{name}: no row with its description in docs/metrics.md"


def test_every_metric_is_defined() -> None:
    for spec in SPECS:
        assert re.search(rf"^\| {re.escape(spec.name)} \(`{spec.id}`\) \|", DOC, re.M), spec.id


def test_examples_are_valid() -> None:
    [config] = re.findall(r"```yaml\n(.*?)```", DOC, re.S)
    Config.model_validate(yaml.safe_load(config))
    [line] = re.findall(r"```json\n(.*?)```", DOC, re.S)
    m.GateRecord.model_validate(json.loads(line))

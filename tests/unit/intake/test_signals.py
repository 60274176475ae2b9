from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from evalloop.errors import EvalloopError
from evalloop.intake.signals import load_signals
from tests.support import write

YAML_LIST = """\
- id: INC-1
  kind: incident
  severity: sev1
  touches: [money_movement]
  time: 2026-04-17T18:40:00Z
- kind: near_miss
  severity: sev3
  time: 2026-04-20
"""


def error_of(path: Path) -> EvalloopError:
    with pytest.raises(EvalloopError) as info:
        load_signals(path, display=path.name)
    return info.value


def test_yaml_list_with_the_line_of_each_record(tmp_path: Path) -> None:
    first, second = load_signals(write(tmp_path / "s.yaml", YAML_LIST), display="s.yaml")
    assert (first.signal.id, first.line, first.label) == ("INC-1", 1, "INC-1")
    assert first.signal.time == dt.datetime(2026, 4, 17, 18, 40, tzinfo=dt.UTC)
    assert first.signal.touches == ["money_movement"]
    assert (second.signal.id, second.line, second.label) == (None, 6, "s.yaml:6")
    assert (second.signal.recurrence, second.signal.user_visible, second.signal.trace) == (1, False, None)


def test_json_list(tmp_path: Path) -> None:
    data = [{"id": "a", "kind": "cost_outlier", "severity": "sev3", "time": "2026-04-20T10:00:00+02:00"}]
    (s,) = load_signals(write(tmp_path / "s.json", json.dumps(data)))
    assert s.signal.time.utcoffset() == dt.timedelta(hours=2)  # type: ignore[union-attr]


def test_json_lines_skip_blank_lines_and_keep_line_numbers(tmp_path: Path) -> None:
    lines = ['{"id": "a", "kind": "regression", "severity": "sev2", "time": "2026-04-20"}', "",
             '{"id": "b", "kind": "user_confusion", "severity": "sev4", "time": "2026-04-21", "recurrence": 3}']
    a, b = load_signals(write(tmp_path / "s.jsonl", "\n".join(lines) + "\n"))
    assert (a.line, b.line, b.signal.recurrence) == (1, 3, 3)


@pytest.mark.parametrize(("name", "text", "where", "message"), [
    ("s.yaml", YAML_LIST.replace("kind: near_miss", "kind: near-miss"), (6, 9),
     "invalid signal #2: kind: Input should be 'incident',"),
    ("s.yaml", YAML_LIST.replace("  severity: sev3", "  severity: sev3\n  owenr: x"), (8, 3),
     "invalid signal #2: owenr: Extra inputs are not permitted"),
    ("s.yaml", YAML_LIST.replace("[money_movement]", "[money]"), (4, 13),
     "invalid signal #1: touches.0: Input should be 'safety',"),
    ("s.yaml", YAML_LIST.replace("  time: 2026-04-20\n", ""), (6, 3), "invalid signal #2: (record): Field required"),
    ("s.yaml", YAML_LIST.replace("time: 2026-04-20", "time: 1713600000"), (8, 9),
     "invalid signal #2: time: Value error, expected an ISO 8601 date or date-time"),
    ("s.yaml", YAML_LIST.replace("time: 2026-04-20", "time: yesterday"), (8, 9),
     "invalid signal #2: time: Input should be a valid"),
    ("s.yaml", "- just a string\n", (1, 3), "invalid signal #1: expected a mapping, found a string"),
    ("s.yaml", "kind: incident\n", (1, 1), "expected a list of signals, found a mapping"),
    ("s.jsonl", '{"kind": "incident", "severity": "sev1", "time": "2026-04-20"}\n'
                '{"kind": "incident", "severity": "sev9", "time": "2026-04-20"}\n', (2, 34),
     "invalid signal: severity: Input should be 'sev1'"),
    ("s.jsonl", '{"kind": "incident", "severity": "sev1", "time": "2026-04-20"}\n\n{"kind": \n', (3, 10),
     "invalid JSON: Expecting value"),
    ("s.jsonl", '[1]\n', (1, 1), "invalid signal: expected a mapping, found a list"),
    ("s.yaml", "- {id: a, kind: incident, severity: sev1, time: 2026-04-20}\n"
               "- {id: a, kind: incident, severity: sev1, time: 2026-04-21}\n", (2, None),
     "duplicate signal id 'a' (first at line 1)"),
])
def test_bad_records_are_one_positioned_line(tmp_path: Path, name: str, text: str,
                                             where: tuple[int, int | None], message: str) -> None:
    e = error_of(write(tmp_path / name, text))
    assert (e.line, e.col) == where, str(e)
    assert e.path == name and e.message.startswith(message), str(e)
    assert "\n" not in str(e)


def test_the_record_text_reaches_the_message_cleaned(tmp_path: Path) -> None:
    e = error_of(write(tmp_path / "s.yaml", '- {kind: incident, severity: sev1, time: 2026-04-20, "\\e[31mx": 1}\n'))
    assert "\x1b" not in str(e) and "Extra inputs" in str(e)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    assert error_of(tmp_path / "none.yaml").message == "no such signals file"
    assert error_of(write(tmp_path / "empty.yaml", "\n")).message == "empty file"


def test_an_empty_list_has_no_signals(tmp_path: Path) -> None:
    assert load_signals(write(tmp_path / "s.yaml", "[]\n")) == []


def test_the_published_schemas_accept_and_refuse_what_the_loader_does(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    from evalloop import schemas

    many = jsonschema.Draft202012Validator(schemas.schema_for(schemas.MODELS["signals"]))
    one = jsonschema.Draft202012Validator(schemas.schema_for(schemas.MODELS["signal"]))
    records = json.loads(json.dumps(yaml.safe_load(YAML_LIST), default=str))
    assert many.is_valid(records) and one.is_valid(records[0])
    assert len(load_signals(write(tmp_path / "s.json", json.dumps(records)))) == 2
    assert not one.is_valid({**records[0], "kind": "outage"})
    assert not one.is_valid({**records[0], "extra": 1})
    assert not many.is_valid(records[0])  # a file is a list

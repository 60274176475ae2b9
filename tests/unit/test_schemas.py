from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from evalloop import schemas
from evalloop.repo import parse
from tests.support import PROJECT


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_schema_file_matches_model(name: str) -> None:
    path = schemas.path_of(name)
    assert path.read_text() == schemas.schema_text(schemas.MODELS[name]), (
        f"{path} drifted from its model: run `python -m evalloop.schemas`"
    )


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads(schemas.path_of(name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_project_fixtures_satisfy_published_schema() -> None:
    schema = json.loads(schemas.path_of("fixture").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted((PROJECT / "fixtures").rglob("*.*"))
    assert len(files) >= 3
    for f in files:
        data = json.loads(f.read_text()) if f.suffix == ".json" else YAML(typ="safe").load(f)
        assert list(validator.iter_errors(parse.plain(data))) == [], f


def test_schema_rejects_what_the_model_rejects() -> None:
    validator = jsonschema.Draft202012Validator(schemas.schema_for(schemas.MODELS["fixture"]))
    assert not validator.is_valid({"id": "x", "severity": "blocker"})
    assert not validator.is_valid({"id": "x", "typo": 1})
    assert validator.is_valid({"id": "x"})


def test_help_explains_and_writes_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "evalloop.schemas", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "FOLDER" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # not a folder named --help


def test_one_id_rule_for_fixtures_incidents_and_the_files_naming_them() -> None:
    from pydantic import ValidationError

    from evalloop.gate.protection import Approval
    from evalloop.model.fixture import Fixture
    from evalloop.model.incident import Incident
    from evalloop.model.quarantine import QuarantineEntry

    bad = "../escape"
    for build in (lambda: Fixture.model_validate({"id": bad}),
                  lambda: Fixture.model_validate({"id": "ok", "incident_id": bad}),
                  lambda: Incident.model_validate({"id": bad}),
                  lambda: QuarantineEntry.model_validate({"id": bad}),
                  lambda: Approval.model_validate({"fixture": bad})):
        with pytest.raises(ValidationError, match="should match pattern"):
            build()


def _undescribed(node: object, where: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict) and not prop.get("description"):
                out.append(f"{where}.{key}")
        for key, value in node.items():
            out += _undescribed(value, f"{where}/{key}")
    elif isinstance(node, list):
        for value in node:
            out += _undescribed(value, where)
    return out


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_every_property_is_described(name: str) -> None:
    assert _undescribed(schemas.schema_for(schemas.MODELS[name])) == []


def test_the_schemas_are_installed_with_the_package(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(tmp_path), str(PROJECT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("evalloop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"evalloop/schemas/{n}.schema.json" for n in schemas.MODELS} <= names

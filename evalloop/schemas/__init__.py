"""JSON Schemas (draft 2020-12) of evalloop's file formats, generated from the pydantic models.

The `*.schema.json` files beside this module are these, written by `python -m evalloop.schemas`
and installed with the package (editors and other tools can read them from there); tests fail
when a file and its model drift apart.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evalloop.gate.protection import ApprovalsFile
from evalloop.model.canary import CanaryConfig, MetricSummary
from evalloop.model.config import Config
from evalloop.model.fixture import Fixture
from evalloop.model.incident import Incident
from evalloop.model.metrics import GateRecord, MetricsReport
from evalloop.model.owners import OwnersFile
from evalloop.model.quarantine import QuarantineFile
from evalloop.model.release import LedgerEntry
from evalloop.model.run import Run
from evalloop.model.signal import Signal, SignalsFile

BASE_ID = "https://evalloop.dev/schemas/"
MODELS: dict[str, type[BaseModel]] = {
    "fixture": Fixture,
    "config": Config,
    "owners": OwnersFile,
    "incident": Incident,
    "quarantine": QuarantineFile,
    "protection-changes": ApprovalsFile,
    "run": Run,
    "signal": Signal,  # one record: a line of a JSON Lines signals file
    "signals": SignalsFile,  # a YAML or JSON signals file: the list of records
    "canary": CanaryConfig,
    "canary-summary": MetricSummary,  # one side of a canary given as numbers
    "release-ledger": LedgerEntry,  # one line of releases/<env>.jsonl
    "gate-ledger": GateRecord,  # one line of the gate ledger (`evalloop gate --record`)
    "metrics": MetricsReport,  # `evalloop metrics --format json`
}


@cache
def _cached(model: type[BaseModel]) -> str:
    name = next(k for k, v in MODELS.items() if v is model) if model in MODELS.values() else \
        model.__name__.lower()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}{name}.schema.json",
        **model.model_json_schema(mode="validation"),
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_cached(model))
    return result


def schema_text(model: type[BaseModel]) -> str:
    return _cached(model)


def write_all(folder: Path) -> list[Path]:
    from evalloop.repo.fs import atomic_write

    written = []
    for name, model in MODELS.items():
        path = folder / f"{name}.schema.json"
        atomic_write(path, schema_text(model))
        written.append(path)
    return written


HERE = Path(__file__).resolve().parent


def path_of(name: str) -> Path:
    """The installed schema file of format `name` (`fixture`, `config`, ...)."""
    return HERE / f"{name}.schema.json"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m evalloop.schemas",
                                     description="Write the JSON Schemas of evalloop's file formats, generated "
                                     "from its models, into FOLDER (one <name>.schema.json each).")
    parser.add_argument("folder", nargs="?", default=HERE, type=Path,
                        help="where to write (default: beside the module, the copies the package installs)")
    for path in write_all(parser.parse_args(argv).folder):
        print(path)
    return 0

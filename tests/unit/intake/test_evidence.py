from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from evalloop.intake import evidence
from evalloop.intake.evidence import TraceChecker, ref_kind
from tests.support import DATA, write

REAL = DATA / "traces" / "koog" / "koog-2025-08-26.langfuse.json"


@pytest.mark.parametrize(("ref", "kind"), [
    ("https://tempo.example.com/trace/4bf92f35", "url"),
    ("s3://bucket/trace.json", "url"),
    ("traces/run.json", "path"),
    ("run.jsonl", "path"),
    ("C:\\traces\\run", "path"),
    ("4bf92f3577b34da6a3ce929d0e0e4736", "id"),
    ("trace-2026-04-20", "id"),
])
def test_reference_kinds(ref: str, kind: str) -> None:
    assert ref_kind(ref) == kind


def test_a_real_trace_file_is_useful(tmp_path: Path) -> None:
    shutil.copy(REAL, tmp_path / "run.json")
    relative = TraceChecker(tmp_path).check("run.json")
    assert (relative.kind, relative.useful, relative.note) == ("path", True, "1 run, 6 spans")
    absolute = TraceChecker(Path("/nonexistent")).check(str(REAL))
    assert absolute.useful and absolute.note == "1 run, 6 spans"


def test_missing_unreadable_and_special_files_are_not_useful(tmp_path: Path) -> None:
    write(tmp_path / "bad.json", '{"hello": "world"}')
    (tmp_path / "folder.json").mkdir()
    checker = TraceChecker(tmp_path)
    assert (checker.check("gone.json").useful, checker.check("gone.json").note) == (False, "not found")
    bad = checker.check("bad.json")
    assert not bad.useful and bad.note.startswith("unreadable: unknown trace format")
    assert checker.check("folder.json").note == "not a regular file"
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.json")
        assert checker.check("pipe.json").note == "not a regular file"  # never opened: it would block


def test_a_trace_with_no_spans_is_not_useful(tmp_path: Path) -> None:
    write(tmp_path / "empty-run.json", '{"run_id": "r1", "spans": []}')
    found = TraceChecker(tmp_path).check("empty-run.json")
    assert not found.useful and found.note == "1 run, 0 spans: nothing recorded"


def test_urls_and_ids_are_taken_as_recorded(tmp_path: Path) -> None:
    checker = TraceChecker(tmp_path)
    assert checker.check("https://x.example/t/1").useful
    assert checker.check("4bf92f3577b34da6").note == "a trace id, not read"


def test_each_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(REAL, tmp_path / "run.json")
    calls: list[Path] = []
    real_read = evidence._read
    monkeypatch.setattr(evidence, "_read", lambda p: calls.append(p) or real_read(p))
    checker = TraceChecker(tmp_path)
    assert checker.check("run.json") == checker.check("run.json")
    assert len(calls) == 1

"""The ledger: strict reading, append-only writing, and the questions canary and rollback ask."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from evalloop.errors import EvalloopError, UsageError
from evalloop.model.release import LedgerEntry
from evalloop.release import ledger

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DIGEST = "sha256:" + "a" * 64


def entry(event: str, artifact: str = "prompts/refund.md", **kw: Any) -> LedgerEntry:
    base: dict[str, Any] = {"at": AT, "env": "production", "event": event, "artifact": artifact}
    if event in ("mark_good", "canary", "rollback"):
        base.update(revision="1" * 40, digest=DIGEST)
    return LedgerEntry.model_validate({**base, **kw})


def test_path_and_env_names(tmp_path: Path) -> None:
    assert ledger.ledger_path(tmp_path, "production") == tmp_path / "releases" / "production.jsonl"
    for bad in ("../x", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(UsageError, match="is not a name"):
            ledger.ledger_path(tmp_path, bad)


def test_a_missing_ledger_is_empty(tmp_path: Path) -> None:
    assert ledger.read_ledger(tmp_path, "production") == []


def test_appends_keep_every_earlier_byte(tmp_path: Path) -> None:
    first = entry("mark_good", reason="ran a week ✓")
    ledger.append_entry(tmp_path, "production", first)
    path = ledger.ledger_path(tmp_path, "production")
    before = path.read_bytes()
    assert before.endswith(b"\n") and before.count(b"\n") == 1
    assert before.isascii()  # no byte of a line can end it early (U+2028 and friends are escaped)
    ledger.append_entries(tmp_path, "production", [entry("rollback"), entry("freeze")])
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 3
    assert [e.event for e in ledger.read_ledger(tmp_path, "production")] == ["mark_good", "rollback", "freeze"]
    assert ledger.read_ledger(tmp_path, "production")[0] == first
    assert json.loads(before)["reason"] == "ran a week ✓"


def test_an_entry_of_another_env_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="env 'staging' cannot go into the ledger of 'production'"):
        ledger.append_entry(tmp_path, "production", entry("freeze", env="staging"))
    assert not (tmp_path / "releases").exists()


def test_a_torn_last_line_is_never_appended_to(tmp_path: Path) -> None:
    ledger.append_entry(tmp_path, "production", entry("mark_good"))
    path = ledger.ledger_path(tmp_path, "production")
    with path.open("ab") as fh:
        fh.write(b'{"schema_version":1,"at":')  # a crash mid-write
    damaged = path.read_bytes()
    with pytest.raises(EvalloopError) as exc:
        ledger.append_entry(tmp_path, "production", entry("freeze"))
    assert str(exc.value) == ("releases/production.jsonl:2: the last line is not newline-terminated "
                              "(a torn write?): the ledger is damaged")
    assert path.read_bytes() == damaged


@pytest.mark.parametrize(("line", "message"), [
    (b"not json", "not JSON: Expecting value at column 1"),
    (b"[1]", "a JSON list, expected an object (one entry)"),
    (b"", "empty line: every line is one entry"),
    (b'{"at":"2026-06-01T00:00:00Z","env":"production","event":"promote","artifact":"a"}',
     "event: Input should be 'canary', 'mark_good', 'rollback', 'freeze' or 'unfreeze'"),
    (b'{"at":"2026-06-01T00:00:00Z","env":"staging","event":"freeze","artifact":"a"}',
     "env 'staging' in the ledger of 'production'"),
    (b'\xff', "not UTF-8 (invalid byte at offset 0)"),
])
def test_a_bad_line_is_an_error_with_its_line(tmp_path: Path, line: bytes, message: str) -> None:
    ledger.append_entry(tmp_path, "production", entry("mark_good"))
    path = ledger.ledger_path(tmp_path, "production")
    with path.open("ab") as fh:
        fh.write(line + b"\n")
    with pytest.raises(EvalloopError) as exc:
        ledger.read_ledger(tmp_path, "production")
    assert str(exc.value) == f"releases/production.jsonl:2: {message}"
    before = path.read_bytes()
    with pytest.raises(EvalloopError):
        ledger.append_entry(tmp_path, "production", entry("freeze"))
    assert path.read_bytes() == before


def test_a_symlinked_ledger_is_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_bytes(b"")
    (tmp_path / "repo" / "releases").mkdir(parents=True)
    os.symlink(elsewhere, tmp_path / "repo" / "releases" / "production.jsonl")
    with pytest.raises(EvalloopError):
        ledger.append_entry(tmp_path / "repo", "production", entry("freeze"))
    assert elsewhere.read_bytes() == b""


def test_known_good_is_the_latest_vouched_or_fully_promoted_version() -> None:
    marked = entry("mark_good", revision="2" * 40)
    promoted = entry("canary", decision="promote", step=3, evidence={"complete": True}, revision="3" * 40)
    entries = [
        marked,
        entry("canary", decision="promote", step=1, evidence={"complete": False}, revision="4" * 40),
        entry("canary", decision="promote", step=2, revision="5" * 40),  # no `complete`: not the final step
        entry("canary", decision="hold", step=3, evidence={"complete": True}, revision="6" * 40),
        entry("mark_good", artifact="prompts/other.md"),
    ]
    assert ledger.known_good(entries, "prompts/refund.md") is marked
    assert ledger.known_good([*entries, promoted], "./prompts/refund.md") is promoted
    assert ledger.known_good(entries, "prompts") is None
    assert ledger.known_good([entry("mark_good", revision=None, digest=None)], "prompts/refund.md") is None
    assert ledger.known_good([], "prompts/refund.md") is None


def test_last_decision() -> None:
    hold = entry("canary", decision="hold", step=1)
    entries = [entry("canary", decision="promote", step=1), hold, entry("freeze")]
    assert ledger.last_decision(entries, "prompts/refund.md") is hold
    assert ledger.last_decision(entries, "prompts/other.md") is None


def test_frozen_until_an_unfreeze_of_the_same_artifact() -> None:
    first, second = entry("freeze", reason="one"), entry("freeze", reason="two")
    assert ledger.frozen([first], "prompts/refund.md") is first
    assert ledger.frozen([first, entry("unfreeze")], "prompts/refund.md") is None
    assert ledger.frozen([first, entry("unfreeze"), second], "prompts/refund.md") is second
    assert ledger.frozen([first, second], "prompts/refund.md") is second
    assert ledger.frozen([entry("unfreeze"), first], "prompts/refund.md") is first


def test_a_freeze_covers_a_folder_and_what_is_inside_it() -> None:
    folder = entry("freeze", artifact="prompts/")
    assert ledger.frozen([folder], "prompts/refund.md") is folder
    assert ledger.frozen([folder], "prompts") is folder
    assert ledger.frozen([folder], "prompts2/x.md") is None
    file = entry("freeze")
    assert ledger.frozen([file], "prompts") is file  # the folder holds a frozen file
    # lifting the folder's freeze does not lift the file's
    assert ledger.frozen([folder, file, entry("unfreeze", artifact="prompts")], "prompts") is file


def test_artifacts_in_first_appearance_order() -> None:
    entries = [entry("mark_good", artifact="b"), entry("freeze", artifact="a/"), entry("freeze", artifact="b")]
    assert ledger.artifacts(entries) == ["b", "a"]

"""The unique-id check of a run over a few files (the pre-commit hook): the other fixtures' ids
come from the id index, and the answer is the one a full read would give."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from evalloop.model.config import Config
from evalloop.repo import idindex
from evalloop.validate.checks import validate
from evalloop.validate.repository import Repo

TODAY = dt.date(2026, 1, 1)
FIXTURE = "id: {id}\nowner: t\ninput: {{user_message: hi}}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """40 fixtures, settled (no racy window: as files edited long before a run are)."""
    monkeypatch.setattr(idindex, "RACY_NS", 0)
    monkeypatch.chdir(tmp_path)
    for i in range(40):
        path = tmp_path / "fixtures" / f"area-{i % 4}" / f"f{i:02d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FIXTURE.format(id=f"fx-{i:02d}"))
    return Repo(root=tmp_path, config=Config())


def one(repo: Repo, rel: str) -> tuple[list[str], int]:
    """The findings of validating one file, and how many other files were read for them."""
    v = validate(repo, [Path(rel)], TODAY)
    return [f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}" for f in v.findings], v.index().reads


def test_a_warm_run_reads_no_other_fixture(repo: Repo) -> None:
    assert one(repo, "fixtures/area-0/f00.yaml") == ([], 39)
    assert one(repo, "fixtures/area-0/f00.yaml") == ([], 0)
    assert one(repo, "fixtures/area-1/f01.yaml") == ([], 1)  # f01 was checked, never indexed
    assert one(repo, "fixtures/area-1/f01.yaml") == ([], 0)


def test_a_duplicate_made_by_editing_another_fixture_is_found(repo: Repo) -> None:
    one(repo, "fixtures/area-0/f00.yaml")
    (repo.root / "fixtures/area-3/f07.yaml").write_text(FIXTURE.format(id="fx-00"))
    assert one(repo, "fixtures/area-0/f00.yaml") == (
        ["fixtures/area-0/f00.yaml:1:5: ID001 id 'fx-00' is also used by fixtures/area-3/f07.yaml"], 1)


def test_a_duplicate_made_with_the_same_size_and_mtime_is_found(repo: Repo) -> None:
    one(repo, "fixtures/area-0/f00.yaml")
    other = repo.root / "fixtures/area-3/f07.yaml"
    before = os.stat(other)
    for _ in range(1000):  # until the ctime moves: the case is an edit the mtime does not show
        other.write_text(FIXTURE.format(id="fx-00"))
        os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
        if os.stat(other).st_ctime_ns != before.st_ctime_ns:
            break
    assert (os.stat(other).st_size, os.stat(other).st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    found, _ = one(repo, "fixtures/area-0/f00.yaml")
    assert found == ["fixtures/area-0/f00.yaml:1:5: ID001 id 'fx-00' is also used by fixtures/area-3/f07.yaml"]


def test_an_edited_index_cannot_hide_a_duplicate(repo: Repo) -> None:
    (repo.root / "fixtures/area-3/f07.yaml").write_text(FIXTURE.format(id="fx-00"))
    found, _ = one(repo, "fixtures/area-0/f00.yaml")
    assert len(found) == 1 and "ID001" in found[0]
    file = idindex.index_file(repo.root)
    head, _, body = file.read_bytes().partition(b"\n")
    # what a change that wants its duplicate through would write: the other file's id, renamed
    file.write_bytes(head + b"\n" + body.replace(b'"fx-00"', b'"fx-zz"'))
    assert one(repo, "fixtures/area-0/f00.yaml") == (found, 39)


def test_new_and_deleted_fixtures_are_seen(repo: Repo) -> None:
    one(repo, "fixtures/area-0/f00.yaml")
    (repo.root / "fixtures/area-2/f02.yaml").unlink()
    (repo.root / "fixtures/new").mkdir()
    (repo.root / "fixtures/new/n.json").write_text('{"id": "fx-00", "owner": "t"}')
    assert one(repo, "fixtures/area-0/f00.yaml") == (
        ["fixtures/area-0/f00.yaml:1:5: ID001 id 'fx-00' is also used by fixtures/new/n.json"], 1)


def test_incident_ids_come_from_the_index_too(repo: Repo) -> None:
    (repo.root / "incidents").mkdir()
    for i in range(5):
        (repo.root / f"incidents/INC-{i}.yaml").write_text(
            f"id: INC-{i}\nseverity: sev2\nopened_at: 2026-01-01\nsignal: near_miss\nsummary: s\nowner: t\n")
    (repo.root / "fixtures/area-0/f00.yaml").write_text(FIXTURE.format(id="fx-00") + "incident_id: INC-9\n")
    found, reads = one(repo, "fixtures/area-0/f00.yaml")
    assert found == ["fixtures/area-0/f00.yaml:4:14: REF001 incident 'INC-9' not found under incidents/"]
    assert reads == 39 + 5
    assert one(repo, "fixtures/area-0/f00.yaml") == (found, 0)


def test_a_full_run_leaves_the_hook_index_warm(repo: Repo) -> None:
    (repo.root / "incidents").mkdir()
    (repo.root / "incidents/INC-1.yaml").write_text(
        "id: INC-1\nseverity: sev2\nopened_at: 2026-01-01\nsignal: near_miss\nsummary: s\nowner: t\n")
    (repo.root / "fixtures/area-0/f00.yaml").write_text(FIXTURE.format(id="fx-00") + "incident_id: INC-1\n")
    assert one(repo, "fixtures/area-0/f00.yaml") == ([], 39 + 1)
    full = validate(repo, None, TODAY)  # reads every fixture in full, lists only the incidents in the index
    assert full.findings == [] and full._index is not None and full._index.reads == 0
    assert one(repo, "fixtures/area-0/f00.yaml") == ([], 0)

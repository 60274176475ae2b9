"""The id index: ids come from it only while a file's stat is what it was when the id was read,
and no edit, replacement, forged or foreign index makes it answer wrongly."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from evalloop.repo import cache, idindex
from evalloop.repo.idindex import IdIndex

MAX = 1 << 20


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled as soon as they are written (no racy window), as files edited long
    before a run are: the tests below are about what the index does with the entries it keeps."""
    monkeypatch.setattr(idindex, "RACY_NS", 0)


def fixtures(root: Path, n: int = 5) -> list[str]:
    names = []
    for i in range(n):
        path = root / "fixtures" / f"f{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"id: fx-{i}\nowner: t\n")
        names.append(str(path))
    return names


def ids(root: Path, names: list[str]) -> tuple[list[str | None], IdIndex]:
    index = IdIndex(root, MAX)
    found = [i for _, i in index.ids("fixtures", names)]
    index.save()
    return found, index


def rewrite_keeping_size_and_mtime(path: str, text: str) -> None:
    """Rewrite in place, same length, mtime put back to the nanosecond: only the ctime moves.
    Rewritten until the ctime differs, so the test is about the index, not about the clock's tick."""
    before = os.stat(path)
    assert len(text.encode()) == before.st_size
    for _ in range(1000):
        with open(path, "r+", encoding="utf-8") as fh:
            fh.write(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        if os.stat(path).st_ctime_ns != before.st_ctime_ns:
            break
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert after.st_ctime_ns != before.st_ctime_ns


def test_unchanged_files_are_not_read_again(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    first, index = ids(tmp_path, names)
    assert first == [f"fx-{i}" for i in range(5)] and index.reads == 5
    again, index = ids(tmp_path, names)
    assert again == first and index.reads == 0


def test_a_file_edited_since_is_read_again(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    Path(names[2]).write_text("id: fx-0\nowner: someone-else\n")
    found, index = ids(tmp_path, names)
    assert found[2] == "fx-0" and index.reads == 1


def test_an_edit_keeping_size_and_mtime_is_still_seen(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    rewrite_keeping_size_and_mtime(names[3], "id: fx-0\nowner: t\n")
    found, index = ids(tmp_path, names)
    assert found[3] == "fx-0" and index.reads == 1


def test_a_file_replaced_by_another_with_the_same_size_and_mtime_is_seen(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    before = os.stat(names[1])
    other = tmp_path / "other.yaml"
    other.write_text("id: fx-4\nowner: t\n")
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, names[1])  # as a checkout or an editor's save does: a new inode
    found, _ = ids(tmp_path, names)
    assert found[1] == "fx-4"


def test_files_changed_just_before_the_scan_are_not_remembered(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writes within one tick of a coarse filesystem clock leave every stat field equal. Such a
    file is changed less than RACY_NS before the scan, so it is read on every run instead."""
    names = fixtures(tmp_path)
    ids(tmp_path, names)  # the files were written just now: all of them are racy
    frozen = {n: os.lstat(n) for n in names}
    Path(names[0]).write_text("id: fx-1\nowner: t\n")
    # the worst case: the rewrite left the stat exactly as it was
    monkeypatch.setattr(idindex.os, "lstat", lambda n: frozen[n])
    found, index = ids(tmp_path, names)
    assert found[0] == "fx-1" and index.reads == 5


def test_an_edited_index_is_ignored_and_rebuilt(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    _, index = ids(tmp_path, names)
    head, _, body = index.file.read_bytes().partition(b"\n")
    index.file.write_bytes(head + b"\n" + body.replace(b'"fx-2"', b'"fx-9"'))
    found, index = ids(tmp_path, names)
    assert found[2] == "fx-2" and index.reads == 5
    assert any("signature does not verify" in n for n in index.notes)
    _, index = ids(tmp_path, names)
    assert index.reads == 0 and not index.notes  # rebuilt, signed again


def test_an_index_signed_with_another_key_is_ignored(tmp_path: Path, settled: None) -> None:
    """What an attacker without the user's key can write: well-formed, plausibly signed."""
    names = fixtures(tmp_path)
    _, index = ids(tmp_path, names)
    data = orjson.loads(index.file.read_bytes().partition(b"\n")[2])
    data["groups"]["fixtures"][names[2]][5] = "fx-9"
    body = orjson.dumps(data)
    index.file.write_bytes(cache.MAGIC + cache._mac(b"k" * cache.KEY_BYTES, body) + b"\n" + body)
    found, _ = ids(tmp_path, names)
    assert found[2] == "fx-2"


def test_an_index_of_another_checkout_is_ignored(tmp_path: Path, settled: None) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    fixtures(a)
    shutil.copytree(a, b)
    _, index_a = ids(a, fixtures(a))
    index_b = IdIndex(b, MAX)
    shutil.copy(index_a.file, index_b.file)
    found, index_b = ids(b, [n.replace(str(a), str(b)) for n in fixtures(a)])
    assert index_b.reads == 5 and any("another root" in n for n in index_b.notes)
    assert found == [f"fx-{i}" for i in range(5)]


def test_another_size_limit_is_another_index(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    index = IdIndex(tmp_path, 4)  # every file is over this limit: no id is readable
    assert [i for _, i in index.ids("fixtures", names)] == [None] * 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_and_links_are_never_remembered(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path, 1)
    os.mkfifo(tmp_path / "fixtures/pipe.yaml")  # opened, it would block
    (tmp_path / "fixtures/alias.yaml").symlink_to("f0.yaml")
    every = [*names, str(tmp_path / "fixtures/pipe.yaml"), str(tmp_path / "fixtures/alias.yaml")]
    assert ids(tmp_path, every)[0] == ["fx-0", None, "fx-0"]
    found, index = ids(tmp_path, every)
    assert found == ["fx-0", None, "fx-0"] and index.reads == 2


def test_files_no_longer_asked_about_are_dropped(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    _, index = ids(tmp_path, names[:2])
    stored = orjson.loads(index.file.read_bytes().partition(b"\n")[2])["groups"]["fixtures"]
    assert sorted(stored) == sorted(names[:2])


def test_a_group_not_listed_is_kept(tmp_path: Path, settled: None) -> None:
    """A full run lists the incident records only; the fixtures' entries stay for the next hook run."""
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    index = IdIndex(tmp_path, MAX)
    index.ids("incidents", names[:1])
    index.save()
    _, index = ids(tmp_path, names)
    assert index.reads == 0


def test_files_checked_in_full_keep_their_entries(tmp_path: Path, settled: None) -> None:
    names = fixtures(tmp_path)
    ids(tmp_path, names)
    index = IdIndex(tmp_path, MAX)
    assert [n for n, _ in index.ids("fixtures", names, checked={names[0]})] == names[1:]
    index.save()
    _, index = ids(tmp_path, names)
    assert index.reads == 0


def test_the_index_is_kept_outside_the_repository(tmp_path: Path) -> None:
    file = idindex.index_file(tmp_path)
    assert not file.is_relative_to(tmp_path) and file.parent.parent == cache.key_file().parent
    assert idindex.index_file(tmp_path / "other") != file

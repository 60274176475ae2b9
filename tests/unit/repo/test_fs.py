"""Reading and writing files: bounded, refusing FIFOs, devices and symlinks out; atomic writes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from evalloop.repo import fs, parse
from tests.support import write


def test_huge_file_refused_without_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with p.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(fs.LoadError) as info:
        parse.load_document(p, max_bytes=1 << 20)
    assert info.value.code == "FILE001" and "52,428,800 bytes" in info.value.message


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    p = write(tmp_path / "owners.yaml", "old\n")
    os.chmod(p, 0o640)
    fs.atomic_write(p, "new\n")
    assert p.read_text() == "new\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert [x.name for x in tmp_path.iterdir()] == ["owners.yaml"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    # opening a FIFO for reading blocks until a writer comes: if it were opened, this test would hang
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(fs.LoadError) as info:
        parse.load_document(fifo, max_bytes=1 << 20, display="pipe.yaml")
    assert (info.value.code, str(info.value)) == (
        "FILE001", "pipe.yaml:1:1: a named pipe (FIFO), not a regular file; not read")


def test_character_device_and_directory_are_refused(tmp_path: Path) -> None:
    for path, what in ((Path(os.devnull), "a character device"), (tmp_path, "a directory")):
        with pytest.raises(fs.LoadError) as info:
            fs.read_text(path, "f.yaml", 1 << 20)
        assert info.value.code == "FILE001" and info.value.message.startswith(what)


def test_symlink_out_of_the_repository_is_not_read(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(repo / "evalloop.yaml", "version: 1\n")
    write(outside / "secret.yaml", "token: hunter2-outside\n")
    (outside / ".git").mkdir()  # another repository: reached through a link, it is not the boundary
    (repo / "fixtures").mkdir()
    (repo / "fixtures/leak.yaml").symlink_to(outside / "secret.yaml")
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    write(repo / "fixtures/real.yaml", "id: inside\n")
    (repo / "fixtures/alias.yaml").symlink_to(repo / "fixtures/real.yaml")
    for named in (repo / "fixtures/leak.yaml", repo / "linked/secret.yaml"):
        # the explicit root, and the one found from the path (evalloop.yaml above it)
        for root in (repo, None):
            with pytest.raises(fs.LoadError) as info:
                parse.load_document(named, max_bytes=1 << 20, display="x.yaml", root=root)
            assert info.value.code == "FILE001" and "outside the repository" in info.value.message
            assert "hunter2" not in str(info.value)
    # a link that stays inside is followed; a file named outside the repository is the caller's choice
    assert parse.load_document(repo / "fixtures/alias.yaml", max_bytes=1 << 20).data == {"id": "inside"}
    assert parse.load_document(outside / "secret.yaml", max_bytes=1 << 20, root=repo).data == {
        "token": "hunter2-outside"}


def test_reading_is_bounded_even_when_the_size_lies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc files say they are 0 bytes long; only max_bytes + 1 bytes may ever be read
    p = write(tmp_path / "f.yaml", "id: a\n" + "x: y\n" * 1000)
    sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        sizes.append(n)
        return real_read(fd, n)

    def lying(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
        def stat_(path: object, *args: object, **kwargs: object) -> os.stat_result:
            st = real(path, *args, **kwargs)
            if os.path.abspath(str(path)) != str(p):
                return st
            fields = list(st)
            fields[stat.ST_SIZE] = 0
            return os.stat_result(fields)
        return stat_

    monkeypatch.setattr(fs.os, "read", counting_read)
    monkeypatch.setattr(fs.os, "stat", lying(os.stat))
    monkeypatch.setattr(fs.os, "lstat", lying(os.lstat))
    with pytest.raises(fs.LoadError) as info:
        fs.read_text(p, "f.yaml", 100)
    assert info.value.code == "FILE001" and "over the 100-byte limit" in info.value.message
    assert sum(sizes) == 101


def test_atomic_write_new_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fs.atomic_write(tmp_path / "new.yaml", "x\n")
        os.umask(0o002)
        fs.atomic_write(tmp_path / "sub/other.yaml", "y\n")
    finally:
        os.umask(old)
    # mkstemp would have made both 0600
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "sub/other.yaml").stat().st_mode) == 0o664


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    p = write(tmp_path / "owners.yaml", "old\n")
    with pytest.raises(UnicodeEncodeError):
        fs.atomic_write(p, "new \udc80\n")  # a lone surrogate cannot be encoded
    assert p.read_text() == "old\n"
    assert [x.name for x in tmp_path.iterdir()] == ["owners.yaml"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_atomic_write_writes_into_a_fifo_or_device_instead_of_replacing_it(tmp_path: Path) -> None:
    # `--output /dev/null` as root must not turn the device into a file: the same path with a FIFO
    import threading

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    fs.atomic_write(fifo, "report\n")
    reader.join(timeout=30)
    assert got == ["report\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a regular file in its place

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from evalloop.repo import parse
from tests.support import write


def load(tmp_path: Path, name: str, text: str | bytes, max_bytes: int = 1 << 20) -> parse.Document:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return parse.load_document(p, max_bytes=max_bytes, display=name)


def error_of(tmp_path: Path, name: str, text: str | bytes, max_bytes: int = 1 << 20
             ) -> parse.LoadError:
    with pytest.raises(parse.LoadError) as info:
        load(tmp_path, name, text, max_bytes)
    return info.value


def test_duplicate_yaml_key_positioned(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.yaml", "id: a\nowner: x\nid: b\n")
    assert (e.code, e.line, e.col) == ("YAML002", 3, 1)
    assert str(e) == "f.yaml:3:1: duplicate key 'id'"


def test_duplicate_json_key_positioned(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.json", '{\n  "id": "a",\n  "id": "b"\n}')
    assert (e.code, e.line, e.col) == ("YAML002", 3, 3)


def test_object_constructing_tags_are_refused(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.yaml", "id: !!python/object/apply:os.system ['echo pwned']\n")
    assert e.code == "YAML003" and e.line == 1
    assert "\n" not in str(e)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    e = error_of(tmp_path, "f.yaml", "\n".join(lines) + "\n")
    assert e.code == "YAML003"


def test_syntax_errors_have_positions(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.yaml", "id: a\nexpected: {tools_called: [a, b\n")
    assert e.code == "YAML001" and e.line == 3
    e = error_of(tmp_path, "f.json", '{"id": "a",\n "x": }')
    assert (e.code, e.line, e.col) == ("YAML001", 2, 7)


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "empty file"),
    (b"  \n# only a comment?\n".replace(b"# only a comment?", b""), "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"id: caf\xe9\n", "not UTF-8"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    e = error_of(tmp_path, "f.yaml", content)
    assert e.code == "FILE001" and fragment in e.message


def test_huge_file_refused_without_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with p.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(parse.LoadError) as info:
        parse.load_document(p, max_bytes=1 << 20)
    assert info.value.code == "FILE001" and "52,428,800 bytes" in info.value.message


def test_locate_points_at_keys_and_values(tmp_path: Path) -> None:
    doc = load(tmp_path, "f.yaml", "id: a\nexpected:\n  tools_called:\n    - x\n    - 3\n")
    assert parse.locate(doc, ("expected", "tools_called", 1)) == (5, 7)
    assert parse.locate(doc, ("expected", "tools_called"), key=True) == (3, 3)
    assert parse.locate(doc, ("expected", "function-after", "tools_called"), key=True) == (3, 3)
    doc = load(tmp_path, "f.json", '{\n  "id": "a",\n  "expected": {"tools_called": ["x", 3]}\n}')
    assert parse.locate(doc, ("expected", "tools_called", 1)) == (3, 38)


def test_yaml_dates_become_iso_strings_for_schema_checks(tmp_path: Path) -> None:
    doc = load(tmp_path, "f.yaml", "created_at: 2026-04-18\nat: 2026-04-18T09:00:00Z\n")
    assert parse.plain(doc.data) == {"created_at": "2026-04-18", "at": "2026-04-18T09:00:00+00:00"}


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    p = write(tmp_path / "owners.yaml", "old\n")
    os.chmod(p, 0o640)
    parse.atomic_write(p, "new\n")
    assert p.read_text() == "new\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert [x.name for x in tmp_path.iterdir()] == ["owners.yaml"]


# --- issue 9: nothing hangs, nothing outside the repository is read, no tracebacks ---------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    # opening a FIFO for reading blocks until a writer comes: if it were opened, this test would hang
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(parse.LoadError) as info:
        parse.load_document(fifo, max_bytes=1 << 20, display="pipe.yaml")
    assert (info.value.code, str(info.value)) == (
        "FILE001", "pipe.yaml:1:1: a named pipe (FIFO), not a regular file; not read")


def test_character_device_and_directory_are_refused(tmp_path: Path) -> None:
    for path, what in ((Path(os.devnull), "a character device"), (tmp_path, "a directory")):
        with pytest.raises(parse.LoadError) as info:
            parse.read_text(path, "f.yaml", 1 << 20)
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
            with pytest.raises(parse.LoadError) as info:
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

    monkeypatch.setattr(parse.os, "read", counting_read)
    monkeypatch.setattr(parse.os, "stat", lying(os.stat))
    monkeypatch.setattr(parse.os, "lstat", lying(os.lstat))
    with pytest.raises(parse.LoadError) as info:
        parse.read_text(p, "f.yaml", 100)
    assert info.value.code == "FILE001" and "over the 100-byte limit" in info.value.message
    assert sum(sizes) == 101


@pytest.mark.parametrize(("text", "line", "col", "fragment"), [
    ("id: a\ncreated_at: 2026-02-30\n", 2, 13, "invalid date or time '2026-02-30': day is out of range"),
    ("id: a\nat: 2026-01-01T25:00:00Z\n", 2, 5, "hour must be in 0..23"),
    ("id: a\nruns: " + "9" * 5000 + "\n", 2, 7, "integer with 5,000 digits is too large"),
    ("id: a\nlist: [1, " + "1" * 5000 + "]\n", 2, 11, "integer with 5,000 digits"),
    ("id: !!timestamp nonsense\n", 1, 5, "invalid date or time 'nonsense'"),
    ("id: !!int abc\n", 1, 5, "invalid int 'abc'"),
])
def test_values_the_yaml_constructor_chokes_on_are_positioned(tmp_path: Path, text: str, line: int, col: int,
                                                              fragment: str) -> None:
    e = error_of(tmp_path, "f.yaml", text)
    assert (e.code, e.line, e.col) == ("YAML001", line, col)
    assert fragment in e.message and "\n" not in str(e) and len(str(e)) < 200
    # the gate's loaders parse text from git objects with parse_text: the same error
    with pytest.raises(parse.LoadError) as info:
        parse.parse_text(text, "f.yaml", is_json=False)
    assert (info.value.line, info.value.col, info.value.message) == (line, col, e.message)


def test_raw_control_character_is_positioned(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.yaml", "id: é\nowner: 'a\x1b[31m'\n")  # libyaml counts bytes, é is two
    assert (e.code, e.line, e.col) == ("YAML001", 2, 10)
    assert e.message == "invalid YAML: control characters are not allowed (character #x001b)"


def test_json_integer_over_the_digit_limit_is_positioned(tmp_path: Path) -> None:
    e = error_of(tmp_path, "f.json", '{"id": "a",\n "runs": ' + "9" * 5000 + "}")
    assert (e.code, e.line, e.col) == ("YAML001", 2, 10)
    assert e.message == "invalid JSON: integer with 5,000 digits is too large"


def test_atomic_write_new_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        parse.atomic_write(tmp_path / "new.yaml", "x\n")
        os.umask(0o002)
        parse.atomic_write(tmp_path / "sub/other.yaml", "y\n")
    finally:
        os.umask(old)
    # mkstemp would have made both 0600
    assert stat.S_IMODE((tmp_path / "new.yaml").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "sub/other.yaml").stat().st_mode) == 0o664


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    p = write(tmp_path / "owners.yaml", "old\n")
    with pytest.raises(UnicodeEncodeError):
        parse.atomic_write(p, "new \udc80\n")  # a lone surrogate cannot be encoded
    assert p.read_text() == "old\n"
    assert [x.name for x in tmp_path.iterdir()] == ["owners.yaml"]

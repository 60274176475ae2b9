from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evalloop import parse
from tests.conftest import write


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

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.repo import fs, parse


def load(tmp_path: Path, name: str, text: str | bytes, max_bytes: int = 1 << 20) -> parse.Document:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return parse.load_document(p, max_bytes=max_bytes, display=name)


def error_of(tmp_path: Path, name: str, text: str | bytes, max_bytes: int = 1 << 20
             ) -> fs.LoadError:
    with pytest.raises(fs.LoadError) as info:
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


# --- nothing hangs, nothing outside the repository is read, no tracebacks --------------------------


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
    with pytest.raises(fs.LoadError) as info:
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



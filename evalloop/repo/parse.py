"""Loading YAML and JSON documents safely, and finding where a value sits in them.

Two parsers, for two jobs. The fast path (libyaml through PyYAML's C loader,
the C JSON scanner for .json) turns a file into plain data; it is what runs
on every file, so a clean repository costs little more than parsing it. Only
when a file has findings is it parsed again with ruamel.yaml's round-trip
loader, which keeps the line and column of every key and value, so errors
point at the offending key instead of the top of the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalloop.repo.fs import LoadError, decode_text, read_text

# A document whose aliases expand beyond this many nodes is refused: walking it
# (schema validation, redaction) would take forever (the "billion laughs" file).
MAX_EXPANDED_NODES = 200_000


@dataclass
class Document:
    path: Path
    display: str
    text: str
    data: Any
    is_json: bool
    _positions: Any = field(default=None, repr=False)

    def positions(self) -> Any:
        """The ruamel.yaml round-trip tree (with line/column data), parsed on first use."""
        if self._positions is None:
            from ruamel.yaml import YAML  # only files with findings need positions

            try:
                self._positions = YAML(typ="rt", pure=True).load(self.text)
            except Exception:  # positions are a nicety; never fail the report over them
                self._positions = False
        return self._positions


class _FastLoader(yaml.CSafeLoader):
    """libyaml-backed safe loader that refuses duplicate keys (PyYAML keeps the last one)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's scalar constructors raise bare exceptions for values that match a tag's pattern
        # but are not values (ValueError for `2026-02-30` or an integer over Python's 4300-digit
        # limit; AttributeError or TypeError for `!!timestamp x`). The innermost call is the
        # offending node, so the error gets its position; the loader's own errors pass through.
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, _DuplicateKey, RecursionError):
            raise
        except Exception as exc:
            raise yaml.constructor.ConstructorError(
                None, None, _bad_scalar(node, exc), node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping node, but found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark,
                ) from None
            if key in mapping:
                raise _DuplicateKey(key, key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


class _DuplicateKey(Exception):
    def __init__(self, key: Any, mark: Any) -> None:
        super().__init__(key)
        self.key = key
        self.mark = mark


def _bad_scalar(node: yaml.Node, exc: Exception) -> str:
    value = node.value if isinstance(node.value, str) else ""
    shown = value if len(value) <= 40 else value[:37] + "..."
    kind = str(node.tag).rsplit(":", 1)[-1]
    if kind == "int" and sum(c.isdigit() for c in value) > 100:
        return f"integer with {sum(c.isdigit() for c in value):,} digits is too large"
    what = "date or time" if kind == "timestamp" else kind
    if isinstance(exc, (ValueError, OverflowError)):  # these say what is wrong ("day is out of range")
        return f"invalid {what} {shown!r}: {_one_line(str(exc))}"
    return f"invalid {what} {shown!r}"


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k, None)
        out[k] = v
    return out


def first_error(exc: Any) -> str:
    """A pydantic ValidationError's first problem as `key.path: message` (`(root)`: the document)."""
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or '(root)'}: {err['msg']}"


def _expanded_size(obj: Any, memo: dict[int, int]) -> int:
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, dict):
        n = 1 + sum(_expanded_size(v, memo) for v in obj.values())
    elif isinstance(obj, list):
        n = 1 + sum(_expanded_size(v, memo) for v in obj)
    else:
        return 1
    memo[key] = n
    return n


def _one_line(text: str) -> str:
    return " ".join(text.split())


def json_lines(text: str, display: str) -> Iterator[tuple[int, str, Any]]:
    """(line number, line, value) of each non-blank line of a JSON Lines text; a line that is not
    JSON raises LoadError at its own line."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = parse_text(line, display, is_json=True)
        except LoadError as exc:
            raise LoadError(exc.code, exc.message, path=display, line=lineno, col=exc.col or 1) from None
        yield lineno, line, data


def parse_text(text: str, display: str, *, is_json: bool) -> Any:
    """Parse YAML or JSON text into plain data, raising LoadError with a position."""
    if is_json:
        try:
            return json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise LoadError("YAML001", f"invalid JSON: {exc.msg}", path=display,
                            line=exc.lineno, col=exc.colno) from None
        except _DuplicateKey as exc:
            line, col = _find_json_key(text, str(exc.key))
            raise LoadError("YAML002", f"duplicate key {exc.key!r}", path=display,
                            line=line, col=col) from None
        except RecursionError:
            raise LoadError("YAML003", "JSON nested too deeply", path=display) from None
        except ValueError as exc:  # an integer over Python's digit limit: not a JSONDecodeError
            m = _LONG_DIGITS.search(text)
            line, col = offset_to_position(text, m.start()) if m else (1, 1)
            msg = f"integer with {len(m.group()):,} digits is too large" if m else _one_line(str(exc))
            raise LoadError("YAML001", f"invalid JSON: {msg}", path=display, line=line, col=col) from None
    try:
        data = yaml.load(text, Loader=_FastLoader)
    except _DuplicateKey as exc:
        raise LoadError("YAML002", f"duplicate key {exc.key!r}", path=display,
                        line=exc.mark.line + 1, col=exc.mark.column + 1) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problem = _one_line(exc.problem or "cannot construct value")
        if "could not determine a constructor" in problem:
            problem = "YAML tag not allowed here (only plain data; no object-constructing tags): " \
                + problem.split("for the tag", 1)[-1].strip()
            code = "YAML003"
        else:
            code = "YAML001"
        raise LoadError(code, problem, path=display,
                        line=mark.line + 1 if mark else 1, col=mark.column + 1 if mark else 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = _one_line(" ".join(p for p in (exc.context, exc.problem) if p)) or "invalid YAML"
        raise LoadError("YAML001", f"invalid YAML: {msg}", path=display,
                        line=mark.line + 1 if mark else 1, col=mark.column + 1 if mark else 1) from None
    except yaml.reader.ReaderError as exc:  # a control character: YAML allows none in a document
        line, col = _reader_position(text, exc)
        raise LoadError("YAML001", f"invalid YAML: {_one_line(exc.reason)} (character #x{exc.character:04x})",
                        path=display, line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise LoadError("YAML001", f"invalid YAML: {_one_line(str(exc))}", path=display) from None
    except RecursionError:
        raise LoadError("YAML003", "YAML nested too deeply", path=display) from None
    except (ValueError, OverflowError) as exc:  # a constructor error outside any node; never a traceback
        raise LoadError("YAML001", f"invalid YAML: {_one_line(str(exc))}", path=display) from None
    if "*" not in text:  # no aliases, nothing can expand
        return data
    try:
        size = _expanded_size(data, {})
    except RecursionError:
        raise LoadError("YAML003", "YAML nested too deeply", path=display) from None
    if size > MAX_EXPANDED_NODES:
        raise LoadError("YAML003", f"document expands to more than {MAX_EXPANDED_NODES:,} values "
                        "(aliases nested too deeply?)", path=display)
    return data


def _reader_position(text: str, exc: yaml.reader.ReaderError) -> tuple[int, int]:
    """Where a ReaderError's character is: libyaml counts bytes of the UTF-8 text, PyYAML characters."""
    pos, char = exc.position, exc.character
    if not isinstance(pos, int) or not isinstance(char, int) or pos < 0:
        return 1, 1
    if pos < len(text) and ord(text[pos]) == char:
        return offset_to_position(text, pos)
    raw = text.encode("utf-8", errors="surrogatepass")
    if pos < len(raw) and raw[pos] == char:
        return offset_to_position(text, len(raw[:pos].decode("utf-8", errors="replace")))
    return 1, 1


# sys.get_int_max_str_digits() defaults to 4300: a longer integer fails int(), not the JSON scanner.
_LONG_DIGITS = re.compile(r"\d{4301,}")


def _find_json_key(text: str, key: str) -> tuple[int, int]:
    """Position of the second occurrence of a quoted key (the duplicate), best effort."""
    needle = json.dumps(key)
    first = text.find(needle)
    second = text.find(needle, first + 1) if first >= 0 else -1
    at = second if second >= 0 else max(first, 0)
    return offset_to_position(text, at)


def offset_to_position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def load_document(path: Path, *, max_bytes: int, display: str | None = None,
                  root: Path | None = None) -> Document:
    """Read (see read_bytes: `root` bounds where symlinks may lead) and parse a YAML or JSON file."""
    shown = display if display is not None else str(path)
    text = read_text(path, shown, max_bytes, root=root)
    is_json = path.suffix.lower() == ".json"
    return Document(path=path, display=shown, text=text,
                    data=parse_text(text, shown, is_json=is_json), is_json=is_json)


def blob_document(raw: bytes, display: str) -> Document:
    """Bytes read from git's objects as a parsed document (LoadError for what is not small UTF-8 YAML/JSON)."""
    text = decode_text(raw, display)
    is_json = display.lower().endswith(".json")
    return Document(path=Path(display), display=display, text=text,
                    data=parse_text(text, display, is_json=is_json), is_json=is_json)


def locate(doc: Document, loc: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]:
    """1-based (line, col) of the value at `loc` (or of its key with `key=True`).

    Parts of `loc` that do not name a child (pydantic adds union branch names)
    are skipped; the deepest position reached is returned.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = doc.positions()
    pos = (0, 0)
    if node is False or node is None:
        return 1, 1
    parts = list(loc)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, CommentedMap):
            found = part if part in node else (str(part) if str(part) in node else None)
            if found is None:
                continue
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                pos = node.lc.key(found) if last and key else node.lc.value(found)
            node = node[found]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                pos = node.lc.item(part)
            node = node[part]
    return pos[0] + 1, pos[1] + 1


def plain(obj: Any) -> Any:
    """Data as JSON would have it: YAML dates and times become ISO strings."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


__all__ = ["Document", "load_document", "locate", "offset_to_position", "parse_text", "plain"]

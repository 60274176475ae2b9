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
import functools
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalloop.errors import EvalloopError

# A document whose aliases expand beyond this many nodes is refused: walking it
# (schema validation, redaction) would take forever (the "billion laughs" file).
MAX_EXPANDED_NODES = 200_000


class LoadError(EvalloopError):
    """A file that cannot be turned into data; `code` is the stable finding code."""

    def __init__(self, code: str, message: str, *, path: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message, path=path, line=line, col=col)
        self.code = code


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


# What a path is when it is not a regular file; none of these is ever opened.
_SPECIAL = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))
_READ_CHUNK = 1 << 20
_ROOT_MARKERS = ("evalloop.yaml", ".git")


def _within(path: str, folder: str) -> bool:
    path, folder = os.path.normcase(path), os.path.normcase(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# Every fixture read resolves its folder and looks for its repository: both per folder, cached,
# as a repository has thousands of fixtures in a few folders (os.path.realpath costs an lstat per
# component; uncached this tripled the cost of reading a file). The threat is a hostile checkout,
# which does not rearrange its folders while evalloop runs; a fixture that is itself a symlink is
# resolved afresh every time.
@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


@functools.lru_cache(maxsize=4096)
def _repository_of_folder(folder: str) -> str | None:
    chain = [folder, *map(str, Path(folder).parents)]  # deepest first
    marks = [tuple(os.path.lexists(os.path.join(f, m)) for m in _ROOT_MARKERS) for f in chain]
    # A symlinked folder with a repository above it is inside that repository: markers found
    # through it (`fixtures/x -> ~/other-repo`, which has a .git) belong to the link's target and
    # must not become the boundary. A link with no repository above it (a checkout reached
    # through a symlinked home) is just the way there.
    lowest = 0
    for i, f in enumerate(chain):
        if os.path.islink(f) and any(any(m) for m in marks[i + 1:]):
            lowest = i + 1
    for k in range(len(_ROOT_MARKERS)):  # the nearest evalloop.yaml, else the nearest .git
        for f, m in zip(chain[lowest:], marks[lowest:], strict=True):
            if m[k]:
                return f
    return None


def repository_of(path: Path) -> Path | None:
    """The repository a path is named in: the nearest folder above it holding evalloop.yaml,
    else .git, not counting markers reached through a symlinked folder inside a repository;
    None for a loose file."""
    found = _repository_of_folder(os.path.dirname(os.path.abspath(path)))
    return Path(found) if found is not None else None


def _resolved(named: str, is_link: bool) -> str:
    """The real path of the absolute path `named` (its folder's resolution cached, see above)."""
    if is_link:
        return os.path.realpath(named)
    folder, name = os.path.split(named)
    return os.path.join(_real_folder(folder), name)


def _leaves(named: str, real: str, root: Path) -> bool:
    abs_root = os.path.abspath(root)
    real_root = _real_folder(abs_root)
    if not (_within(named, abs_root) or _within(named, real_root)):
        return False  # named outside the repository: the caller asked for that very file
    return not _within(real, real_root)


def leaves_repository(path: Path, root: Path) -> bool:
    """True when `path`, named inside `root`, resolves (through a symlink) to somewhere outside it."""
    named = os.path.abspath(path)
    return _leaves(named, _resolved(named, os.path.islink(named)), root)


def read_bytes(path: Path, display: str, max_bytes: int, *, root: Path | None = None) -> bytes:
    """At most `max_bytes` of a regular file, or a FILE001 LoadError.

    FIFOs (opening one blocks until a writer comes), devices, sockets and symlinks out of the
    repository (`root`, by default the one the path is named in) are refused from their stat,
    before anything is opened, so a hostile checkout can neither hang the gate nor get a file
    such as /etc/passwd quoted in a finding. Nothing beyond max_bytes + 1 is ever read.
    """
    try:
        named = os.path.abspath(path)
        st = os.lstat(named)
        is_link = stat.S_ISLNK(st.st_mode)
        if is_link:
            st = os.stat(named)
        for test, what in _SPECIAL:
            if test(st.st_mode):
                raise LoadError("FILE001", f"{what}, not a regular file; not read", path=display)
        real = _resolved(named, is_link)
        base = root if root is not None else repository_of(path)
        if base is not None and _leaves(named, real, base):
            raise LoadError("FILE001", "leads outside the repository through a symlink; not read",
                            path=display)
        if st.st_size > max_bytes:
            raise _too_big(f"file is {st.st_size:,} bytes, over the", max_bytes, display)
        # O_NOFOLLOW on the resolved path and the same-inode check below: a file swapped for a
        # link or a FIFO after the checks above is refused, not followed; O_NONBLOCK so that
        # even then the open cannot block.
        flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        fd = os.open(real, flags)
        try:
            opened = os.fstat(fd)
            if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                raise LoadError("FILE001", "file changed while being read; not read", path=display)
            chunks: list[bytes] = []
            total = 0
            while total <= max_bytes:  # max_bytes + 1 tells an oversized file apart (/proc lies about sizes)
                chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise LoadError("FILE001", f"cannot read file: {exc.strerror or exc}", path=display) from None
    if total > max_bytes:
        raise _too_big("file is over the", max_bytes, display)
    return b"".join(chunks)


def _too_big(what: str, max_bytes: int, display: str) -> LoadError:
    return LoadError("FILE001", f"{what} {max_bytes:,}-byte limit (max_fixture_bytes); a fixture should be "
                     "the minimal reproduction", path=display)


def read_text(path: Path, display: str, max_bytes: int, *, root: Path | None = None) -> str:
    """The file's text, or a LoadError for what is not a small UTF-8 text file (see read_bytes)."""
    return decode_text(read_bytes(path, display, max_bytes, root=root), display)


def first_error(exc: Any) -> str:
    """A pydantic ValidationError's first problem as `key.path: message` (`(root)`: the document)."""
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or '(root)'}: {err['msg']}"


def decode_text(raw: bytes, display: str) -> str:
    """A file's or a git blob's bytes as text, or a LoadError for what is not UTF-8 YAML/JSON text."""
    if b"\x00" in raw[:8192]:
        raise LoadError("FILE001", "binary file (contains NUL bytes), expected YAML or JSON text",
                        path=display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError("FILE001", f"not UTF-8 text (invalid byte at offset {exc.start})",
                        path=display, line=line) from None
    if not text.strip():
        raise LoadError("FILE001", "empty file", path=display)
    return text


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


def atomic_write(path: Path, text: str) -> None:
    """Write by rename so a crash never leaves a half-written user file.

    The temporary file sits in the target's folder (os.replace is atomic only within one file
    system) and is created with mode 0o666 so the kernel applies the umask (and any default
    ACL), as for any file the user creates; tempfile.mkstemp would force 0600. A file being
    replaced keeps its own mode. On any error the temporary file goes and the old file stays.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name next to {path}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the name points at it
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; best effort (not possible on every OS or file system)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Document", "LoadError", "atomic_write", "leaves_repository", "load_document", "locate",
           "offset_to_position", "parse_text", "plain", "read_bytes", "read_text", "repository_of"]

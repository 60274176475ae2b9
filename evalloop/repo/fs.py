"""Reading and writing the repository's files safely.

Reads are bounded and refuse what a hostile checkout could use against the reader (FIFOs that
block, devices, symlinks out of the repository); writes go through a rename, so a crash never
leaves a half-written user file.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import stat
from pathlib import Path

from evalloop.errors import EvalloopError


class LoadError(EvalloopError):
    """A file that cannot be turned into data; `code` is the stable finding code."""

    def __init__(self, code: str, message: str, *, path: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message, path=path, line=line, col=col)
        self.code = code


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


def atomic_write(path: Path, text: str) -> None:
    """Write by rename so a crash never leaves a half-written user file.

    The temporary file sits in the target's folder (os.replace is atomic only within one file
    system) and is created with mode 0o666 so the kernel applies the umask (and any default
    ACL), as for any file the user creates; tempfile.mkstemp would force 0600. A file being
    replaced keeps its own mode. On any error the temporary file goes and the old file stays.

    A target that exists and is not a regular file (`--output /dev/null`, `/dev/stdout`, a FIFO)
    is written to, never renamed over: replacing /dev/null with a file, as root, would break
    every program on the machine.
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"{path} is a directory")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
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

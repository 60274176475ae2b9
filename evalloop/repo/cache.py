"""Signed caches: what the gate remembers between runs is verified before it is believed.

The fixture-identity cache decides what gets selected, and it lives where the
agent under test can write (`.git/evalloop/` of the repository it runs in). So
every cache file carries an HMAC-SHA256 of its body under a per-user key kept
outside the repository (`$XDG_CACHE_HOME/evalloop/cache-key`, mode 0600; the
harness gives the agent a HOME and XDG_CACHE_HOME of its own). A file whose
signature does not verify, or that is not what we wrote, is ignored with a
note and rebuilt: never trusted, never a crash. Entries are keyed by git blob
id, which is itself the hash of the content they describe.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

MAGIC = b"evalloop-signed-cache 1 "
KEY_BYTES = 32


def key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalloop" / "cache-key"


def signing_key() -> bytes | None:
    """The per-user key, created on first use; None when it cannot be had (then nothing is cached)."""
    path = key_file()
    try:
        raw = path.read_bytes()
        if len(raw) == KEY_BYTES:
            return raw
    except OSError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".cache-key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(KEY_BYTES))
        try:
            os.link(tmp, path)  # first writer wins; a concurrent gate reads the winner's key
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        raw = path.read_bytes()
    except OSError:
        return None
    return raw if len(raw) == KEY_BYTES else None


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def load(path: Path, notes: list[str]) -> dict[str, Any]:
    """The cache's entries, or {} (with a note saying why) when it cannot be believed."""
    if not path.is_file():
        return {}
    key = signing_key()
    if key is None:
        return {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        notes.append(f"ignored the cache {path}: {exc.strerror or exc}; rebuilt it")
        return {}
    head, sep, body = raw.partition(b"\n")
    if not sep or not head.startswith(MAGIC) or not hmac.compare_digest(head[len(MAGIC):], _mac(key, body)):
        notes.append(f"ignored the cache {path}: its signature does not verify (edited, corrupted or written "
                     "by another user); rebuilt it from the fixtures")
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        notes.append(f"ignored the cache {path}: not a cache this version wrote; rebuilt it")
        return {}
    return data


def store(path: Path, data: dict[str, Any]) -> None:
    """Sign and write atomically; a cache that cannot be written is simply not kept."""
    from evalloop.repo.fs import atomic_write

    key = signing_key()
    if key is None:
        return
    body = orjson.dumps(data)
    with contextlib.suppress(OSError):
        atomic_write(path, (MAGIC + _mac(key, body) + b"\n" + body).decode())

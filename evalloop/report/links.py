"""Links from a report into the repository on GitHub: a file at a commit.

Every part of such a URL but our own words comes from outside: the server and the
repository from the Actions environment, the commit and the path from the report (which,
in the workflow_run pattern, a fork's run wrote). So a URL is built only from a plain https
server, an `owner/name`, a hexadecimal commit and a relative path without `.` or `..`
segments, percent-encoded; anything else gives no link, never a link somewhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_SERVER = re.compile(r"https://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 and SHA-256 repositories


@dataclass(frozen=True)
class RepoLinks:
    """Where the repository is: `<server>/<owner>/<name>`."""

    server: str
    repository: str

    @classmethod
    def of(cls, server: str, repository: str) -> RepoLinks | None:
        """The links of `repository` on `server` (GITHUB_SERVER_URL, GITHUB_REPOSITORY); None
        when either is missing or not plain."""
        server = server.rstrip("/")
        if not _SERVER.fullmatch(server) or not _REPOSITORY.fullmatch(repository):
            return None
        if any(part in (".", "..") for part in repository.split("/")):
            return None
        return cls(server, repository)

    def blob(self, commit: str | None, path: str | None, prefix: str | None = None) -> str | None:
        """The URL of `path` (relative to the evalloop root, at `prefix` in the repository) at
        `commit`, or None when one of them cannot make a link."""
        if not commit or not path or not _COMMIT.fullmatch(commit):
            return None
        full = (prefix or "") + path
        parts = full.split("/")
        if any(p in ("", ".", "..") for p in parts) or any(ord(c) < 0x20 or c == "\\" for c in full):
            return None
        return f"{self.server}/{self.repository}/blob/{commit}/{quote(full, safe='/')}"

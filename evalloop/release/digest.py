"""The digest of an artifact (a file or a folder) at a git revision and in the work tree.

`sha256:<hex>`: of a file, its bytes (what `sha256sum` prints); of a folder, of the list of its
files sorted by their path inside the folder, each as `path NUL sha256(bytes) LF`, so adding,
removing, renaming or changing any file changes it. Symlinks and submodules inside an artifact
are refused: their content is not the artifact's, and a restore could not reproduce them safely.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import git

from evalloop.errors import EvalloopError, UsageError
from evalloop.repo import fs
from evalloop.repo.git import open_repo, prefix_of, read_blobs, resolve

MAX_FILE_BYTES = 256 << 20
_EXECUTABLE = "100755"


@dataclass(frozen=True)
class Snapshot:
    """One version of an artifact: its files by path inside it ("" for a single file)."""

    artifact: str  # relative to the evalloop root
    is_file: bool
    files: dict[str, bytes]
    executable: frozenset[str]  # files with git's mode 100755
    digest: str

    def root_path(self, rel: str) -> str:
        """A file's path relative to the evalloop root."""
        return self.artifact if rel == "" else f"{self.artifact}/{rel}"


def digest_of(files: dict[str, bytes], *, is_file: bool) -> str:
    if is_file:
        return "sha256:" + hashlib.sha256(files[""]).hexdigest()
    h = hashlib.sha256()
    for rel in sorted(files, key=lambda p: p.encode("utf-8", "surrogateescape")):
        line = rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(files[rel]).hexdigest().encode()
        h.update(line + b"\n")
    return "sha256:" + h.hexdigest()


def _inside(path: str, full: str) -> str | None:
    """`path` (a path in the git tree) relative to the artifact `full`: "" for the artifact
    itself, None when it is elsewhere."""
    if path == full:
        return ""
    return path[len(full) + 1:] if path.startswith(full + "/") else None


def snapshot_at(repo: git.Repo, commit: str, prefix: str, artifact: str) -> Snapshot | None:
    """The artifact as `commit` holds it, or None when it holds nothing at that path."""
    return _snapshot_tree(repo, resolve(repo, commit, "the").hexsha, prefix, artifact)


def snapshot_index(repo: git.Repo, prefix: str, artifact: str) -> Snapshot | None:
    """The artifact as the index (what the next commit holds) has it."""
    return _snapshot_tree(repo, repo.git.write_tree(), prefix, artifact)


def _snapshot_tree(repo: git.Repo, sha: str, prefix: str, artifact: str) -> Snapshot | None:
    full = prefix + artifact
    out = repo.git.ls_tree("-r", "-z", "--full-tree", sha, "--", full, strip_newline_in_stdout=False)
    listed: dict[str, tuple[str, str]] = {}
    for rec in out.split("\0"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        mode, kind, blob = meta.split(" ")
        rel = _inside(path, full)
        if rel is None:
            continue
        if kind != "blob" or mode == "120000":
            what = "a submodule" if kind == "commit" else "a symlink"
            raise UsageError(f"{path} at {sha[:12]} is {what}: an artifact is regular files only")
        listed[rel] = (mode, blob)
    if not listed:
        return None
    is_file = "" in listed
    blobs = read_blobs(repo, [b for _, b in listed.values()])
    files: dict[str, bytes] = {}
    for rel, (_mode, blob) in listed.items():
        if blob not in blobs:
            raise EvalloopError(f"git object {blob[:12]} of {prefix + artifact} at {sha[:12]} is missing "
                                "from the clone")
        files[rel] = blobs[blob]
    executable = frozenset(r for r, (mode, _) in listed.items() if mode == _EXECUTABLE)
    return Snapshot(artifact, is_file, files, executable, digest_of(files, is_file=is_file))


def snapshot_worktree(repo: git.Repo, root: Path, artifact: str) -> Snapshot | None:
    """The artifact in the work tree: the files git tracks or would track (untracked, not
    ignored) under its path; None when there are none."""
    prefix = prefix_of(repo, root)
    full = prefix + artifact
    out = repo.git.ls_files("-c", "-o", "--exclude-standard", "-z", "--", f":(top,literal){full}",
                            strip_newline_in_stdout=False)
    top = Path(repo.working_tree_dir or root)
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for path in dict.fromkeys(p for p in out.split("\0") if p):
        rel = _inside(path, full)
        if rel is None:
            continue
        where = top / path
        try:
            st = os.lstat(where)
        except FileNotFoundError:
            continue  # tracked but deleted: not part of this version
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path} is not a regular file (a symlink, submodule or special file): "
                             "an artifact is regular files only")
        files[rel] = fs.read_bytes(where, path, MAX_FILE_BYTES, root=top)
        if st.st_mode & stat.S_IXUSR:
            executable.add(rel)
    if not files:
        return None
    is_file = "" in files
    return Snapshot(artifact, is_file, files, frozenset(executable), digest_of(files, is_file=is_file))


def artifact_digest(root: Path, artifact: str, revision: str | None = None) -> str | None:
    """The artifact's digest at `revision` (a commit-ish), or in the work tree when None; None
    when there is nothing at that path. `artifact` is relative to the evalloop root `root`."""
    repo = open_repo(root)
    if revision is None:
        snap = snapshot_worktree(repo, root, artifact)
    else:
        snap = snapshot_at(repo, revision, prefix_of(repo, root), artifact)
    return snap.digest if snap is not None else None

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from tests.support import PROJECT, invoke


@pytest.fixture
def chdir(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture
def repo(chdir: Path) -> Path:
    """A real git repository scaffolded with `evalloop init`."""
    git.Repo.init(chdir)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    return chdir


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's cache-signing key and logs go to a test folder, not the developer's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as committed plus the working tree, as try-repo would see it in a clone."""
    src = tmp_path_factory.mktemp("src") / "evalloop"
    ignore = shutil.ignore_patterns(".git", "venv", ".venv", "*.egg-info", "__pycache__", "bench",
                                    ".mypy_cache", ".ruff_cache", ".pytest_cache", "build")
    shutil.copytree(PROJECT, src, ignore=ignore)
    r = git.Repo.init(src)
    r.git.add(A=True)
    r.git.commit(m="snapshot", author="t <t@example.com>", env={"GIT_COMMITTER_NAME": "t",
                                                                "GIT_COMMITTER_EMAIL": "t@example.com"})
    return src

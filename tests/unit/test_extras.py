"""The optional dependencies: a command that needs one that is missing says which extra to install."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from evalloop.extras import require
from tests.support import invoke


def _without(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kw: Any) -> Any:
        return None if name == missing else real(name, *args, **kw)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    require("scipy", "canary", "evalloop canary")  # installed with the test extra: no error
    _without(monkeypatch, "scipy")
    with pytest.raises(Exception, match=r"evalloop canary needs scipy, which is not installed: "
                                        r"pip install 'evalloop\[canary\]'"):
        require("scipy", "canary", "evalloop canary")


@pytest.mark.parametrize(("missing", "args", "extra"), [
    ("scipy", ["canary", "--baseline", "b.json", "--candidate", "c.json"], "canary"),
    ("matplotlib", ["metrics", "--format", "html"], "dashboard"),
])
def test_the_commands_say_it_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, missing: str,
                                         args: list[str], extra: str) -> None:
    monkeypatch.chdir(tmp_path)
    _without(monkeypatch, missing)
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].endswith(f"pip install 'evalloop[{extra}]'")

"""One glob rule (.gitignore's) for config globs, scope.paths, --select path: and validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.gate.expressions import Subject, compile_select
from evalloop.repo.globs import glob_bases, glob_rel, matches
from tests.support import write


@pytest.mark.parametrize(("patterns", "path", "expected"), [
    (["fixtures/*.yaml"], "fixtures/a.yaml", True),
    (["fixtures/*.yaml"], "fixtures/refund/a.yaml", False),  # `*` stays within a folder
    (["fixtures/**/*.yaml"], "fixtures/a.yaml", True),  # `**/` spans zero folders too
    (["fixtures/**/*.yaml"], "fixtures/refund/deep/a.yaml", True),
    (["fixtures/*.yaml"], "evals/fixtures/a.yaml", False),  # a slash in the middle anchors
    (["*.yaml"], "evals/deep/a.yaml", True),  # no slash: any depth, as in .gitignore
    (["/*.yaml"], "evals/a.yaml", False),
    (["prompts/"], "prompts/refund/system.md", True),  # a folder covers what is under it
    (["prompts"], "prompts/system.md", True),
    (["fixtures/**", "!fixtures/drafts/**"], "fixtures/drafts/a.yaml", False),
    (["fixtures/**", "!fixtures/drafts/**"], "fixtures/live/a.yaml", True),
    (["fixtures/a?.yaml"], "fixtures/ab.yaml", True),
    (["fixtures/[ab].yaml"], "fixtures/c.yaml", False),
    ([], "fixtures/a.yaml", False),
])
def test_the_rule_is_gitignores(patterns: list[str], path: str, expected: bool) -> None:
    assert matches(patterns, path) is expected


def test_a_name_holding_a_newline_cannot_escape_double_star() -> None:
    assert matches(["prompts/**"], "prompts/a\nb/system.md")
    assert matches(["fixtures/**/*.json"], "fixtures/x\ny/a.json")


def test_bases_are_where_a_walk_starts() -> None:
    assert glob_bases(["fixtures/refund/**/*.yaml", "evals/*.json"]) == ["evals", "fixtures/refund"]
    assert glob_bases(["*.yaml"]) == [""]  # any depth: from the root
    assert glob_bases(["!fixtures/x", "/top.yaml"]) == [""]


def test_the_walk_finds_what_the_rule_matches_once(tmp_path: Path) -> None:
    for rel in ("fixtures/a.yaml", "fixtures/drafts/b.yaml", "evals/deep/c.yaml", "README.md"):
        write(tmp_path / rel, "x")
    assert glob_rel(tmp_path, ["fixtures/**", "*.yaml", "!fixtures/drafts/**"]) == [
        "evals/deep/c.yaml", "fixtures/a.yaml"]


def test_select_path_uses_the_same_rule() -> None:
    def subject(path: str) -> Subject:
        return Subject(id="x", severity="blocking", owner=None, gates=None, routes=(), incident_id=None, path=path)

    pick = compile_select(["path:fixtures/*.yaml"])
    assert pick(subject("fixtures/a.yaml")) and not pick(subject("fixtures/refund/a.yaml"))
    assert compile_select(["path:fixtures/**"])(subject("fixtures/refund/a.yaml"))

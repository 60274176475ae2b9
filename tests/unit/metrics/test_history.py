"""The main line's history: committer times on the first-parent line, as the generated history set them."""

from __future__ import annotations

import random
from pathlib import Path

from evalloop.metrics.history import read_history
from evalloop.repo.config import load_config
from tests.support.gitrepo import AUTHOR
from tests.unit.metrics.loop import Loop, at


def test_first_fixture_and_record_times_follow_the_generated_history(tmp_path: Path) -> None:
    rng = random.Random(15)
    loop = Loop(tmp_path)
    day = 2
    for n in range(12):
        opened = f"2026-02-{day:02d}"
        loop.incident(f"INC-{n}", opened=opened, added=f"2026-02-{day:02d}T08:00")
        if rng.random() < 0.7:
            for k in range(rng.randint(1, 2)):  # a second fixture naming it does not move the first time
                loop.fixture(f"fx-{n}-{k}", committed=f"2026-02-{day + rng.randint(0, 3):02d}T1{k}:00",
                             incident_id=f"INC-{n}", severity=rng.choice(["blocking", "warning"]))
        day += 2
    history = read_history(tmp_path, load_config(tmp_path))
    expected_first: dict[str, object] = {}
    for f in loop.truth["fixtures"]:
        if f["incident_id"] not in expected_first or f["committed"] < expected_first[f["incident_id"]]:  # type: ignore[operator]
            expected_first[f["incident_id"]] = f["committed"]
    assert history.first_fixture == expected_first
    assert history.incident_added == {i["id"]: at(i["opened"].strftime("%Y-%m-%d") + "T08:00")
                                      for i in loop.truth["incidents"]}
    blocking = sum(f["severity"] == "blocking" for f in loop.truth["fixtures"])
    assert history.blocking[-1][1:] == (blocking, len(loop.truth["fixtures"]))


def test_a_side_branch_counts_when_it_is_merged_not_when_it_was_written(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.incident("INC-1", opened="2026-03-02")
    main = loop.repo.active_branch
    side = loop.repo.create_head("side")
    side.checkout()
    loop.fixture("fx-1", committed="2026-03-03", incident_id="INC-1")
    main.checkout()
    loop.artifact("prompts/a.md", "2026-03-05")
    loop.repo.git.merge("side", "--no-ff", "-m", "merge side",
                        env={"GIT_COMMITTER_DATE": "2026-03-09T10:00:00+0000", "GIT_AUTHOR_DATE":
                             "2026-03-09T10:00:00+0000", "GIT_COMMITTER_NAME": AUTHOR.name,
                             "GIT_COMMITTER_EMAIL": AUTHOR.email, "GIT_AUTHOR_NAME": AUTHOR.name,
                             "GIT_AUTHOR_EMAIL": AUTHOR.email})
    history = read_history(tmp_path, load_config(tmp_path))
    assert history.first_fixture == {"INC-1": at("2026-03-09T10:00")}
    assert [(c.kind, c.path) for c in history.artifact_changes] == [("prompt", "prompts/a.md")]


def test_a_deleted_fixture_leaves_the_count(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.fixture("a", committed="2026-03-02")
    loop.fixture("b", committed="2026-03-03", severity="warning")
    loop.remove("fixtures/a.yaml", "2026-03-04")
    history = read_history(tmp_path, load_config(tmp_path))
    assert [b[1:] for b in history.blocking] == [(1, 1), (1, 2), (0, 1)]
    assert history.blocking_at(at("2026-03-03T12:00")) == (1, 2)
    assert history.blocking_at(at("2026-03-01")) is None


def test_outside_git_the_history_is_missing_not_empty(tmp_path: Path) -> None:
    from evalloop.metrics.sources import Options, load

    (tmp_path / "evalloop.yaml").write_text("version: 1\n")
    data = load(tmp_path, load_config(tmp_path), Options())
    assert data.history is None
    [source] = [s for s in data.sources if s.name == "git history"]
    assert (source.found, source.where) == (False, "HEAD: not a git repository")

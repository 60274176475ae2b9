"""`evalloop run`'s fixtures: every fixture file, or those `--select` picks (unreadable ones always
kept), and the report of their results."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.gate.run import fixtures_to_run, run_report
from evalloop.model.config import Config
from evalloop.model.results import FixtureResult
from evalloop.repo.fixtures import LoadedFixture
from tests.support import write

FIXTURE = "id: {id}\nowner: t\nseverity: {severity}\ninput: {{user_message: hi}}\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path / "fixtures/a.yaml", FIXTURE.format(id="a", severity="blocking"))
    write(tmp_path / "fixtures/b.yaml", FIXTURE.format(id="b", severity="warning"))
    write(tmp_path / "fixtures/broken.yaml", "id: [unclosed\n")
    return tmp_path


def test_without_select_every_file_in_order_unparsed(root: Path) -> None:
    assert fixtures_to_run(root, Config(), ()) == [str(root / f"fixtures/{n}.yaml") for n in ("a", "b", "broken")]
    with pytest.raises(UsageError, match="no fixture files match"):
        fixtures_to_run(root, Config(fixtures=["none/**/*.yaml"]), ())


def test_select_picks_loaded_fixtures_and_keeps_the_unreadable(root: Path) -> None:
    chosen = fixtures_to_run(root, Config(), ("severity:warning",))
    assert [c.fixture.id if isinstance(c, LoadedFixture) else c for c in chosen] == [
        "b", str(root / "fixtures/broken.yaml")]
    with pytest.raises(UsageError, match="no fixture matches --select nope / other"):
        fixtures_to_run(root, Config(fixtures=["fixtures/a.yaml"]), ("nope", "other"))


def test_the_report_selects_every_result_by_the_command_line() -> None:
    results = [FixtureResult(id="a", severity="blocking", status="pass", path="fixtures/a.yaml"),
               FixtureResult(id="b", severity="warning", status="fail")]
    report = run_report(results, ("a", "b"))
    assert report.verdict == "warn" and report.counts.selected == 2
    assert [(s.id, s.path, s.reasons) for s in report.selected] == [
        ("a", "fixtures/a.yaml", ["--select a / b"]), ("b", "", ["--select a / b"])]
    assert run_report(results, ()).selected[0].reasons == ["evalloop run: every fixture"]

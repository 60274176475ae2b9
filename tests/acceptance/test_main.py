"""The command line's last line of defence: a bug is one line and exit 3, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from evalloop import main as main_module
from evalloop.commands import validate as validate_cmd
from evalloop.main import cli
from tests.support import PROJECT, write


def _boom(*args: object, **kwargs: object) -> int:
    raise RuntimeError("kaboom\nsecond line \x1b[31mred")


def test_internal_error_is_one_line_exit_3_with_the_traceback_logged(
        repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(validate_cmd, "validate", _boom)
    result = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
    assert result.exit_code == 3
    log = cache / "evalloop" / "evalloop.log"
    assert result.output == (f"evalloop: internal error: RuntimeError: kaboom\\nsecond line \\x1b[31mred "
                             f"(full traceback written to {log})\n")
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "_boom" in text and "kaboom" in text


def test_unwritable_cache_falls_back_to_a_temporary_file(
        repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    blocker = tmp_path_factory.mktemp("cache") / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmp")))
    monkeypatch.setattr(main_module.tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setattr(validate_cmd, "validate", _boom)
    result = CliRunner().invoke(cli, ["validate"], catch_exceptions=False)
    assert result.exit_code == 3
    where = result.output.rsplit("(full traceback written to ", 1)[1].rstrip(")\n")
    assert Path(where).parent == Path(os.environ["TMPDIR"]) and "kaboom" in Path(where).read_text()


def test_user_errors_and_click_usage_keep_their_codes(repo: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", "--format", "xml"]).exit_code == 2  # click's usage error
    missing = runner.invoke(cli, ["validate", "fixtures/no\nsuch \x1b[2Jfile.yaml"])
    assert missing.exit_code == 2
    assert missing.output == "evalloop: error: fixtures/no\\nsuch \\x1b[2Jfile.yaml: no such file\n"


def test_subprocess_internal_error_exits_3_without_traceback(tmp_path: Path) -> None:
    # the real entry point (python -m evalloop's main) in its own process, with one command broken
    write(tmp_path / "evalloop.yaml", "version: 1\n")
    code = ("import sys\n"
            "import evalloop.commands.validate as v\n"
            "def broken(*a, **k):\n"
            "    return {}['no-such-key']\n"
            "v.validate = broken\n"
            "from evalloop.main import main\n"
            "sys.exit(main(['validate']))\n")
    cache = tmp_path / "cache"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(PROJECT)},
                          timeout=300)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    log = cache / "evalloop" / "evalloop.log"
    assert proc.stderr == f"evalloop: internal error: KeyError: 'no-such-key' (full traceback written to {log})\n"
    assert "in broken" in log.read_text()


def test_help_lists_the_exit_codes() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    assert "3 internal error" in " ".join(out.split())


def _help(*command: str) -> str:
    return " ".join(CliRunner().invoke(cli, [*command, "--help"]).output.split())


def test_run_and_gate_share_their_options_and_words() -> None:
    run, gate = _help("run"), _help("gate")
    for text in ("--fail-on-warn Exit 1 on a warn verdict as well as on block.",
                 "-j, --jobs INTEGER RANGE Fixtures run at a time; results keep file order whatever the number. "
                 "[default: 4; x>=1]",
                 "--output FILE Write the report in --format to FILE.",
                 "--select EXPR Fixtures to run: ids, id globs, severity:S,"):
        assert text in run and text in gate, text
    assert "--output FILE Write the report in --format to FILE. Stdout still gets the table." in run
    assert "--output FILE Write the report in --format to FILE. Stdout then gets no report" in gate
    assert "--explain ID" in run and "--explain ID" in gate


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, (*path, name))
        else:
            out.append((*path, name))
    return out


def test_every_command_has_examples() -> None:
    commands = _commands(cli)
    assert ("fixtures", "expiring") in commands and ("incident", "new") in commands and () in commands
    for command in commands:
        out = CliRunner().invoke(cli, [*command, "--help"]).output
        assert "\n  Examples:\n    evalloop " in out, command

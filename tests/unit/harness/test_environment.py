"""The agent's environment: an allow-list of evalloop's, what the operator hands over, a fresh HOME per run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import evalloop
from evalloop.gate.execute import run_fixtures
from evalloop.harness.environment import ALLOWED_ENV, agent_environment
from evalloop.harness.protocol import Session
from evalloop.model.config import AgentConfig, Config
from tests.unit.harness.agents import (
    MODES,
    contained,
    contained_agent,
    fixture,
)

SECRETS = {"GITHUB_TOKEN": "ghs_secret", "GITHUB_ENV": "/runner/set_env", "GITHUB_PATH": "/runner/add_path",
           "GITHUB_OUTPUT": "/runner/set_output", "GITHUB_STEP_SUMMARY": "/runner/summary",
           "GITHUB_STATE": "/runner/state", "ACTIONS_RUNTIME_TOKEN": "rt", "ACTIONS_ID_TOKEN_REQUEST_URL": "u",
           "RUNNER_TEMP": "/runner/tmp", "NPM_TOKEN": "npm", "AWS_SECRET_ACCESS_KEY": "aws", "PYTHONSTARTUP": "x.py"}


@pytest.mark.parametrize("mode", MODES)
def test_the_agent_gets_an_allow_listed_environment_and_its_own_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TZ", "Europe/Paris")  # allow-listed: passed as it is
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # passed only because the operator names it
    monkeypatch.setenv("EVALLOOP_AGENT_PASS_ENV", "OPENAI_API_KEY, MISSING_ONE")
    root = contained(tmp_path)
    reports = []
    with Session(root, contained_agent(mode, env={"MODEL": "m1", "GITHUB_REPOSITORY": "o/r"})) as session:
        for n in (1, 2):
            run = session.run(fixture(input={"how": "env"}).fixture, n)
            reports.append(json.loads(run.output or ""))
    for report in reports:
        for seen in ("env", "import_env", "child_env"):
            env = report[seen]
            assert not set(SECRETS) & set(env), seen
            assert (env["MODEL"], env["TZ"], env["OPENAI_API_KEY"]) == ("m1", "Europe/Paris", "sk-test")
            assert env["GITHUB_REPOSITORY"] == "o/r"  # agent.env adds what it names, even GITHUB_*
            assert "MISSING_ONE" not in env and "EVALLOOP_AGENT_PASS_ENV" not in env
            assert env["HOME"] != os.environ["HOME"]
            assert env["XDG_CACHE_HOME"] == str(Path(env["HOME"]) / ".cache") != os.environ["XDG_CACHE_HOME"]
            # nothing beyond the allow-list, agent.env, the pass-through and the harness's own
            extra = {k for k in env if not k.startswith("LC_")} - {
                *ALLOWED_ENV, "MODEL", "GITHUB_REPOSITORY", "OPENAI_API_KEY", "HOME", "XDG_CACHE_HOME",
                "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "EVALLOOP_PROTOCOL", "EVALLOOP_ROOT",
                "EVALLOOP_PYTHON_PATH", "PYTHONPATH"}
            assert not extra, (seen, extra)
        assert report["env"] == report["child_env"]  # the C-level environment too, not only os.environ
        assert report["home_entries"] == []  # fresh: the earlier run's file is not there
        assert not Path(report["env"]["HOME"]).exists()  # and gone after the run
    assert reports[0]["env"]["HOME"] != reports[1]["env"]["HOME"]


@pytest.mark.parametrize(("env", "pass_env", "message"), [
    ({"HOME": "/home/someone"}, None, "agent.env sets HOME, which the harness sets itself"),
    ({"XDG_CACHE_HOME": "/c"}, None, "agent.env sets XDG_CACHE_HOME"),
    ({}, "OPENAI_API_KEY,GITHUB_TOKEN", "EVALLOOP_AGENT_PASS_ENV names GITHUB_TOKEN, which the agent never gets"),
    ({}, "ACTIONS_RUNTIME_TOKEN", "names ACTIONS_RUNTIME_TOKEN"),
    ({}, "HF_TOKEN", "names HF_TOKEN"),
])
def test_environment_the_agent_cannot_be_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               env: dict[str, str], pass_env: str | None, message: str) -> None:
    if pass_env is not None:
        monkeypatch.setenv("EVALLOOP_AGENT_PASS_ENV", pass_env)
    root = contained(tmp_path)
    results = run_fixtures(root, Config(agent=contained_agent("command", env=env)), [fixture(input={"how": "env"})])
    assert results[0].status == "error" and message in (results[0].error or "")


def test_a_python_agent_can_import_this_evalloop_and_nothing_inside_it_as_top_level(tmp_path: Path) -> None:
    env = agent_environment(tmp_path, AgentConfig(entrypoint="agent:run"), {})
    if "PYTHONPATH" in env:  # a source checkout: the folder holding the package, never the package itself
        assert Path(env["PYTHONPATH"]) == Path(evalloop.__file__).resolve().parent.parent
        assert not (Path(env["PYTHONPATH"]) / "agent.py").exists()


def test_an_entrypoint_gets_python_path_not_pythonpath(tmp_path: Path) -> None:
    results = run_fixtures(contained(tmp_path), Config(agent=contained_agent("fork", env={"PYTHONPATH": "x"})),
                           [fixture(input={"how": "env"})])
    assert "agent.env sets PYTHONPATH, which the harness sets itself (use agent.python_path)" in (
        results[0].error or "")

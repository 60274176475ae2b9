"""The agent's environment: an allow-list of this process's variables, and a fresh HOME per run.

The agent is untrusted code (in the gate: the pull request's), so it gets no
GITHUB_TOKEN, no GITHUB_ENV or GITHUB_OUTPUT, no ACTIONS_* or other tokens, and
a HOME of its own, so it cannot find the user's caches (the gate's cache-signing
key lives in ~/.cache/evalloop).
"""

from __future__ import annotations

import os
import re
import site
from collections.abc import Mapping
from pathlib import Path

from evalloop.errors import EvalloopError
from evalloop.harness.channel import PROTOCOL
from evalloop.model.config import AgentConfig

PASS_ENV = "EVALLOOP_AGENT_PASS_ENV"  # names of evalloop's own variables to hand to the agent

# The agent is the pull request's code: of evalloop's environment it gets these variables and
# nothing else. An allow-list, not a deny-list, because the runner's secrets have no common
# shape (GITHUB_TOKEN, ACTIONS_RUNTIME_TOKEN, AWS_SESSION_TOKEN, a registry password, ...) and
# GITHUB_ENV / GITHUB_OUTPUT / GITHUB_PATH name files that steer the rest of the job.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT")
ALLOWED_ENV_PREFIXES = ("LC_",)
# What the harness sets itself; `agent.env` cannot override it (its HOME is the containment).
_HOME_ENV = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
_HARNESS_ENV = (*_HOME_ENV, "EVALLOOP_PROTOCOL", "EVALLOOP_ROOT", "EVALLOOP_PYTHON_PATH")
# Never handed over, even when the operator names them in EVALLOOP_AGENT_PASS_ENV.
_NEVER_PASSED = re.compile(r"^(GITHUB_|ACTIONS_|RUNNER_)|TOKEN$", re.IGNORECASE)


def _allowed(name: str) -> bool:
    return name.upper() in ALLOWED_ENV or name.upper().startswith(ALLOWED_ENV_PREFIXES)


def _evalloop_folder() -> str | None:
    """The folder this evalloop package was imported from, when it is not an installed one:
    a Python agent imports `evalloop.agent`, and with an allow-listed environment (no
    inherited PYTHONPATH) a source checkout would not be found."""
    folder = str(Path(__file__).resolve().parents[2])  # evalloop/harness/environment.py -> the folder holding evalloop
    installed = {str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]}
    return None if folder in installed else folder


def agent_environment(root: Path, agent: AgentConfig, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The agent's environment, without its HOME (set per run, see `home_environment`).

    The allow-listed variables of `environ` (default: this process's), those the
    operator names in EVALLOOP_AGENT_PASS_ENV (comma-separated; a model's API key,
    say: never GITHUB_*, ACTIONS_*, RUNNER_* or *TOKEN), then `agent.env`, then
    the protocol's own variables. Raises EvalloopError for a name that cannot be
    set that way, rather than dropping it silently.
    """
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if _allowed(k)}
    for name in filter(None, (n.strip() for n in environ.get(PASS_ENV, "").split(","))):
        if _NEVER_PASSED.search(name) or name.upper() in _HARNESS_ENV:
            raise EvalloopError(f"{PASS_ENV} names {name}, which the agent never gets")
        if name in environ:
            env[name] = environ[name]
    reserved = sorted(set(agent.env) & {*_HARNESS_ENV, *(("PYTHONPATH",) if agent.entrypoint else ())})
    if reserved:
        hint = " (use agent.python_path)" if reserved == ["PYTHONPATH"] else ""
        raise EvalloopError(f"agent.env sets {', '.join(reserved)}, which the harness sets itself{hint}")
    env.update(agent.env)
    env.update({"EVALLOOP_PROTOCOL": str(PROTOCOL), "EVALLOOP_ROOT": str(root)})
    if agent.entrypoint is not None:
        env["EVALLOOP_PYTHON_PATH"] = os.pathsep.join(str((root / p).resolve()) for p in agent.python_path)
        folder = _evalloop_folder()
        if folder is not None:
            env["PYTHONPATH"] = folder
    return env


def home_environment(home: Path) -> dict[str, str]:
    """A fresh HOME, with every XDG folder under it: the agent finds no one's caches or config."""
    return {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"), "XDG_STATE_HOME": str(home / ".local" / "state")}


__all__ = ["ALLOWED_ENV", "ALLOWED_ENV_PREFIXES", "PASS_ENV", "agent_environment", "home_environment"]

"""How the agent `evalloop.yaml` names is started for each run: a command, or a Python entrypoint.

Everything is resolved against the `root` passed in, never the process's
working folder, so the gate can run the base revision from a temporary
worktree. The agent's code is never imported into this process: a Python
entrypoint runs in a child process (forked per run from a server that imported
that root's code once, or a fresh interpreter per run), so code from one root
cannot leak into runs of another, a run cannot see the previous run's state,
and a hung agent can be killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

import orjson

from evalloop.agent import MAX_FORK_REQUEST
from evalloop.errors import EvalloopError
from evalloop.harness.channel import EXIT_GRACE_S, HarnessError, Log, kill_group, log_suffix
from evalloop.harness.environment import agent_environment, home_environment
from evalloop.harness.transport import ForkTransport, ProcessTransport, Transport
from evalloop.model.config import AgentConfig


class Adapter(Protocol):
    name: str

    def start(self, deadline: float, home: Path) -> Transport: ...
    def close(self) -> None: ...


class _CommandAdapter:
    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name, self.argv, self.cwd, self.env = name, argv, cwd, env

    def start(self, deadline: float, home: Path) -> Transport:
        return ProcessTransport(self.argv, self.cwd, {**self.env, **home_environment(home)})

    def close(self) -> None:
        pass


class _ForkAdapter:
    """Python entrypoints: one server per session imports the root's agent code once and forks
    each run from that clean state (see `evalloop.agent.fork_server`)."""

    name = "python-fork"

    def __init__(self, entrypoint: str, cwd: Path, env: dict[str, str], timeout_s: float, warm: int) -> None:
        self.entrypoint, self.cwd, self.env, self.timeout_s, self.warm = entrypoint, cwd, env, timeout_s, warm
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._log: Log | None = None
        self._home: Path | None = None
        self._broken: str | None = None
        # Start the server now, beside whatever the caller does before its first run
        # (loading fixtures): its interpreter start and the agent's import are serial time.
        threading.Thread(target=self._prestart, name="evalloop-fork-server", daemon=True).start()

    def _prestart(self) -> None:
        with contextlib.suppress(HarnessError):  # remembered in _broken, reported by the first run
            self._start_server()

    def _server_tail(self) -> str:
        return self._log.tail() if self._log is not None else ""

    def _start_server(self) -> socket.socket:
        with self._lock:
            if self._broken is not None:
                raise HarnessError(self._broken)
            if self._control is not None:
                return self._control
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            # the import runs agent code too: it gets a HOME of its own, and its log is capped
            # (kept, never an error: no run is to blame for it)
            self._home = Path(tempfile.mkdtemp(prefix="evalloop-agent-server-"))
            self._log = Log("stderr", limit=None)
            argv = [sys.executable, "-P", "-m", "evalloop.agent", "--fork-server", str(theirs.fileno()),
                    str(self.warm), self.entrypoint]
            try:
                self._proc = subprocess.Popen(argv, cwd=self.cwd, env={**self.env, **home_environment(self._home)},
                                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log.wfd,
                                              pass_fds=[theirs.fileno()], start_new_session=True)
            except OSError as exc:
                self._broken = f"cannot start the Python agent in {self.cwd}: {exc.strerror or exc}"
                raise HarnessError(self._broken) from None
            finally:
                theirs.close()
                self._log.start()
            ready = self._await_ready(ours, self._proc)
            if ready != b"ready":
                what = "did not finish importing within" if ready == b"timeout" else "stopped while importing"
                kill_group(self._proc.pid)
                self._log.settle()
                self._broken = f"the agent {self.entrypoint} {what} {self.timeout_s:g}s" + log_suffix(self._log.tail())
                raise HarnessError(self._broken)
            # sends wait (bounded) when a burst of runs fills the server's queue
            ours.settimeout(self.timeout_s)
            self._control = ours
            return ours

    def _await_ready(self, control: socket.socket, proc: subprocess.Popen[bytes]) -> bytes:
        """b"ready" once the server imported the agent; b"timeout" or b"exited" otherwise.
        A datagram socket has no end of file, so the server's exit is watched directly."""
        deadline = time.monotonic() + self.timeout_s
        control.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                return control.recv(16)
            except TimeoutError:
                if proc.poll() is not None:
                    return b"exited"
        return b"timeout"

    def start(self, deadline: float, home: Path) -> Transport:
        control = self._start_server()
        # the run's whole environment goes with the job: the forked child replaces the server's
        job = orjson.dumps({"env": {**self.env, **home_environment(home)}})
        if len(job) > MAX_FORK_REQUEST:
            raise HarnessError(f"the agent's environment is over {MAX_FORK_REQUEST:,} bytes")
        ours, theirs = socket.socketpair()
        log = Log("stdout and stderr")
        try:
            socket.send_fds(control, [job], [theirs.fileno(), log.wfd])
        except OSError as exc:
            ours.close()
            log.close()
            raise HarnessError(f"the fork server is gone ({exc.strerror or exc})"
                               + log_suffix(self._server_tail())) from None
        finally:
            theirs.close()
        return ForkTransport(ours, log)

    def close(self) -> None:
        with self._lock:
            self._broken = self._broken or "the session is closed"
            if self._proc is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()  # type: ignore[union-attr]  # end of file: the server exits
                try:
                    self._proc.wait(timeout=EXIT_GRACE_S)
                except subprocess.TimeoutExpired:
                    kill_group(self._proc.pid)
                    self._proc.wait()
                # whatever still waits for work in the server's group goes with it
                kill_group(self._proc.pid)
            if self._control is not None:
                self._control.close()
            if self._log is not None:
                self._log.close()
            if self._home is not None:
                shutil.rmtree(self._home, ignore_errors=True)
            self._proc = self._control = self._log = self._home = None


def _can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")


def make_adapter(root: Path, agent: AgentConfig, parallel: int = 1) -> Adapter:
    """The adapter for `agent`, every path resolved against `root` (not the process's cwd)."""
    root = root.resolve()
    cwd = (root / agent.cwd).resolve() if agent.cwd else root
    if not cwd.is_dir():
        raise EvalloopError(f"agent.cwd {agent.cwd!r} is not a folder under {root}")
    env = agent_environment(root, agent)
    if agent.command is not None:
        return _CommandAdapter("command", list(agent.command), cwd, env)
    assert agent.entrypoint is not None
    if agent.isolation == "fork" and _can_fork():
        return _ForkAdapter(agent.entrypoint, cwd, env, agent.timeout_s, warm=min(parallel, 64))
    # -P: the agent's working folder must not shadow the installed evalloop package
    return _CommandAdapter("python-process", [sys.executable, "-P", "-m", "evalloop.agent", agent.entrypoint],
                           cwd, env)


__all__ = ["Adapter", "make_adapter"]

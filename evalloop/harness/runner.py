"""The agent harness: runs fixtures through the agent against the mocked toolbox.

`evalloop.yaml` names the agent (`agent:`) as a Python entrypoint or a command;
both speak the JSON Lines protocol of `docs/adapter.md` (version 1): the harness
sends one run request (fixture input, context, available tools), the agent sends
tool calls and other spans, each answered by the `Toolbox`, then its final result.

Every way an agent can go wrong ends as an `error` result with the reason, never
a hang and never a pass: a timeout (`agent.timeout_s`, wall time of the whole
run), a crash, output that is not a protocol message, a non-zero exit, too much
output, a final result whose numbers a budget cannot judge.

The agent is untrusted code (in the gate: the pull request's), so the harness
contains it. It gets an allow-listed environment (`agent_environment`: no
GITHUB_TOKEN, no GITHUB_ENV or GITHUB_OUTPUT, no ACTIONS_* or other tokens) and
a fresh HOME per run, so it cannot find the user's caches (the gate's
cache-signing key lives in ~/.cache/evalloop). It runs in its own session and
process group, and when the run ends, however it ends, the whole group is
killed: nothing it started outlives the run or keeps the harness waiting. Its
protocol output and its logs are capped (`MAX_OUTPUT_BYTES`, `MAX_LOG_BYTES`),
so it cannot exhaust memory or disk.

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
import json
import math
import os
import re
import select
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from pydantic import ValidationError

from evalloop.agent import MAX_FORK_REQUEST
from evalloop.errors import EvalloopError
from evalloop.harness.toolbox import (
    Reply,
    Toolbox,
    ToolManifest,
    agent_context,
    load_manifest,
    measure_problem,
    unknown_tool_calls,
)
from evalloop.model.config import AgentConfig, Config
from evalloop.model.fixture import Fixture
from evalloop.model.results import FixtureResult
from evalloop.model.run import Run
from evalloop.repo import parse

if TYPE_CHECKING:
    from evalloop.evaluate import trajectory

PROTOCOL = 1
MAX_OUTPUT_BYTES = 8 * 1024 * 1024  # protocol output of one run (all its messages); beyond it: error
MAX_LOG_BYTES = 8 * 1024 * 1024  # stderr (a forked run: stdout too) of one run; beyond it: error
MAX_SPANS = 10_000  # a runaway loop of tool calls ends as an error, not as memory exhaustion
PASS_ENV = "EVALLOOP_AGENT_PASS_ENV"  # names of evalloop's own variables to hand to the agent
_LOG_TAIL_BYTES = 4096
_EXIT_GRACE_S = 5.0
_POLL_S = 0.05
_FINAL_STR = ("stop_reason", "final_status", "output", "route")
_FINAL_INT = ("input_tokens", "output_tokens")


class HarnessError(EvalloopError):
    """A run that produced no judgeable result; `reason` goes into the error result.

    `quote_log`: the end of the agent's log (stderr) explains it, so the session
    appends it, once the run's processes are gone and the log is complete.
    """

    def __init__(self, reason: str, *, quote_log: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.quote_log = quote_log


@dataclass(frozen=True)
class LoadedFixture:
    """A fixture and its file, `path` relative to the root (as reports show it)."""

    path: str
    fixture: Fixture


# --------------------------------------------------------------------------- the agent's environment

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
    folder = str(Path(__file__).resolve().parents[2])  # evalloop/harness/runner.py -> the folder holding evalloop
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


# --------------------------------------------------------------------------- byte channel


class _Lines:
    """Newline-delimited messages over non-blocking descriptors, every wait bounded by a deadline;
    at most MAX_OUTPUT_BYTES are read in all."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        self.buf = bytearray()
        self.eof = False
        self.total = 0

    @staticmethod
    def _wait(fd: int, event: int, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        poller = select.poll()
        poller.register(fd, event)
        if not poller.poll(max(1, int(remaining * 1000))) and time.monotonic() >= deadline:
            raise TimeoutError

    def write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.wfd, view)
            except BlockingIOError:
                n = 0
            except (BrokenPipeError, ConnectionResetError):
                raise HarnessError("the agent closed its input before the harness finished writing") from None
            view = view[n:]
            if view:
                self._wait(self.wfd, select.POLLOUT, deadline)

    def readline(self, deadline: float) -> bytes | None:
        """The next line without its newline; None at end of output."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                return line
            if self.eof:
                if self.buf:
                    raise HarnessError(f"the agent's output ended inside a message: {_show(bytes(self.buf))}")
                return None
            try:
                chunk = os.read(self.rfd, 65536)
            except BlockingIOError:
                self._wait(self.rfd, select.POLLIN, deadline)
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
            self.total += len(chunk)
            if self.total > MAX_OUTPUT_BYTES:
                raise HarnessError(f"the agent wrote more than {MAX_OUTPUT_BYTES:,} bytes of protocol output")
            self.buf += chunk


class _Log:
    """What the agent writes besides the protocol, read from a pipe by a thread so that the
    agent never blocks on it: the last _LOG_TAIL_BYTES, all an error reason quotes, are kept (nothing
    goes to disk), the rest is counted and dropped. Past `limit` bytes it calls `on_overflow`
    (which kills the run) and keeps draining; `overflow()` then says why the run failed."""

    def __init__(self, what: str, limit: int | None = MAX_LOG_BYTES) -> None:
        self.what, self.limit = what, limit
        self.rfd, self.wfd = os.pipe()  # not inheritable (PEP 446): the child gets the write end explicitly
        self._kept = bytearray()
        self._total = 0
        self._overflowed = False
        self._lock = threading.Lock()
        self._on_overflow: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._pump, name="evalloop-agent-log", daemon=True)

    def start(self, on_overflow: Callable[[], None] | None = None) -> None:
        """Once the child holds the write end: ours is closed, so the log ends when the agent's
        processes are gone."""
        self._on_overflow = on_overflow or self._on_overflow
        self._close_writer()
        self._thread.start()

    def _close_writer(self) -> None:
        if self.wfd >= 0:
            os.close(self.wfd)
            self.wfd = -1

    def _pump(self) -> None:
        try:
            while chunk := os.read(self.rfd, 65536):
                with self._lock:
                    self._total += len(chunk)
                    self._kept += chunk
                    del self._kept[:-_LOG_TAIL_BYTES]
                    over = self.limit is not None and self._total > self.limit and not self._overflowed
                    self._overflowed = self._overflowed or over
                if over:
                    self._on_overflow()
        except OSError:
            pass
        finally:
            os.close(self.rfd)  # the thread owns the read end: nobody closes it under its feet

    def settle(self, timeout: float = _EXIT_GRACE_S) -> None:
        """Wait (bounded) for the end of the log: every writer is gone once the group is killed;
        one that escaped the group (its own session) is abandoned, with the daemon thread."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    def close(self) -> None:
        if self._thread.ident is not None:
            self.settle()
        else:  # never started: no child got the write end
            self._close_writer()
            os.close(self.rfd)

    def overflow(self) -> str | None:
        with self._lock:
            return f"the agent wrote more than {self.limit:,} bytes to {self.what}" if self._overflowed else None

    def tail(self) -> str:
        """The last lines of the log, on one line, for an error reason."""
        with self._lock:
            data = bytes(self._kept[-_LOG_TAIL_BYTES:])
        lines = [ln.strip() for ln in data.decode("utf-8", errors="replace").splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-400:]


def _show(raw: bytes, limit: int = 120) -> str:
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _kill_group(pid: int | None) -> None:
    """SIGKILL to the process group `pid` leads (the agent's own session): the agent and all it started."""
    if pid is None or not hasattr(os, "killpg"):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _suffix(tail: str) -> str:
    return f"; its stderr ends: {tail}" if tail else ""


# --------------------------------------------------------------------------- transports


class _Transport(Protocol):
    lines: _Lines
    log: _Log

    def started(self, deadline: float) -> None: ...
    def alive(self) -> bool: ...
    def finish(self, deadline: float) -> str | None: ...
    def ended(self) -> str: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


def _after_final(transport: _Transport, deadline: float) -> str | None:
    """After its final result an agent writes nothing more and ends its output, soon.

    A process it started may still hold the output open (a grandchild that
    inherited it, a daemon): once the agent itself is gone, its group is
    killed, which ends the output, so the wait stays short and bounded.
    """
    limit = min(deadline, time.monotonic() + _EXIT_GRACE_S)
    swept = False
    while True:
        try:
            extra = transport.lines.readline(min(limit, time.monotonic() + _POLL_S))
        except TimeoutError:
            if time.monotonic() >= limit:
                return ("a process the agent started outside its process group still holds its output" if swept
                        else "the agent did not exit after its final result")
            if not swept and not transport.alive():
                transport.kill()
                swept = True
            continue
        return None if extra is None else f"the agent wrote after its final result: {_show(extra)}"


class _ProcessTransport:
    """An agent process speaking on its stdin/stdout; its stderr goes to a capped log."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.log = _Log("stderr")
        try:
            # its own session: when the run ends, the group goes, with anything the agent started
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.log.wfd, start_new_session=True, bufsize=0)
        except OSError as exc:
            self.log.close()
            raise HarnessError(f"cannot start the agent {argv[0]!r} in {cwd}: {exc.strerror or exc}") from None
        self.log.start(self.kill)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.lines = _Lines(self.proc.stdout.fileno(), self.proc.stdin.fileno())

    def started(self, deadline: float) -> None:
        pass

    def _status(self, timeout: float) -> int | None:
        """The agent's exit status once it has exited (None before), left unreaped: while its
        zombie holds the pid, the group id cannot name anyone else when `close` kills it."""
        if not hasattr(os, "waitid"):  # macOS before Python 3.13: reaped, a negligible race
            try:
                return self.proc.wait(timeout=max(0.0, timeout))
            except subprocess.TimeoutExpired:
                return None
        end, delay = time.monotonic() + max(0.0, timeout), 0.0005
        while True:
            try:
                info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return self.proc.returncode
            if info is not None:
                killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
                return -info.si_status if killed else info.si_status
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_S)

    def alive(self) -> bool:
        return self._status(0) is None

    def finish(self, deadline: float) -> str | None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        problem = _after_final(self, deadline)
        if problem is not None:
            return problem
        code = self._status(min(_EXIT_GRACE_S, deadline - time.monotonic()))
        if code is None:
            return "the agent did not exit after its final result"
        return None if code == 0 else f"the agent exited with {_exit_text(code)} after its final result"

    def ended(self) -> str:
        code = self._status(1.0)
        return f"the agent exited ({_exit_text(code)}) without a final result" if code is not None else \
            "the agent closed its output without a final result"

    def kill(self) -> None:
        _kill_group(self.proc.pid)

    def close(self) -> None:
        """However the run ended: kill what is left of the group, then reap the agent."""
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=_EXIT_GRACE_S)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        self.log.close()


def _exit_text(code: int | None) -> str:
    if code is None:
        return "status unknown"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"status {code}"


class _ForkTransport:
    """A run forked by the fork server, speaking over a socket; its stdout and stderr go to a capped log."""

    def __init__(self, sock: socket.socket, log: _Log) -> None:
        self.sock, self.log = sock, log
        self.pid: int | None = None
        self.lines = _Lines(sock.fileno(), sock.fileno())
        log.start(self.kill)

    def started(self, deadline: float) -> None:
        """The forked run's first line names its process (its session leader: the group to kill)."""
        hello = self.lines.readline(deadline)
        try:
            msg = orjson.loads(hello) if hello is not None else None
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or msg.get("type") != "hello" or not isinstance(msg.get("pid"), int):
            raise HarnessError("the fork server did not start the run", quote_log=True)
        self.pid = msg["pid"]
        if self.log.overflow() is not None:  # it flooded its log before we knew whom to stop
            self.kill()

    def alive(self) -> bool:
        if self.pid is None:
            return False
        # not our child: the server lets the kernel reap it, so a gone process is simply gone
        try:
            os.kill(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def finish(self, deadline: float) -> str | None:
        return _after_final(self, deadline)

    def ended(self) -> str:
        return "the agent process exited without a final result"

    def kill(self) -> None:
        _kill_group(self.pid)

    def close(self) -> None:
        self.kill()  # whatever the run left in its group
        self.sock.close()
        self.log.close()


# --------------------------------------------------------------------------- adapters


class _Adapter(Protocol):
    name: str

    def start(self, deadline: float, home: Path) -> _Transport: ...
    def close(self) -> None: ...


class _CommandAdapter:
    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name, self.argv, self.cwd, self.env = name, argv, cwd, env

    def start(self, deadline: float, home: Path) -> _Transport:
        return _ProcessTransport(self.argv, self.cwd, {**self.env, **home_environment(home)})

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
        self._log: _Log | None = None
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
            self._log = _Log("stderr", limit=None)
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
                _kill_group(self._proc.pid)
                self._log.settle()
                self._broken = f"the agent {self.entrypoint} {what} {self.timeout_s:g}s" + _suffix(self._log.tail())
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

    def start(self, deadline: float, home: Path) -> _Transport:
        control = self._start_server()
        # the run's whole environment goes with the job: the forked child replaces the server's
        job = orjson.dumps({"env": {**self.env, **home_environment(home)}})
        if len(job) > MAX_FORK_REQUEST:
            raise HarnessError(f"the agent's environment is over {MAX_FORK_REQUEST:,} bytes")
        ours, theirs = socket.socketpair()
        log = _Log("stdout and stderr")
        try:
            socket.send_fds(control, [job], [theirs.fileno(), log.wfd])
        except OSError as exc:
            ours.close()
            log.close()
            raise HarnessError(f"the fork server is gone ({exc.strerror or exc})"
                               + _suffix(self._server_tail())) from None
        finally:
            theirs.close()
        return _ForkTransport(ours, log)

    def close(self) -> None:
        with self._lock:
            self._broken = self._broken or "the session is closed"
            if self._proc is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()  # type: ignore[union-attr]  # end of file: the server exits
                try:
                    self._proc.wait(timeout=_EXIT_GRACE_S)
                except subprocess.TimeoutExpired:
                    _kill_group(self._proc.pid)
                    self._proc.wait()
                # whatever still waits for work in the server's group goes with it
                _kill_group(self._proc.pid)
            if self._control is not None:
                self._control.close()
            if self._log is not None:
                self._log.close()
            if self._home is not None:
                shutil.rmtree(self._home, ignore_errors=True)
            self._proc = self._control = self._log = self._home = None


def _can_fork() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and hasattr(socket, "AF_UNIX")


def make_adapter(root: Path, agent: AgentConfig, parallel: int = 1) -> _Adapter:
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


# --------------------------------------------------------------------------- one run


def _protocol_error(what: str) -> HarnessError:
    return HarnessError(f"protocol error: {what}")


def _field(msg: dict[str, Any], key: str, types: type | tuple[type, ...], *, required: bool = False) -> Any:
    value = msg.get(key)
    if value is None:
        if required:
            raise _protocol_error(f"{msg.get('type')} message without {key!r}")
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _protocol_error(f"{msg.get('type')}: {key!r} has the wrong type")
    if not isinstance(value, types):
        raise _protocol_error(f"{msg.get('type')}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _answer(msg: dict[str, Any], toolbox: Toolbox) -> Reply | None:
    """The toolbox's reply to one agent message (None for messages that get none)."""
    kind = msg.get("type")
    if kind == "tool_call":
        return toolbox.call(_field(msg, "name", str, required=True), msg.get("args"))
    if kind == "retrieve":
        return toolbox.retrieve(_field(msg, "name", str, required=True), _field(msg, "query", str))
    if kind == "memory":
        op = msg.get("op")
        if op not in ("read", "write"):
            raise _protocol_error("memory op must be read or write")
        return toolbox.memory(op, _field(msg, "key", str, required=op == "write"), msg.get("value"))
    if kind == "approval":
        return toolbox.approval(_field(msg, "name", str) or "required", _field(msg, "args", dict))
    if kind == "span":
        try:
            toolbox.record(
                _field(msg, "span_type", str, required=True), _field(msg, "name", str, required=True),
                status=_field(msg, "status", str) or "succeeded", args=_field(msg, "args", dict),
                result=msg.get("result"), error=_field(msg, "error", str),
                input_tokens=_field(msg, "input_tokens", int), output_tokens=_field(msg, "output_tokens", int),
                cost_usd=_field(msg, "cost_usd", (int, float)), duration_ms=_field(msg, "duration_ms", (int, float)),
                attributes=_field(msg, "attributes", dict))
        except (ValueError, ValidationError) as exc:
            raise _protocol_error(f"span: {str(exc).splitlines()[0]}") from None
        return None
    raise _protocol_error(f"unknown message type {str(kind)[:60]!r}")


def _final(msg: dict[str, Any]) -> dict[str, Any]:
    allowed = {"type", *_FINAL_STR, *_FINAL_INT, "cost_usd"}
    unknown = sorted(set(msg) - allowed)
    if unknown:
        raise _protocol_error(f"final: unknown keys {', '.join(k[:40] for k in unknown[:5])}")
    out: dict[str, Any] = {k: _field(msg, k, str) for k in _FINAL_STR}
    out.update({k: _field(msg, k, int) for k in _FINAL_INT})
    out["cost_usd"] = _field(msg, "cost_usd", (int, float))
    for key in (*_FINAL_INT, "cost_usd"):
        # refused, not coerced: the run's budgets are judged on these (see `measure_problem`)
        problem = measure_problem(out[key])
        if problem is not None:
            raise HarnessError(f"final result: {key} is {problem}")
    return out


class _Constant(str):
    """NaN, Infinity or -Infinity, as Python's json module writes them (JSON has no such numbers)."""


def _bad_number(line: bytes) -> str | None:
    """Why a line that is not strict JSON is still a refused message: a protocol message with
    NaN, Infinity or an out-of-range number in a field, named; None when it is not that."""
    try:
        msg = json.loads(line, parse_constant=_Constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(msg, dict):
        return None
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in reversed(msg.items())]
    while stack:  # depth first, in document order; linear in the message's size
        path, value = stack.pop()
        if isinstance(value, _Constant) or (isinstance(value, float) and not math.isfinite(value)):
            shown = "NaN" if value == "NaN" or (isinstance(value, float) and math.isnan(value)) else "infinite"
            what = "final result" if msg.get("type") == "final" else f"{str(msg.get('type'))[:40]} message"
            return f"{what}: {path[:80]} is {shown}"
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}", v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None


def _receive(transport: _Transport, deadline: float) -> dict[str, Any] | None:
    line = transport.lines.readline(deadline)
    if line is None:
        return None
    try:
        msg = orjson.loads(line)
    except orjson.JSONDecodeError:
        bad = _bad_number(line)  # a clearer reason than "not a protocol message"; the run is an error either way
        if bad is not None:
            raise HarnessError(bad) from None
        raise HarnessError(f"the agent wrote something that is not a protocol message: {_show(line)}") from None
    if not isinstance(msg, dict):
        raise HarnessError(f"the agent wrote something that is not a protocol message: {_show(line)}")
    return msg


def _send(transport: _Transport, msg: dict[str, Any], deadline: float) -> None:
    data = orjson.dumps(msg, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n"
    transport.lines.write(data, deadline)


def _converse(transport: _Transport, toolbox: Toolbox, request: dict[str, Any],
              deadline: float) -> dict[str, Any]:
    """Serve the agent's requests until its final result."""
    # the request goes out before the run has said hello: one round trip less per run
    _send(transport, request, deadline)
    transport.started(deadline)
    while True:
        msg = _receive(transport, deadline)
        if msg is None:
            raise HarnessError(transport.ended(), quote_log=True)
        kind = msg.get("type")
        if kind == "final":
            final = _final(msg)
            problem = transport.finish(deadline)
            if problem is not None:
                raise HarnessError(problem, quote_log=True)
            return final
        if kind == "error":
            raise HarnessError(f"the agent failed: {str(msg.get('message'))[:500]}")
        if len(toolbox.spans) >= MAX_SPANS:
            raise HarnessError(f"the agent made more than {MAX_SPANS:,} requests in one run")
        reply = _answer(msg, toolbox)
        if reply is not None:
            _send(transport, reply.to_message(msg.get("id")), deadline)


def _sum(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class Session:
    """An agent ready to run fixtures from one root: its adapter and tool manifest.

    Thread-safe: `run` may be called from many threads at once. Close it (or use
    it as a context manager) to stop the fork server.
    """

    def __init__(self, root: Path, agent: AgentConfig, parallel: int = 1) -> None:
        self.root = root.resolve()
        self.agent = agent
        self.manifest: ToolManifest | None = None
        if agent.tools is not None:
            path = self.root / agent.tools
            self.manifest = load_manifest(path, display=agent.tools)
        self.tool_schemas = self.manifest.schemas() if self.manifest is not None else None
        self.adapter = make_adapter(self.root, agent, parallel)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.adapter.close()

    def run(self, fixture: Fixture, run_number: int = 1) -> Run:
        """One run of the agent on `fixture`; HarnessError when it yields no judgeable result."""
        started = time.monotonic()
        deadline = started + self.agent.timeout_s
        toolbox = Toolbox(fixture.context, self.manifest)
        request = {"protocol": PROTOCOL, "type": "run", "fixture_id": fixture.id, "run": run_number,
                   "input": fixture.input, "context": agent_context(fixture.context),
                   "tools": self.manifest.describe() if self.manifest is not None else []}
        final = self._converse(fixture, toolbox, request, deadline)
        spans = toolbox.spans
        return Run(
            run_id=f"{fixture.id}#{run_number}", spans=spans,
            stop_reason=final["stop_reason"], final_status=final["final_status"], output=final["output"],
            route=final["route"],
            input_tokens=final["input_tokens"] if final["input_tokens"] is not None
            else _sum([s.input_tokens for s in spans]),
            output_tokens=final["output_tokens"] if final["output_tokens"] is not None
            else _sum([s.output_tokens for s in spans]),
            cost_usd=final["cost_usd"] if final["cost_usd"] is not None else _sum([s.cost_usd for s in spans]),
            latency_ms=round((time.monotonic() - started) * 1000.0, 3),
            source=f"harness:{self.adapter.name}",
        )


    def _converse(self, fixture: Fixture, toolbox: Toolbox, request: dict[str, Any],
                  deadline: float) -> dict[str, Any]:
        """The agent's final result, in a fresh HOME; whatever happens, the run's processes are gone after."""
        home = Path(tempfile.mkdtemp(prefix="evalloop-agent-home-"))
        transport: _Transport | None = None
        failure: HarnessError | None = None
        final: dict[str, Any] | None = None
        try:
            transport = self.adapter.start(deadline, home)
            final = _converse(transport, toolbox, request, deadline)
        except TimeoutError:
            failure = HarnessError(f"timed out after {self.agent.timeout_s:g}s (agent.timeout_s)"
                                   + _last_span(toolbox), quote_log=True)
        except HarnessError as exc:
            failure = HarnessError(exc.reason + _last_span(toolbox), quote_log=exc.quote_log)
        finally:
            if transport is not None:
                transport.close()  # the whole process group, however the run ended; the log is complete after
            shutil.rmtree(home, ignore_errors=True)
        if transport is not None:
            overflow = transport.log.overflow()
            if overflow is not None:  # the cause of whatever else went wrong, or wrong by itself
                failure = HarnessError(overflow + _last_span(toolbox))
            elif failure is not None and failure.quote_log:
                failure = HarnessError(failure.reason + _suffix(transport.log.tail()))
        if failure is not None:
            raise failure
        assert final is not None
        return final


def _last_span(toolbox: Toolbox) -> str:
    if not toolbox.spans:
        return " (before any span)"
    return f" (after {len(toolbox.spans)} spans, the last {toolbox.spans[-1].ref})"


def run_fixture(root: Path, agent: AgentConfig, fixture: Fixture, *, run_number: int = 1) -> Run:
    """Run one fixture once; see `Session` to run many with one adapter."""
    with Session(root, agent) as session:
        return session.run(fixture, run_number)


# --------------------------------------------------------------------------- many fixtures


@dataclass
class _Outcome:
    passed: bool = False
    error: str | None = None
    failures: list[dict[str, Any]] | None = None


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_fixture_file(root: Path, config: Config, path: str | os.PathLike[str]) -> LoadedFixture | FixtureResult:
    """A fixture file (relative to `root` or absolute), or the error result that stands for it."""
    full = Path(path) if Path(path).is_absolute() else root / path
    rel = _rel(root, full)
    try:
        doc = parse.load_document(full, max_bytes=config.max_fixture_bytes, display=rel)
        return LoadedFixture(rel, Fixture.model_validate(doc.data))
    except (EvalloopError, ValidationError) as exc:
        from evalloop.validate.checks import scan_id

        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        ident = scan_id(full, config.max_fixture_bytes) or rel
        return FixtureResult(id=ident, severity=config.defaults.severity, status="error", path=rel,
                             owner=config.defaults.owner, error=f"fixture unreadable: {message}")


def _result(config: Config, lf: LoadedFixture, outcomes: list[_Outcome]) -> FixtureResult:
    """k-of-n: passes >= k pass; none fail; in between flaky; any error is an error."""
    fx = lf.fixture
    n = len(outcomes)
    need = fx.min_passes or n
    passes = sum(o.passed for o in outcomes)
    errors = [(i, o.error) for i, o in enumerate(outcomes, 1) if o.error is not None]
    failing = next((o.failures for o in outcomes if not o.passed and o.failures), None)
    base = dict(id=fx.id, severity=fx.severity or config.defaults.severity, path=lf.path,
                owner=fx.owner or config.defaults.owner, reason=fx.reason, incident_id=fx.incident_id,
                runs=n, passes=passes, failures=failing or [])
    if errors:
        i, reason = errors[0]
        where = f"run {i} of {n}: " if n > 1 else ""
        return FixtureResult(status="error", error=where + str(reason), **base)  # type: ignore[arg-type]
    status = "pass" if passes >= need else "fail" if passes == 0 else "flaky"
    return FixtureResult(status=status, **base)  # type: ignore[arg-type]


def _evaluate(session: Session, lf: LoadedFixture, run: Run) -> _Outcome:
    from evalloop.evaluate import trajectory

    try:
        verdict = trajectory.compile(lf.fixture).evaluate(run, tool_schemas=session.tool_schemas)
    except EvalloopError as exc:  # an expectation that cannot be evaluated, a bad tool schema
        return _Outcome(error=f"cannot evaluate: {exc.message}")
    violations = [*verdict.violations, *_unknown_tools(session, run)]
    return _Outcome(passed=not violations, failures=[v.to_dict() for v in violations])


def _unknown_tools(session: Session, run: Run) -> list[trajectory.Violation]:
    """With a manifest, a call of a tool it does not list fails the run, whatever the fixture
    expects: the toolbox answered it with an error, but an agent reaching for a capability
    nobody reviewed (a typo, a hallucinated tool, a tool dropped from the manifest) must
    not pass because it coped with the error."""
    from evalloop.evaluate import trajectory

    if session.manifest is None:
        return []
    listed = [t.name for t in session.manifest.tools]
    out = []
    for calls in unknown_tool_calls(run.spans):
        first = calls.spans[0]
        times = f", {len(calls.spans)} calls in all" if len(calls.spans) > 1 else ""
        out.append(trajectory.Violation(
            "unknown_tool", f"tool {calls.name} is not in the tool manifest ({session.agent.tools}): called at "
            f"span {first} (tool call #{calls.positions[0]}){times}", expected=listed, actual=calls.name,
            span_index=first, ref=f"tool:{calls.name}", span_id=run.spans[first].span_id,
            details={"manifest": session.agent.tools, "spans": calls.spans, "tool_calls": calls.positions}))
    return out


def _done(outcome: _Outcome) -> Future[_Outcome]:
    future: Future[_Outcome] = Future()
    future.set_result(outcome)
    return future


def _run_then_judge(session: Session, lf: LoadedFixture, run_number: int,
                    judges: ThreadPoolExecutor) -> Future[_Outcome]:
    """Run the agent here; hand the judging to `judges`, so this worker can start the next
    run at once instead of holding a run slot while it evaluates."""
    from evalloop.evaluate import trajectory

    try:
        trajectory.compile(lf.fixture)  # an expectation that cannot be evaluated: do not run at all
        run = session.run(lf.fixture, run_number)
    except HarnessError as exc:
        return _done(_Outcome(error=exc.reason))
    except EvalloopError as exc:
        return _done(_Outcome(error=f"cannot evaluate: {exc.message}"))
    return judges.submit(_evaluate, session, lf, run)


def run_fixtures(root: Path, config: Config, fixtures: Sequence[str | os.PathLike[str] | LoadedFixture], *,
                 jobs: int = 1, agent: AgentConfig | None = None) -> list[FixtureResult]:
    """Run and judge fixtures, `jobs` runs at a time; one result per fixture, in the given order.

    `fixtures` are loaded fixtures or fixture files (relative to `root` or
    absolute). Everything about the agent comes from `root` and `agent` (default:
    `config.agent`): to run against another checkout, pass its root and its
    config. A fixture with `runs: n` runs n times (see `_result` for k-of-n).
    Nothing fails silently: an unreadable fixture, a missing agent or a broken
    manifest gives an `error` result for each fixture concerned.
    """
    agent = agent or config.agent
    problem: str | None = None
    session: Session | None = None
    if agent is None:
        problem = "no agent configured: add `agent:` (entrypoint or command) to evalloop.yaml"
    else:
        try:
            session = Session(root, agent, parallel=jobs)
        except EvalloopError as exc:
            problem = f"cannot set up the agent: {exc}"

    Started = tuple[LoadedFixture | FixtureResult, Future[_Outcome] | None, list[Future[Future[_Outcome]]]]

    def start(item: str | os.PathLike[str] | LoadedFixture) -> Started:
        # Loading happens here, in the pool, so the first runs start while later
        # fixtures are still being read; repeats go to the back of the queue.
        lf = item if isinstance(item, LoadedFixture) else load_fixture_file(root, config, item)
        if isinstance(lf, FixtureResult) or session is None:
            return lf, None, []
        more = [pool.submit(_run_then_judge, session, lf, n, judges) for n in range(2, lf.fixture.runs + 1)]
        return lf, _run_then_judge(session, lf, 1, judges), more

    results: list[FixtureResult] = []
    try:
        # threads, not processes: a run is waiting on its agent process almost all the time;
        # one judge thread is enough (judging is CPU work under one interpreter lock)
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="evalloop-run") as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalloop-judge") as judges:
            heads = [pool.submit(start, f) for f in fixtures]
            for head in heads:
                lf, first, more = head.result()
                if isinstance(lf, FixtureResult):
                    results.append(lf)
                elif first is None:
                    results.append(_result(config, lf, [_Outcome(error=problem)]))
                else:
                    outcomes = [first.result(), *(f.result().result() for f in more)]
                    results.append(_result(config, lf, outcomes))
    finally:
        if session is not None:
            session.close()
    return results


__all__ = ["ALLOWED_ENV", "ALLOWED_ENV_PREFIXES", "MAX_LOG_BYTES", "MAX_OUTPUT_BYTES", "PASS_ENV",
           "PROTOCOL", "HarnessError", "LoadedFixture", "Session", "agent_environment", "home_environment",
           "load_fixture_file", "make_adapter", "run_fixture", "run_fixtures"]

"""How one run reaches its agent process: a process speaking on stdin/stdout, or a run forked
by the fork server speaking over a socket.

The agent runs in its own session and process group, and when the run ends,
however it ends, the whole group is killed: nothing it started outlives the run
or keeps the harness waiting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol

import orjson

from evalloop.harness.channel import EXIT_GRACE_S, HarnessError, Lines, Log, kill_group, show

_POLL_S = 0.05


class Transport(Protocol):
    lines: Lines
    log: Log

    def started(self, deadline: float) -> None: ...
    def alive(self) -> bool: ...
    def finish(self, deadline: float) -> str | None: ...
    def ended(self) -> str: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


def _after_final(transport: Transport, deadline: float) -> str | None:
    """After its final result an agent writes nothing more and ends its output, soon.

    A process it started may still hold the output open (a grandchild that
    inherited it, a daemon): once the agent itself is gone, its group is
    killed, which ends the output, so the wait stays short and bounded.
    """
    limit = min(deadline, time.monotonic() + EXIT_GRACE_S)
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
        return None if extra is None else f"the agent wrote after its final result: {show(extra)}"


class ProcessTransport:
    """An agent process speaking on its stdin/stdout; its stderr goes to a capped log."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.log = Log("stderr")
        try:
            # its own session: when the run ends, the group goes, with anything the agent started
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.log.wfd, start_new_session=True, bufsize=0)
        except OSError as exc:
            self.log.close()
            raise HarnessError(f"cannot start the agent {argv[0]!r} in {cwd}: {exc.strerror or exc}") from None
        self.log.start(self.kill)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.lines = Lines(self.proc.stdout.fileno(), self.proc.stdin.fileno())

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
        code = self._status(min(EXIT_GRACE_S, deadline - time.monotonic()))
        if code is None:
            return "the agent did not exit after its final result"
        return None if code == 0 else f"the agent exited with {_exit_text(code)} after its final result"

    def ended(self) -> str:
        code = self._status(1.0)
        return f"the agent exited ({_exit_text(code)}) without a final result" if code is not None else \
            "the agent closed its output without a final result"

    def kill(self) -> None:
        kill_group(self.proc.pid)

    def close(self) -> None:
        """However the run ended: kill what is left of the group, then reap the agent."""
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=EXIT_GRACE_S)
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


class ForkTransport:
    """A run forked by the fork server, speaking over a socket; its stdout and stderr go to a capped log."""

    def __init__(self, sock: socket.socket, log: Log) -> None:
        self.sock, self.log = sock, log
        self.pid: int | None = None
        self.lines = Lines(sock.fileno(), sock.fileno())
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
        kill_group(self.pid)

    def close(self) -> None:
        self.kill()  # whatever the run left in its group
        self.sock.close()
        self.log.close()


__all__ = ["ForkTransport", "ProcessTransport", "Transport"]

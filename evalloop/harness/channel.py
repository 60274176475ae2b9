"""The wire to one agent run: the protocol version, the byte channel its messages travel on,
the capped log of what it writes besides, and `HarnessError`, how a run without a judgeable
result ends.

Every wait is bounded by the run's deadline and every buffer by a cap
(`MAX_OUTPUT_BYTES`, `MAX_LOG_BYTES`): the agent is untrusted code, and it must
not be able to hang the harness or exhaust its memory.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Callable

from evalloop.errors import EvalloopError

PROTOCOL = 1  # the version of docs/adapter.md's JSON Lines protocol this harness speaks
MAX_OUTPUT_BYTES = 8 * 1024 * 1024  # protocol output of one run (all its messages); beyond it: error
MAX_LOG_BYTES = 8 * 1024 * 1024  # stderr (a forked run: stdout too) of one run; beyond it: error
EXIT_GRACE_S = 5.0  # how long an agent, a log or a server gets to end once it should
_LOG_TAIL_BYTES = 4096


class HarnessError(EvalloopError):
    """A run that produced no judgeable result; `reason` goes into the error result.

    `quote_log`: the end of the agent's log (stderr) explains it, so the session
    appends it, once the run's processes are gone and the log is complete.
    """

    def __init__(self, reason: str, *, quote_log: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.quote_log = quote_log


class Lines:
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
                    raise HarnessError(f"the agent's output ended inside a message: {show(bytes(self.buf))}")
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


class Log:
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

    def settle(self, timeout: float = EXIT_GRACE_S) -> None:
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


def show(raw: bytes, limit: int = 120) -> str:
    """Bytes the agent wrote, quoted and cut for an error reason."""
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def kill_group(pid: int | None) -> None:
    """SIGKILL to the process group `pid` leads (the agent's own session): the agent and all it started."""
    if pid is None or not hasattr(os, "killpg"):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def log_suffix(tail: str) -> str:
    """What an error reason appends to quote the end of the agent's log (nothing when it is empty)."""
    return f"; its stderr ends: {tail}" if tail else ""


__all__ = ["EXIT_GRACE_S", "MAX_LOG_BYTES", "MAX_OUTPUT_BYTES", "PROTOCOL", "HarnessError", "Lines", "Log",
           "kill_group", "log_suffix", "show"]

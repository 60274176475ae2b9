"""The agent side of the harness protocol (version 1), for agents written in Python.

An agent is a function `run(request, tools) -> dict`:

    from evalloop.agent import Tools, ToolError

    def run(request: dict, tools: Tools) -> dict:
        order = tools.call("read_order", order_id=request["input"]["order_id"])
        tools.record("policy", "refund_threshold", status="succeeded", args={"amount": order["amount"]})
        decision = tools.approval("required", args={"order_id": order["order_id"]})
        return {"stop_reason": "needs_human_approval", "final_status": "needs_human",
                "output": "A support lead will review your refund.", "route": "refund_assist"}

`evalloop.yaml` names it as `agent: {entrypoint: "package.module:run"}`; the
harness runs it in a fresh process per fixture run (see `docs/adapter.md`).
An agent that is a command (`agent: {command: [...]}`) written in Python can
call `serve(run)` from its main to speak the same protocol over stdin/stdout.

Stdlib only, and cheap to import: every agent process imports this module.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import IO, Any, NoReturn

PROTOCOL = 1
MAX_FORK_REQUEST = 256 * 1024  # one datagram from the harness to the fork server: the run's environment
AgentFunction = Callable[[dict[str, Any], "Tools"], Any]
_FINAL_KEYS = ("stop_reason", "final_status", "output", "route", "cost_usd", "input_tokens", "output_tokens")


class ToolError(Exception):
    """A tool call the mocked toolbox answered with an error (unknown tool, invalid
    arguments, an injected fault, no mocked output). `kind` says which."""

    def __init__(self, kind: str, message: str, tool: str) -> None:
        super().__init__(f"{tool}: {message}")
        self.kind = kind
        self.message = message
        self.tool = tool


class ProtocolError(Exception):
    """The harness said something this side does not understand, or went away."""


class Channel:
    """JSON Lines in both directions: one message per line."""

    def __init__(self, rfile: IO[bytes], wfile: IO[bytes]) -> None:
        self._r = rfile
        self._w = wfile

    def send(self, message: dict[str, Any]) -> None:
        self._w.write(json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n")
        self._w.flush()

    def receive(self) -> dict[str, Any]:
        line = self._r.readline()
        if not line:
            raise ProtocolError("the harness closed the channel")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ProtocolError("the harness sent something that is not a JSON object")
        return message


class Tools:
    """The mocked toolbox, as the agent sees it. Every method is one recorded span."""

    def __init__(self, channel: Channel, request: dict[str, Any]) -> None:
        self._channel = channel
        self._next_id = 0
        # the manifest's tools by name, e.g. to hand their schemas to a model
        self.available: dict[str, dict[str, Any]] = {t["name"]: t for t in request.get("tools") or []}

    def _ask(self, message: dict[str, Any], what: str) -> Any:
        self._next_id += 1
        message["id"] = self._next_id
        self._channel.send(message)
        reply = self._channel.receive()
        if reply.get("type") != "result" or reply.get("id") != self._next_id:
            raise ProtocolError(f"expected the result of request {self._next_id}, got {reply!r:.200}")
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise ToolError(str(error.get("kind", "error")), str(error.get("message", "")), what)
        return reply.get("result")

    def call(self, name: str, args: dict[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """Call a tool: `tools.call("read_order", order_id="o1")` or with an args dict.

        Returns the mocked result; raises ToolError when the toolbox answers with an error.
        A state-changing tool is recorded as an intent and never executed.
        """
        merged = {**(args or {}), **kwargs}
        return self._ask({"type": "tool_call", "name": name, "args": merged}, name)

    def retrieve(self, name: str, query: str | None = None) -> list[Any]:
        """Documents of the retrieval `name` (span `retrieval:<name>`)."""
        result = self._ask({"type": "retrieve", "name": name, "query": query}, f"retrieval {name}")
        return list(result or [])

    def memory_read(self, key: str | None = None) -> list[Any]:
        """Memory records (all, or those whose `key` matches); span `memory:<key>`."""
        result = self._ask({"type": "memory", "op": "read", "key": key}, "memory read")
        return list(result or [])

    def memory_write(self, key: str, value: Any) -> None:
        """A memory write: recorded as an intent, never stored."""
        self._ask({"type": "memory", "op": "write", "key": key, "value": value}, "memory write")

    def approval(self, name: str = "required", args: dict[str, Any] | None = None) -> str:
        """Request a human approval (span `approval:<name>`); returns pending, approved or denied."""
        result = self._ask({"type": "approval", "name": name, "args": args}, f"approval {name}")
        return str((result or {}).get("decision", "pending"))

    def record(self, span_type: str, name: str, *, status: str = "succeeded", args: dict[str, Any] | None = None,
               result: Any = None, error: str | None = None, input_tokens: int | None = None,
               output_tokens: int | None = None, cost_usd: float | None = None,
               duration_ms: float | None = None, attributes: dict[str, Any] | None = None) -> None:
        """Record a span that is not a tool call: policy decision, message, workflow step, model turn."""
        message: dict[str, Any] = {"type": "span", "span_type": span_type, "name": name, "status": status}
        for key, value in (("args", args), ("result", result), ("error", error), ("input_tokens", input_tokens),
                           ("output_tokens", output_tokens), ("cost_usd", cost_usd),
                           ("duration_ms", duration_ms), ("attributes", attributes)):
            if value is not None:
                message[key] = value
        self._channel.send(message)

    def model(self, name: str, *, input_tokens: int | None = None, output_tokens: int | None = None,
              cost_usd: float | None = None, duration_ms: float | None = None,
              args: dict[str, Any] | None = None) -> None:
        """Record one model turn (span `model:<name>`) with its usage, so budgets can be checked."""
        self.record("model", name, args=args, input_tokens=input_tokens, output_tokens=output_tokens,
                    cost_usd=cost_usd, duration_ms=duration_ms)


def load_entrypoint(spec: str) -> AgentFunction:
    """`package.module:function` (the function may be `Class.method`-dotted)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"entrypoint {spec!r} is not `module:function`")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"entrypoint {spec!r} is not callable")
    fn: AgentFunction = target
    return fn


def _where(exc: BaseException) -> str:
    """The innermost frame of an exception, as `file:line in function`."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {os.path.basename(last.filename)}:{last.lineno} in {last.name})"


def _final(result: Any) -> dict[str, Any]:
    if result is None:
        result = {}
    if not isinstance(result, dict):
        raise TypeError(f"the agent returned {type(result).__name__}; it must return a dict "
                        f"with {', '.join(_FINAL_KEYS[:4])}")
    unknown = sorted(set(result) - set(_FINAL_KEYS))
    if unknown:
        raise TypeError(f"the agent's result has unknown keys: {', '.join(unknown)}")
    return {"type": "final", **result}


def run_agent(channel: Channel, entrypoint: str | AgentFunction) -> int:
    """Serve one run: read the request, call the agent, send its final result (or its error)."""
    request = channel.receive()
    if request.get("type") != "run" or request.get("protocol") != PROTOCOL:
        channel.send({"type": "error", "message": f"unsupported request (this side speaks protocol {PROTOCOL})"})
        return 2
    try:
        fn = load_entrypoint(entrypoint) if isinstance(entrypoint, str) else entrypoint
    except BaseException as exc:
        traceback.print_exc()
        channel.send({"type": "error", "message": f"cannot load the agent {entrypoint!s}: "
                      f"{type(exc).__name__}: {exc}{_where(exc)}"})
        return 1
    try:
        message = _final(fn(request, Tools(channel, request)))
    except SystemExit as exc:
        channel.send({"type": "error", "message": f"the agent called sys.exit({exc.code!r})"})
        return 1
    except BaseException as exc:
        # the whole traceback goes to the captured log; the report gets one line
        traceback.print_exc()
        channel.send({"type": "error", "message": f"{type(exc).__name__}: {exc}{_where(exc)}"})
        return 1
    channel.send(message)
    return 0


def _stdio_channel() -> Channel:
    """The protocol on the process's original stdin/stdout; the agent's own prints go to
    stderr and its stdin reads nothing, so neither can corrupt the protocol."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return Channel(os.fdopen(proto_in, "rb"), os.fdopen(proto_out, "wb"))


def serve(fn: AgentFunction) -> NoReturn:
    """Speak the protocol over stdin/stdout for one run of `fn`, then exit."""
    sys.exit(run_agent(_stdio_channel(), fn))


def _apply_python_path() -> None:
    for entry in reversed([p for p in os.environ.get("EVALLOOP_PYTHON_PATH", "").split(os.pathsep) if p]):
        sys.path.insert(0, entry)


def _run_env(payload: bytes) -> dict[str, str]:
    """The run's environment, as the harness sent it with the job (see `fork_server`)."""
    env = json.loads(payload).get("env")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError("the fork request carries no environment")
    return env


def _fork_child(fds: list[int], entrypoint: str, env: dict[str, str]) -> NoReturn:
    code = 70
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # its own session and process group: when the run ends, the harness kills the group,
        # so nothing the agent started outlives the run
        os.setsid()
        # exactly the run's environment (its own HOME, the allow-listed variables): whatever the
        # agent's import did to os.environ in the server is gone, and no run sees another's HOME
        os.environ.clear()
        os.environ.update(env)
        chan_fd, log_fd = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        sock = socket.socket(fileno=chan_fd)
        channel = Channel(sock.makefile("rb"), sock.makefile("wb"))
        channel.send({"type": "hello", "pid": os.getpid()})
        code = run_agent(channel, entrypoint)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _warm_child(control: socket.socket, taken: int, entrypoint: str) -> NoReturn:
    """A forked process waiting for a run: the next datagram on the control socket is its job."""
    try:
        while True:
            payload, fds, _, _ = socket.recv_fds(control, MAX_FORK_REQUEST, 2)
            if len(fds) == 2:
                break
            for fd in fds:
                os.close(fd)
        os.write(taken, f"{os.getpid()}\n".encode())  # the server forks a replacement
        os.close(taken)
        control.close()
        env = _run_env(payload)
    except BaseException:
        os._exit(70)
    _fork_child(fds, entrypoint, env)


def fork_server(entrypoint: str, control_fd: int, warm: int = 1) -> int:
    """Import the agent once, then serve every run from a fresh process forked from that state.

    Runs cannot see each other (each starts from the state right after import),
    while the interpreter start and the import are paid once per `run_fixtures`
    call instead of once per run. `warm` processes are forked ahead and wait for
    work, so forking is off the critical path; each one that takes a run is
    replaced at once. The harness sends, per run, a datagram on the control
    socket: `{"env": {...}}` (the run's whole environment) carrying two
    descriptors, the run's channel socket and the write end of its log pipe.
    Stdin is the harness's liveness pipe: end of file means it is gone, and the
    waiting processes are ended with the server.
    """
    control = socket.socket(fileno=control_fd)
    try:
        importlib.import_module(entrypoint.partition(":")[0])
    except BaseException:
        # each run imports it again and reports the error as its result
        traceback.print_exc()
    # Children share these pages copy-on-write; keeping the collector off them keeps it that way.
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the runs
    taken_r, taken_w = os.pipe()
    waiting: set[int] = set()

    def fork_one() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            return  # fewer waiting processes: runs queue for the others
        if pid == 0:
            os.close(taken_r)
            _warm_child(control, taken_w, entrypoint)
        waiting.add(pid)

    control.send(b"ready")  # runs asked for before the first fork wait in the socket's queue
    for _ in range(max(1, warm)):
        fork_one()
    pending = b""
    try:
        while True:
            readable, _, _ = select.select([taken_r, 0], [], [])
            if 0 in readable and not os.read(0, 4096):
                return 0
            if taken_r in readable:
                pending += os.read(taken_r, 4096)
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    waiting.discard(int(line))
                    fork_one()
    finally:
        for pid in waiting:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """`python -m evalloop.agent [--fork-server FD WARM] ENTRYPOINT` (started by the harness)."""
    args = list(sys.argv[1:] if argv is None else argv)
    _apply_python_path()
    if len(args) == 4 and args[0] == "--fork-server":
        return fork_server(args[3], int(args[1]), int(args[2]))
    if len(args) != 1:
        print("usage: python -m evalloop.agent [--fork-server FD WARM] module:function", file=sys.stderr)
        return 2
    return run_agent(_stdio_channel(), args[0])


if __name__ == "__main__":
    # Run the importable module, not this `__main__` copy: agents import
    # `evalloop.agent`, and its ToolError must be the class the toolbox raises.
    from evalloop import agent as _module

    sys.exit(_module.main())

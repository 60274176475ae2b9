"""An agent that probes the harness's containment (tests/unit/harness/).

The fixture input's `how` picks what it does. It runs as an entrypoint
(`contained_agent:run`, forked or in a fresh interpreter) and as a command
(`python contained_agent.py`, through `evalloop.agent.serve`).
"""

import contextlib
import json
import os
import subprocess
import sys

from evalloop.agent import ToolError

IMPORT_ENV = dict(os.environ)  # what the import saw: in fork mode, the fork server's environment
DONE = {"stop_reason": "done", "final_status": "resolved", "output": "ok"}


def _environment() -> dict:
    home = os.environ.get("HOME", "")
    entries = sorted(os.listdir(home)) if os.path.isdir(home) else None
    open(os.path.join(home, "left-by-this-run"), "w").close()  # a later run must not see it
    # a process the agent starts inherits the agent's real (C-level) environment
    child = subprocess.run([sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                           capture_output=True, text=True, check=True)
    return {"env": dict(os.environ), "import_env": IMPORT_ENV, "child_env": json.loads(child.stdout),
            "home_entries": entries}


def _daemon() -> int:
    """A grandchild that leaves its parent behind (double fork) and stays in the agent's group."""
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            os.close(w)
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.waitpid(first, 0)
    os.close(w)
    pid = int(os.read(r, 64))
    os.close(r)
    return pid


def run(request, tools):
    how = request["input"]["how"]
    pid_file = request["input"].get("pid_file")
    if how == "env":
        return {**DONE, "output": json.dumps(_environment())}
    if how in ("sleeper", "sleeper_crash", "sleeper_raise", "sleeper_hang", "daemon"):
        pid = _daemon() if how == "daemon" else subprocess.Popen(["sleep", "1000"]).pid
        with open(pid_file, "w") as f:
            f.write(str(pid))
        if how == "sleeper_crash":
            os._exit(3)
        if how == "sleeper_raise":
            raise RuntimeError("gave up, leaving a child behind")
        if how == "sleeper_hang":
            subprocess.run(["sleep", "1000"])
        return DONE
    if how == "nan_cost":
        return {**DONE, "cost_usd": float("nan")}
    if how == "infinite_cost":
        return {**DONE, "cost_usd": float("inf")}
    if how == "negative_tokens":
        return {**DONE, "input_tokens": -5}
    if how == "negative_duration":
        tools.model("m1", input_tokens=1, duration_ms=-30.0)
        return DONE
    if how == "log_flood":
        print("x" * (9 * 1024 * 1024), file=sys.stderr, flush=True)
        return DONE
    if how == "stdout_flood":
        print("y" * (9 * 1024 * 1024), flush=True)  # prints go to the log, not the protocol
        return DONE
    if how == "endless_log":
        while True:
            sys.stderr.write("z" * 65536)
    if how == "unknown_tool":
        tools.call("read_order", order_id="o1")
        with contextlib.suppress(ToolError):  # the agent copes with the error; the run must still fail
            tools.call("wipe_disk", path="/")
        return DONE
    return DONE


if __name__ == "__main__":
    from evalloop.agent import serve

    serve(run)

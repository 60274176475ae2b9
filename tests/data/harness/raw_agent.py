"""A command agent speaking raw JSON Lines (no evalloop import), for what a Python agent
using evalloop.agent cannot write: bad numbers, floods, a child holding the protocol output.
The fixture input's `how` picks what it does (tests/unit/harness/)."""

import json
import subprocess
import sys

request = json.loads(sys.stdin.readline())
how = request["input"]["how"]


def send(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


FINAL = '{"type": "final", "stop_reason": "done", "output": "ok"'
if how == "infinity_cost":
    send(FINAL + ', "cost_usd": Infinity}')
elif how == "nan_cost":
    send(FINAL + ', "cost_usd": NaN}')
elif how == "huge_cost":
    send(FINAL + ', "cost_usd": 1e400}')
elif how == "string_cost":
    send(FINAL + ', "cost_usd": "0.01"}')
elif how == "float_tokens":
    send(FINAL + ', "output_tokens": 12.5}')
elif how == "nan_span":
    send('{"type": "span", "span_type": "model", "name": "m1", "cost_usd": NaN}')
    send(FINAL + "}")
elif how == "flood":
    sys.stdout.write("w" * (9 * 1024 * 1024))  # no newline: one endless message
    sys.stdout.flush()
    sys.stdin.readline()
elif how == "flood_messages":
    span = '{"type": "span", "span_type": "message", "name": "m", "result": "' + "v" * 100_000 + '"}\n'
    for _ in range(90):
        sys.stdout.write(span)
    sys.stdout.flush()
    sys.stdin.readline()
elif how == "holder":
    # a child that inherits the protocol output and sleeps: the agent's own exit does not end it
    child = subprocess.Popen(["sleep", "1000"])
    with open(request["input"]["pid_file"], "w") as f:
        f.write(str(child.pid))
    send(FINAL + "}")

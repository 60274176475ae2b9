"""Runs the steps of the real `action.yml` the way GitHub's runner runs a composite action.

The steps are read out of `action.yml`, never copied: `run:` steps go to
`bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`) with their `env:`
evaluated by a small `${{ }}` evaluator (inputs, github, steps, runner, env contexts;
`||`, `&&`, `!`, `==`, `!=`, status functions), `GITHUB_OUTPUT` and
`GITHUB_STEP_SUMMARY` files per step, and the log read back the way the runner reads
workflow commands, `::stop-commands::` included. `uses:` steps are not run (Python
is already set up here) but must be pinned to a full commit SHA.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"""
                    r"""|(?P<op>\|\||&&|==|!=|<=|>=|[!<>()\[\].,])|(?P<name>[A-Za-z_][\w-]*))""")


# -- expressions ----------------------------------------------------------------------------


class Expr:
    """A recursive-descent evaluator for the subset of GitHub's expression syntax actions use."""

    def __init__(self, text: str, ctx: dict[str, Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot parse expression at {text[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.ctx = ctx

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ValueError(f"expected {value!r}, got {tok!r}")
        self.i += 1
        return tok

    def evaluate(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ValueError(f"trailing tokens: {self.tokens[self.i:]}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.eq()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.eq()
            left = right if truthy(left) else left
        return left

    def eq(self) -> Any:
        left = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            left = equal(left, right) if op == "==" else not equal(left, right)
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                value = member(value, self.take()[1])
            else:
                key = self.or_()
                self.take("]")
                value = member(value, key)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take(")")
                return call(text, args, self.ctx)
            return member(self.ctx, text)
        raise ValueError(f"unexpected {text!r}")


def member(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        for k, v in obj.items():  # property names are case-insensitive
            if str(k).lower() == str(key).lower():
                return v
        return None
    if isinstance(obj, list) and isinstance(key, float) and key.is_integer() and 0 <= int(key) < len(obj):
        return obj[int(key)]
    return None


def call(name: str, args: list[Any], ctx: dict[str, Any]) -> Any:
    name = name.lower()
    if name in ("success", "always", "failure", "cancelled"):
        failed = bool(ctx.get("_failed"))
        return {"success": not failed, "always": True, "failure": failed, "cancelled": False}[name]
    if name == "contains":
        hay, needle = args
        if isinstance(hay, list):
            return any(equal(x, needle) for x in hay)
        return to_str(needle).lower() in to_str(hay).lower()
    if name == "startswith":
        return to_str(args[0]).lower().startswith(to_str(args[1]).lower())
    if name == "tojson":
        return json.dumps(args[0], indent=2)
    raise ValueError(f"function {name}() is not supported by this test runner")


def truthy(v: Any) -> bool:
    if isinstance(v, float):
        return not (v == 0 or math.isnan(v))
    return v not in (None, False, "")


def to_number(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float | int):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip()) if v.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # GitHub compares strings ignoring case
    if type(a) is type(b):
        return bool(a == b)
    return to_number(a) == to_number(b)


def to_str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dict | list):
        return json.dumps(v)
    return str(v)


_INTERP = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(text: Any, ctx: dict[str, Any]) -> str:
    if not isinstance(text, str):
        return to_str(text)
    return _INTERP.sub(lambda m: to_str(Expr(m.group(1), ctx).evaluate()), text)


def condition(text: Any, ctx: dict[str, Any]) -> bool:
    if text is None:
        return not ctx.get("_failed")
    if isinstance(text, bool):
        return text and not ctx.get("_failed")
    expr = str(text).strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2]
    # Without a status function, GitHub prepends success() &&.
    if not re.search(r"\b(success|always|failure|cancelled)\s*\(", expr):
        expr = f"success() && ({expr})"
    return truthy(Expr(expr, ctx).evaluate())


# -- the workflow command side of the log -----------------------------------------------------


@dataclass
class Command:
    name: str
    props: dict[str, str]
    message: str


def _unescape(text: str, prop: bool = False) -> str:
    text = text.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%25", "%")


def parse_commands(log: str) -> list[Command]:
    """The workflow commands the runner would act on, honouring ::stop-commands::."""
    out: list[Command] = []
    resume: str | None = None
    for line in log.splitlines():
        if resume is not None:
            if line.strip() == f"::{resume}::":
                resume = None
            continue
        m = re.match(r"^::([\w-]+)(?: ([^:]*))?::(.*)$", line)
        if not m:
            continue
        name, raw_props, message = m.group(1), m.group(2) or "", m.group(3)
        if name == "stop-commands":
            resume = message
            continue
        props = {}
        for part in filter(None, raw_props.split(",")):
            key, _, value = part.partition("=")
            props[key.strip()] = _unescape(value, prop=True)
        out.append(Command(name, props, _unescape(message)))
    return out


def parse_file_command(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            chunk = []
            while i < len(lines) and lines[i] != delimiter:
                chunk.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"unterminated {name}<<{delimiter}")
            i += 1
            values[name] = "\n".join(chunk)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


# -- running the action ------------------------------------------------------------------------


@dataclass
class StepRun:
    id: str
    name: str
    kind: str  # run | uses | skipped
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    failed: bool

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)

    def commands(self, *names: str) -> list[Command]:
        return [c for s in self.steps for c in parse_commands(s.stdout) if not names or c.name in names]

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)


def load_action(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def run_action(action_dir: Path, *, workspace: Path, runner_temp: Path, event_name: str, event_path: Path,
               with_inputs: dict[str, str], env: dict[str, str], token: str = "", only: set[str] | None = None,
               skip: frozenset[str] = frozenset(), timeout: float = 120) -> ActionRun:
    """Run the composite action in `action_dir` in `workspace` the way the runner would.

    `env` is the job's environment (GITHUB_*, RUNNER_TEMP, PATH ...). `only`/`skip` select
    steps by name, for tests that run the install step once and the rest per scenario."""
    action = load_action(action_dir / "action.yml")
    assert action["runs"]["using"] == "composite"
    event = json.loads(event_path.read_text(encoding="utf-8"))
    github = {
        "event": event, "event_name": event_name, "event_path": str(event_path),
        "repository": env.get("GITHUB_REPOSITORY", ""), "token": token,
        "sha": env.get("GITHUB_SHA", ""), "workspace": str(workspace), "action_path": str(action_dir),
        "server_url": env.get("GITHUB_SERVER_URL", ""), "api_url": env.get("GITHUB_API_URL", ""),
        "run_id": env.get("GITHUB_RUN_ID", ""),
    }
    ctx: dict[str, Any] = {"github": github, "runner": {"temp": str(runner_temp), "os": "Linux"},
                           "env": dict(env), "steps": {}, "inputs": {}}
    inputs: dict[str, str] = {}
    for name, spec in (action.get("inputs") or {}).items():
        inputs[name] = with_inputs[name] if name in with_inputs else interpolate(spec.get("default", ""), ctx)
    unknown = set(with_inputs) - set(inputs)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    ctx["inputs"] = inputs
    runs: list[StepRun] = []
    for index, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id") or f"__step{index}"
        name = step.get("name") or sid
        if (only is not None and name not in only) or name in skip:
            continue
        if not condition(step.get("if"), ctx):
            ctx["steps"][sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            runs.append(StepRun(sid, name, "skipped"))
            continue
        if "uses" in step:
            assert PINNED.match(step["uses"].split("#")[0].strip()), f"not pinned by commit SHA: {step['uses']}"
            runs.append(StepRun(sid, name, "uses"))
            ctx["steps"][sid] = {"outputs": {}, "outcome": "success", "conclusion": "success"}
            continue
        run = _run_step(step, sid, name, ctx, action_dir, workspace, runner_temp, env, timeout)
        runs.append(run)
        ok = run.returncode == 0
        ctx["steps"][sid] = {"outputs": run.outputs, "outcome": "success" if ok else "failure",
                             "conclusion": "success" if ok else "failure"}
        if not ok:
            ctx["_failed"] = True
    outputs = {name: interpolate(spec.get("value", ""), ctx) for name, spec in (action.get("outputs") or {}).items()}
    return ActionRun(runs, outputs, bool(ctx.get("_failed")))


def _run_step(step: dict[str, Any], sid: str, name: str, ctx: dict[str, Any], action_dir: Path, workspace: Path,
              runner_temp: Path, env: dict[str, str], timeout: float) -> StepRun:
    script = step["run"]
    # Expressions inside run: would be pasted into the script before bash sees it.
    assert "${{" not in script, f"step {name!r}: ${{{{ }}}} inside run: is script injection; use env:"
    assert step.get("shell") == "bash", f"step {name!r}: composite run steps need shell: bash"
    step_env = {k: interpolate(v, ctx) for k, v in (step.get("env") or {}).items()}
    files = runner_temp / "_runner_file_commands"
    files.mkdir(parents=True, exist_ok=True)
    out_file, summary_file = files / f"output_{sid}", files / f"step_summary_{sid}"
    script_file = runner_temp / f"{sid}.sh"
    for f in (out_file, summary_file):
        f.write_text("")
    script_file.write_text(script)
    full_env = {**env, **step_env,
                "GITHUB_OUTPUT": str(out_file), "GITHUB_STEP_SUMMARY": str(summary_file),
                "GITHUB_ACTION_PATH": str(action_dir), "RUNNER_TEMP": str(runner_temp),
                "GITHUB_WORKSPACE": str(workspace)}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)], cwd=workspace,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    return StepRun(sid, name, "run", proc.returncode, proc.stdout, proc.stderr,
                   parse_file_command(out_file.read_text()), summary_file.read_text(), step_env)


def environment(**extra: str) -> dict[str, str]:
    """A runner-like base environment: the test's own PATH and HOME, nothing of the test's GITHUB_*."""
    keep = {k: v for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
            or k.startswith("PIP_")}
    return {**keep, "CI": "true", "GITHUB_ACTIONS": "true", **extra}

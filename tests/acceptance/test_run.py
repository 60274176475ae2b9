"""`evalloop run` on the worked example: the fixed agent passes, the incident's revision blocks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalloop.errors import UsageError
from evalloop.gate.execute import load_fixture_file
from evalloop.gate.expressions import Subject, compile_select
from evalloop.repo.config import load_config
from evalloop.repo.fixtures import LoadedFixture
from tests.support import PROJECT, invoke, run_evalloop, write

EXAMPLE = PROJECT / "examples" / "refund-support"
SEED_FIXTURES = {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression",
                 "refund-approval-bypass-trajectory"}


def apply_bypass(example: Path) -> None:
    """The demo step: put the incident's workflow revision back."""
    shutil.copyfile(example / "revisions/bypass/workflows/refund.yaml", example / "workflows/refund.yaml")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    dst = tmp_path / "refund-support"
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's own root (its evalloop.yaml points at the example), away from the checkout."""
    dst = tmp_path / "project"
    dst.mkdir()
    for name in ("evalloop.yaml", "owners.yaml"):
        shutil.copyfile(PROJECT / name, dst / name)
    for name in ("fixtures", "incidents", "examples"):
        shutil.copytree(PROJECT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def table_rows(stdout: str) -> dict[str, str]:
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^(PASS|FAIL|ERROR|FLAKY)\s+\S+\s+\S+\s+(\S+)\s", line)
        if m:
            rows[m.group(2)] = m.group(1)
    return rows


def test_project_root_fixed_agent_passes_and_bypass_revision_blocks(project: Path) -> None:
    fixed = run_evalloop("run", "--jobs", "2", cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    rows = table_rows(fixed.stdout)
    assert set(rows) >= SEED_FIXTURES and set(rows.values()) == {"PASS"}
    assert "verdict: PASS" in fixed.stdout

    apply_bypass(project / "examples/refund-support")
    bypass = run_evalloop("run", "--jobs", "2", cwd=project)
    assert bypass.returncode == 1, bypass.stdout + bypass.stderr
    rows = table_rows(bypass.stdout)
    assert all(rows[f] == "FAIL" for f in SEED_FIXTURES)
    assert rows["refund-below-threshold-self-serve"] == "PASS"  # the allowed side is unchanged
    out = bypass.stdout
    assert "verdict: BLOCK (blocking: incident-2026-04-18-refund-approval-bypass" in out
    # the approval violations, with their evidence
    assert "order: tool:draft_refund_request at span 4 came before the first approval:required" in out
    assert "forbidden span message:customer_promise_sent" in out
    assert "forbidden tool send_customer_email was called" in out
    assert "output contains forbidden 'approved'" in out


def test_example_repository_jobs_keep_the_order_and_junit_has_the_failures(example: Path) -> None:
    apply_bypass(example)
    one = run_evalloop("run", "--jobs", "1", cwd=example)
    four = run_evalloop("run", "--jobs", "4", "--format", "junit", "--output", "report.xml", cwd=example)
    assert one.returncode == four.returncode == 1

    def stable(text: str) -> str:  # everything but the timings: the summary line's and each row's TIME
        text = re.sub(r"fixtures in [\d.]+s \(jobs \d+\)", "fixtures", text)
        text = re.sub(r"  (?:\d+ ms|[\d.]+ s|\d+ min \d+ s)(?=  )", "  TIME", text)
        return re.sub(r" {2,}", "  ", text)  # the TIME column's width follows its values

    assert stable(one.stdout) == stable(four.stdout)
    suite = ET.parse(example / "report.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert len(cases) == 7 and suite.get("failures") == "5"
    failure = cases["refund-approval-bypass-trajectory"].find("failure")
    assert failure is not None
    assert "order: tool:draft_refund_request" in (failure.text or "")
    assert cases["shipping-status-lookup"].find("failure") is None


def test_select_on_the_command_line(example: Path) -> None:
    result = run_evalloop("run", "--format", "json", "--select", "severity:warning",
                          "--select", "refund-read-order-t*", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "pass"
    assert [r["id"] for r in report["results"]] == [
        "refund-below-threshold-self-serve", "refund-read-order-timeout-retry", "shipping-status-lookup"]
    assert all(r["status"] == "pass" and r["runs"] == 1 for r in report["results"])
    bad = run_evalloop("run", "--select", "colour:red", "--select", "nothing-here", cwd=example)
    assert bad.returncode == 2 and "unknown key 'colour'" in bad.stderr


def subjects() -> list[Subject]:
    config = load_config(EXAMPLE)
    out = []
    for path in sorted((EXAMPLE / "fixtures").iterdir()):
        loaded = load_fixture_file(EXAMPLE, config, path)
        assert isinstance(loaded, LoadedFixture)
        out.append(Subject.of(loaded))
    return out


@pytest.mark.parametrize(("expr", "expected"), [
    ("severity:warning", {"refund-below-threshold-self-serve", "shipping-status-lookup"}),
    ("refund-read-order-* or route:shipping_status",
     {"refund-read-order-malformed-escalates", "refund-read-order-timeout-retry", "shipping-status-lookup"}),
    ("gate:model_route and severity:blocking and not incident:*",
     {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression"}),
    ("not (gate:policy or owner:support-platform)", set()),
    ("id:refund-approval-bypass-regression", {"refund-approval-bypass-regression"}),
    ("path:fixtures/*.json and incident:*", set()),
    ("path:fixtures/*.json", {"incident-2026-04-18-refund-approval-bypass", "refund-approval-bypass-regression"}),
    ("incident:INC-2026-04-18-001", {"refund-approval-bypass-trajectory"}),
])
def test_select_expressions(expr: str, expected: set[str]) -> None:
    pred = compile_select([expr])
    assert {s.id for s in subjects() if pred(s)} == expected


@pytest.mark.parametrize(("expr", "message"), [
    ("", "empty expression"), ("a and", "ends too early"), ("(a or b", "missing ')'"), ("a b", "unexpected 'b'"),
    ("or a", "unexpected 'or'"), ("owner:", "needs a value"), ("colour:red", "unknown key 'colour'"),
])
def test_select_errors_are_usage_errors(expr: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        compile_select([expr])


def test_run_without_an_agent_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "evalloop.yaml", "version: 1\n")
    write(tmp_path / "fixtures/a.yaml", "id: a\nowner: x\n")
    result = run_evalloop("run", cwd=tmp_path)
    assert result.returncode == 2 and "has no `agent:`" in result.stderr


def fixture_files(example: Path) -> dict[str, Path]:
    """Each fixture file of the example by its id."""
    config = load_config(example)
    out = {}
    for path in sorted((example / "fixtures").iterdir()):
        loaded = load_fixture_file(example, config, path)
        assert isinstance(loaded, LoadedFixture)
        out[loaded.fixture.id] = path
    return out


def test_saved_runs_are_judged_again_by_check_with_the_same_verdict(example: Path) -> None:
    apply_bypass(example)  # five fixtures fail, two pass: both verdicts are saved and judged again
    result = run_evalloop("run", "--jobs", "2", "--save-runs", "saved runs", "--format", "json", cwd=example)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)  # the saved runs are not in the report, nor in its stdout
    assert "spans" not in result.stdout and "evalloop: saved 7 runs to saved runs" in result.stderr
    statuses = {r["id"]: r["status"] for r in report["results"]}
    assert sorted(statuses.values()) == ["fail"] * 5 + ["pass"] * 2
    files = fixture_files(example)
    assert sorted(p.name for p in (example / "saved runs").iterdir()) == sorted(f"{i}.run1.json" for i in files)
    for ident, path in files.items():
        check = run_evalloop("check", str(path), f"saved runs/{ident}.run1.json", cwd=example)
        assert check.returncode == (0 if statuses[ident] == "pass" else 1), check.stdout + check.stderr
        assert check.stdout.startswith(("PASS " if statuses[ident] == "pass" else "FAIL ") + ident)
    # the violations are the ones the run found
    check = run_evalloop("check", str(files["refund-approval-bypass-trajectory"]),
                         "saved runs/refund-approval-bypass-trajectory.run1.json", "--format", "json", cwd=example)
    kinds = sorted(v["kind"] for v in json.loads(check.stdout)["violations"])
    failures = next(r["failures"] for r in report["results"] if r["id"] == "refund-approval-bypass-trajectory")
    assert kinds == sorted(f["kind"] for f in failures)


def test_verbose_shows_each_run_span_by_span_in_json(example: Path) -> None:
    apply_bypass(example)
    result = run_evalloop("run", "--verbose", "--select", "refund-approval-bypass-trajectory", cwd=example)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    trajectory = out[:out.index("STATUS  SEVERITY")]  # the trajectories come first, the table and verdict last
    assert trajectory.startswith("Trajectories:\n\nFAIL refund-approval-bypass-trajectory (blocking, fixtures/")
    assert "  run 1 of 1: FAIL (5 violations: forbidden_span, order, forbidden_tool, output_contains)" in trajectory
    assert re.search(r'\n +1  (succeeded|failed) +tool +read_order +\{"order_id": "ord_redacted"\}\n', trajectory)
    assert re.search(r"\n +\d+  succeeded tool +send_customer_email +\{.*\(\d+ characters\)\n", trajectory)
    assert '    output: "Your refund' in trajectory and "    ended: stop_reason " in trajectory
    assert re.search(r"\n    time \d+ ms, tokens in/out 177/\d+, cost \$0\.0000\d+\n", trajectory)
    assert "None" not in trajectory and "{'" not in trajectory  # JSON, not Python reprs
    assert "verdict: BLOCK" in out[out.index("STATUS  SEVERITY"):]
    # with a machine-readable report on stdout, the trajectories go to stderr
    json_out = run_evalloop("run", "-v", "--format", "json", "--select", "shipping-status-lookup", cwd=example)
    assert json.loads(json_out.stdout)["verdict"] == "pass" and "PASS shipping-status-lookup (" in json_out.stderr


SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_colour_is_asked_for_or_left_out(example: Path) -> None:
    args = ("run", "--select", "shipping-status-lookup")
    piped = run_evalloop(*args, cwd=example)
    assert "\x1b" not in piped.stdout and "verdict: PASS" in piped.stdout
    forced = run_evalloop(*args, "--color", "always", "--verbose", cwd=example, env={"NO_COLOR": "1"})
    assert "\x1b[32mPASS" in forced.stdout and SGR.sub("", forced.stdout).count("PASS shipping-status-lookup") == 1
    assert SGR.sub("", forced.stdout).replace("\x1b", "") == SGR.sub("", forced.stdout)  # colour, nothing else
    never = run_evalloop(*args, "--color", "never", cwd=example, env={"FORCE_COLOR": "1"})
    assert "\x1b" not in never.stdout


def on_a_terminal(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI with its stdout on a pseudo-terminal, as on a developer's screen (outside CI)."""
    main, tty = os.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    environ |= {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "evalloop", *args], cwd=cwd, stdout=tty,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=environ)
    os.close(tty)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    return proc.wait(timeout=300), out.decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_a_live_display_and_colour_unless_no_color(example: Path) -> None:
    code, out = on_a_terminal("run", "--jobs", "2", cwd=example)
    assert code == 0
    assert "evalloop run: " in out and "fixtures done" in out  # the live display
    assert "\x1b[?25l" in out and SGR.search(out)  # drawn in place, in colour
    assert re.search(r"\r\n\x1b\[32mPASS\x1b\[0m +blocking", out)  # the final table, coloured
    assert "verdict: \x1b[1;32mPASS" in out
    code, out = on_a_terminal("run", "--jobs", "2", cwd=example, env={"NO_COLOR": "1"})
    assert code == 0 and "fixtures done" in out and "verdict: PASS" in out
    assert not SGR.search(out)  # the display still moves, but nothing is coloured


def test_help_has_examples() -> None:
    out = invoke("run", "--help").output
    assert "Examples:\n    evalloop run  " in out
    assert ("evalloop run --save-runs runs/ && \\\n"
            "      evalloop check fixtures/refund.yaml runs/refund.run1.json") in out
    assert "--color [auto|always|never]" in out and "--verbose" in out and "--save-runs DIR" in out


def test_runs_that_cannot_be_saved_are_an_error_after_the_report(example: Path) -> None:
    write(example / "taken", "a file, not a folder\n")
    result = run_evalloop("run", "--select", "shipping-status-lookup", "--save-runs", "taken/runs", cwd=example)
    assert result.returncode == 2 and "verdict: PASS" in result.stdout
    assert "--save-runs: cannot write the runs" in result.stderr and "Traceback" not in result.stderr


def warn_project(root: Path) -> Path:
    """A steady agent, a warning fixture it fails and a blocking one it passes."""
    write(root / "evalloop.yaml", "version: 1\nagent: {entrypoint: agent_mod:run, python_path: [agent], "
          "isolation: process}\n")
    write(root / "owners.yaml", "owners: {t: {}}\n")
    write(root / "agent/agent_mod.py", 'def run(request, tools):\n    return {"stop_reason": "done", '
          '"final_status": "ok", "output": "hello"}\n')
    write(root / "fixtures/w.yaml", "id: w\nowner: t\nseverity: warning\ninput: {user_message: w}\n"
          "expected: {stop_reason: gave_up}\n")
    write(root / "fixtures/deep/b.yaml", "id: b\nowner: t\nseverity: blocking\ninput: {user_message: b}\n"
          "expected: {stop_reason: done}\n")
    write(root / "notes/readme.md", "not a fixture\n")
    return root


def test_fail_on_warn_and_output_mean_what_they_mean_for_gate(tmp_path: Path) -> None:
    root = warn_project(tmp_path)
    plain = run_evalloop("run", cwd=root)
    assert plain.returncode == 0 and "verdict: WARN" in plain.stdout
    strict = run_evalloop("run", "--fail-on-warn", "--format", "json", "--output", "r.json", cwd=root)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert json.loads((root / "r.json").read_text())["verdict"] == "warn"  # the report in --format
    assert "verdict: WARN" in strict.stdout  # and the table still on stdout, as before


def test_paths_name_the_fixtures_to_run(tmp_path: Path) -> None:
    root = warn_project(tmp_path)
    one = run_evalloop("run", "fixtures/deep/b.yaml", "--format", "json", cwd=root)
    assert one.returncode == 0, one.stdout + one.stderr
    assert [r["id"] for r in json.loads(one.stdout)["results"]] == ["b"]
    folder = run_evalloop("run", "deep", "w.yaml", "--format", "json", cwd=root / "fixtures")
    assert [r["id"] for r in json.loads(folder.stdout)["results"]] == ["b", "w"]  # file order, from any folder
    narrowed = run_evalloop("run", "fixtures", "--select", "severity:warning", "--format", "json", cwd=root)
    assert [r["id"] for r in json.loads(narrowed.stdout)["results"]] == ["w"]
    outside = tmp_path.parent / f"{tmp_path.name}-outside.yaml"
    write(outside, "id: x\n")
    for path, reason in [("notes/readme.md", "notes/readme.md: not a fixture file: the config's fixtures globs ("),
                         ("notes", "notes: a folder with no fixture file in it"),
                         ("fixtures/nope.yaml", "fixtures/nope.yaml: no such file or folder"),
                         (str(outside), "outside the evalloop root")]:
        bad = run_evalloop("run", "fixtures/w.yaml", path, cwd=root)
        assert bad.returncode == 2 and reason in bad.stderr, bad.stderr
        assert "verdict" not in bad.stdout  # nothing ran


def test_explain_says_why_a_fixture_is_or_is_not_chosen(tmp_path: Path) -> None:
    root = warn_project(tmp_path)
    chosen = run_evalloop("run", "--select", "severity:warning", "--select", "b", "--explain", "w", cwd=root)
    assert chosen.returncode == 0 and chosen.stdout.startswith("w is chosen:\n")
    assert "  - --select 'severity:warning' matches it\n  - --select 'b' does not match it\n" in chosen.stdout
    assert "its labels: severity warning, owner t, gates (every kind)" in chosen.stdout
    not_chosen = run_evalloop("run", "fixtures/deep", "--explain", "w", cwd=root)
    assert not_chosen.stdout.startswith("w is not chosen:\n  - its file is not among the PATHs given\n")
    every = run_evalloop("run", "--explain", "b", cwd=root)
    assert "no PATH and no --select: every fixture runs" in every.stdout and "verdict" not in every.stdout
    assert "no fixture with id 'nope'" in run_evalloop("run", "--explain", "nope", cwd=root).stdout

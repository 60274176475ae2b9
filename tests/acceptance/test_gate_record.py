"""`evalloop gate --record`: each gate run adds one line to the gate ledger, through the real CLI on a
real repository with a real (flaky) agent; and the JSON report carries its schema version and time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import git
import jsonschema

from evalloop import schemas
from tests.support import invoke, run_evalloop
from tests.support.gitrepo import FLAKY_AGENT, commit_all, write_files

FIXTURE = """id: {id}
owner: t
severity: {severity}
incident_id: INC-1
gates: [prompt]
runs: {runs}
input: {{user_message: {id}}}
expected: {{stop_reason: done}}
"""
STEADY = '''
def run(request, tools):
    return {"stop_reason": "done" if request["input"]["user_message"] != "broken" else "gave_up",
            "final_status": "ok", "output": "hello"}
'''
CONFIG = "version: 1\nagent: {entrypoint: agent_mod:run, python_path: [agent], isolation: process}\n"


def repository(root: Path, agent: str = STEADY) -> str:
    repo = git.Repo.init(root, initial_branch="main")
    write_files(root, {
        "evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n", "agent/agent_mod.py": agent,
        "fixtures/ok.yaml": FIXTURE.format(id="ok", severity="blocking", runs=1),
        "fixtures/broken.yaml": FIXTURE.format(id="broken", severity="warning", runs=1),
        "prompts/p.md": "v1\n", ".gitignore": "agent/count-*.txt\nledgers/\n",
    })
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    write_files(root, {"prompts/p.md": "v2\n"})
    commit_all(repo, "prompt")
    return base


def test_each_gate_run_appends_one_line(chdir: Path) -> None:
    base = repository(chdir)
    head = git.Repo(chdir).head.commit.hexsha
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first = run_evalloop("gate", "--base", base, "--record", "--format", "json", cwd=chdir)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["schema_version"] == 1
    assert dt.datetime.fromisoformat(report["timestamp"]) >= before
    ledger = chdir / "ledgers" / "gates.jsonl"
    [line] = ledger.read_text().splitlines()
    record = json.loads(line)
    jsonschema.validate(record, schemas.schema_for(schemas.MODELS["gate-ledger"]))
    assert (record["head"], record["base"], record["verdict"]) == (head, base, "warn")
    assert {r["id"]: (r["severity"], r["status"], r["runs"], r["passes"], r["incident_id"])
            for r in record["results"]} == {"ok": ("blocking", "pass", 1, 1, "INC-1"),
                                            "broken": ("warning", "fail", 1, 0, "INC-1")}
    assert record["counts"] == report["counts"] and record["timestamp"].startswith(report["timestamp"][:19])
    assert record["changed_kinds"] == ["prompt"]
    # a rerun in CI: a second line, with the attempt; the first line is untouched
    second = run_evalloop("gate", "--base", base, "--record", cwd=chdir,
                          env={"GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_ACTIONS": ""})
    assert second.returncode == 0, second.stderr
    lines = ledger.read_text().splitlines()
    assert lines[0] == line and len(lines) == 2
    assert (json.loads(lines[1])["run_id"], json.loads(lines[1])["run_attempt"]) == ("42", 2)


def test_record_to_a_named_file_and_flaky_results(chdir: Path) -> None:
    base = repository(chdir, agent=FLAKY_AGENT)
    write_files(chdir, {"fixtures/ok.yaml": FIXTURE.format(id="ok", severity="blocking", runs=2)})
    commit_all(git.Repo(chdir), "twice")
    out = invoke("gate", "--base", base, "--record", "out/gates.jsonl", "--today", "2026-06-01")
    assert out.exit_code == 1
    [record] = [json.loads(x) for x in (chdir / "out" / "gates.jsonl").read_text().splitlines()]
    ok = next(r for r in record["results"] if r["id"] == "ok")
    assert (ok["status"], ok["runs"], ok["passes"], record["verdict"]) == ("flaky", 2, 1, "block")
    assert not (chdir / "ledgers").exists()


def test_record_refuses_a_gate_that_runs_nothing(chdir: Path) -> None:
    base = repository(chdir)
    out = invoke("gate", "--base", base, "--select-only", "--record")
    assert out.exit_code == 2 and "--record needs a gate that runs" in out.output
    assert not (chdir / "ledgers").exists()

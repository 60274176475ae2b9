from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalloop.repo import idindex
from tests.support import PROJECT, invoke, run_evalloop, write

GOOD = """\
id: good-one
owner: my-team
severity: warning
created_at: 2026-01-01
input: {user_message: hi}
expected: {tools_not_called: [issue_refund]}
"""


def lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln and "file(s) checked" not in ln]


def test_project_worked_example_is_clean() -> None:
    proc = run_evalloop("validate", "--today", "2026-11-27", cwd=PROJECT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checked = int(proc.stderr.split(" file(s) checked: 0 error(s), 0 warning(s)")[0].split()[-1])
    assert checked >= 6  # three fixtures, the incident, owners.yaml and evalloop.yaml at least


def test_scaffold_validates(repo: Path) -> None:
    assert invoke("validate").exit_code == 0


def test_schema_errors_point_at_key_and_value(repo: Path) -> None:
    write(repo / "fixtures/bad.yaml", GOOD.replace("severity: warning", "severity: blocker")
          + "gatez: [prompt]\nbudget: 3\n")
    result = invoke("validate", "fixtures/bad.yaml")
    assert result.exit_code == 1
    assert lines(result.output) == [
        "fixtures/bad.yaml:3:11: SCH001 severity: 'blocker' is not one of "
        "['blocking', 'warning', 'exploratory']",
        "fixtures/bad.yaml:7:1: SCH001 gatez: unknown key 'gatez' (did you mean 'gates'?)",
        "fixtures/bad.yaml:8:1: SCH001 budget: unknown key 'budget'",
    ]


def test_nested_schema_error_in_json(repo: Path) -> None:
    write(repo / "fixtures/bad.json", json.dumps(
        {"id": "j", "owner": "my-team", "expected": {"budget": {"max_tool_calls": -1}}}, indent=2))
    result = invoke("validate", "fixtures/bad.json")
    assert lines(result.output) == [
        "fixtures/bad.json:6:25: SCH001 expected.budget.max_tool_calls: -1 is less than the "
        "minimum of 0"]


def test_duplicate_id_found_when_only_one_file_is_passed(repo: Path) -> None:
    write(repo / "fixtures/a.yaml", GOOD)
    write(repo / "fixtures/deep/b.json", json.dumps({"id": "good-one", "owner": "my-team"}))
    result = invoke("validate", "fixtures/a.yaml")
    assert result.exit_code == 1
    assert lines(result.output) == [
        "fixtures/a.yaml:1:5: ID001 id 'good-one' is also used by fixtures/deep/b.json"]
    # the full run reports both sides
    assert len([ln for ln in lines(invoke("validate").output) if "ID001" in ln]) == 2


def test_owner_checks(repo: Path) -> None:
    write(repo / "fixtures/a.yaml", GOOD.replace("owner: my-team", "owner: my-teem"))
    write(repo / "fixtures/b.yaml", GOOD.replace("good-one", "b").replace("owner: my-team\n", ""))
    out = lines(invoke("validate").output)
    assert "fixtures/a.yaml:2:8: OWN001 owner 'my-teem' is not listed in owners.yaml " \
           "(did you mean 'my-team'?)" in out
    assert any(ln.startswith("fixtures/b.yaml:1:1: OWN002") for ln in out)


def test_codeowners_as_owner_source(repo: Path) -> None:
    write(repo / "evalloop.yaml", "owners: {source: codeowners}\n")
    write(repo / ".github/CODEOWNERS", "fixtures/ @acme/support-platform  # refunds\n")
    write(repo / "fixtures/example-confirm-before-side-effect.yaml",
          GOOD.replace("my-team", "support-platform"))
    write(repo / "fixtures/c.yaml", GOOD.replace("good-one", "c").replace("my-team", "acme/other"))
    out = lines(invoke("validate").output)
    assert len(out) == 1 and "fixtures/c.yaml:2:8: OWN001 owner 'acme/other'" in out[0]


def test_expiry_errors_warnings_and_today(repo: Path) -> None:
    write(repo / "fixtures/t.yaml", GOOD + "temporary: true\n")
    write(repo / "fixtures/e.yaml", GOOD.replace("good-one", "e") + "expires_at: 2026-03-01\n")
    result = invoke("validate", "--today", "2026-02-20")
    out = lines(result.output)
    assert "fixtures/t.yaml:7:1: EXP003 `temporary: true` needs an `expires_at` date" in out
    assert "fixtures/e.yaml:7:13: EXP002 warning: fixture expires on 2026-03-01 (in 9 days)" in out
    assert result.exit_code == 1
    write(repo / "fixtures/t.yaml", GOOD)
    warn_only = invoke("validate", "--today", "2026-02-20")
    assert warn_only.exit_code == 0 and "EXP002" in warn_only.output
    expired = invoke("validate", "--today", "2026-03-02")
    assert expired.exit_code == 1
    assert "EXP001 fixture expired on 2026-03-01 (1 days ago)" in expired.output
    assert invoke("validate", "--today", "2026-01-01").exit_code == 0


def test_references(repo: Path) -> None:
    write(repo / "incidents/INC-1.yaml", "id: INC-1\nseverity: sev2\nopened_at: 2026-01-01\n"
          "signal: near_miss\nsummary: s\nowner: my-team\n")
    write(repo / "prompts/refund.md", "prompt\n")
    write(repo / "fixtures/r.yaml", GOOD + "incident_id: INC-2\n"
          "scope: {paths: [prompts/refund.md, 'policies/**/*.yaml']}\n")
    out = lines(invoke("validate").output)
    assert out == [
        "fixtures/r.yaml:7:14: REF001 incident 'INC-2' not found under incidents/",
        "fixtures/r.yaml:8:36: REF002 scope path 'policies/**/*.yaml' matches no file in the "
        "repository",
    ]
    write(repo / "fixtures/r.yaml", GOOD + "incident_id: INC-1\nscope: {paths: [prompts/*.md]}\n")
    assert invoke("validate").exit_code == 0


def test_redaction_and_allow_marker(repo: Path) -> None:
    write(repo / "fixtures/p.yaml", GOOD.replace(
        "input: {user_message: hi}",
        "input:\n  user_message: 'mail jane@corp.io'\n"
        "  note: 'call 415-555-2671'  # evalloop: allow-synthetic\n"
        "  card: '4242 4242 4242 4242'\n") + "synthetic_values: ['4242 4242 4242 4242']\n")
    out = lines(invoke("validate").output)
    assert len(out) == 1 and out[0].startswith(
        "fixtures/p.yaml:6:23: RED001 unredacted e-mail address in input.user_message")


def test_incidents_owners_and_config_are_validated(repo: Path) -> None:
    write(repo / "incidents/x.yaml", "id: X\nseverity: sev9\n")
    write(repo / "owners.yaml", "owners: [a, b]\n")
    out = lines(invoke("validate").output)
    assert any(ln.startswith("incidents/x.yaml:2:11: SCH001 severity:") for ln in out)
    assert any(ln.startswith("incidents/x.yaml:1:1: SCH001 (root): 'opened_at' is a required")
               for ln in out)
    assert "owners.yaml:1:9: SCH001 owners: ['a', 'b'] is not of type 'object'" in out


def test_broken_config_is_a_usage_error(repo: Path) -> None:
    write(repo / "evalloop.yaml", "version: 1\nexpiry_warning_days: soon\n")
    result = invoke("validate")
    assert result.exit_code == 2
    assert "evalloop.yaml:2:22: CFG001 expiry_warning_days:" in result.output


def test_missing_file_is_a_usage_error(repo: Path) -> None:
    assert invoke("validate", "fixtures/nope.yaml").exit_code == 2


def test_hostile_files_get_one_line_errors(repo: Path) -> None:
    f = repo / "fixtures"
    write(f / "dup.yaml", "id: a\nid: b\n")
    write(f / "tag.yaml", "id: !!python/object/apply:os.system [id]\n")
    (f / "bin.json").write_bytes(b"\x00\x01\x02")
    write(f / "empty.yaml", "")
    write(f / "list.yaml", "- a\n- b\n")
    with (f / "huge.yaml").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    proc = run_evalloop("validate", cwd=repo)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    out = lines(proc.stdout)
    expected = {
        "fixtures/dup.yaml:2:1: YAML002", "fixtures/tag.yaml:1:5: YAML003",
        "fixtures/bin.json:1:1: FILE001", "fixtures/empty.yaml:1:1: FILE001",
        "fixtures/huge.yaml:1:1: FILE001", "fixtures/list.yaml:1:1: SCH001",
    }
    assert {ln.split(" ", 2)[0] + " " + ln.split(" ", 2)[1] for ln in out} == expected


def test_json_and_github_formats(repo: Path) -> None:
    write(repo / "fixtures/bad.yaml", "id: a\nowner: 'x,y:%z'\n")
    doc = json.loads(invoke("validate", "--format", "json").output)
    assert doc["errors"] == 1 and doc["findings"][0]["code"] == "OWN001"
    assert doc["findings"][0]["line"] == 2
    gh = invoke("validate", "--format", "github").output.strip()
    assert gh.startswith("::error file=fixtures/bad.yaml,line=2,col=8,title=OWN001::owner 'x,y:%25z'")


def test_help_explains_exit_codes() -> None:
    result = invoke("validate", "--help")
    assert "Exit 0 when clean" in result.output and "--today" in result.output


def test_fixture_outside_repo_root_uses_given_path(repo: Path, tmp_path: Path) -> None:
    shutil.copy(PROJECT / "fixtures/refund/refund-approval-bypass-regression.json",
                repo / "fixtures/seed.json")
    out = lines(invoke("validate", "fixtures/seed.json").output)
    assert out == ["fixtures/seed.json:1:1: OWN002 fixture has no `owner` and evalloop.yaml sets "
                   "no `defaults.owner`"]


def test_expectations_that_cannot_be_evaluated(repo: Path) -> None:
    rules = "expected:\n  output_must_not_contain:\n    - {regex: 'appro(ved'}\n"
    write(repo / "fixtures/rx.yaml", GOOD.replace("expected: {tools_not_called: [issue_refund]}", rules))
    out = lines(invoke("validate").output)
    assert len(out) == 1 and out[0].startswith(
        "fixtures/rx.yaml:8:15: SCH002 expected.output_must_not_contain.0.regex: invalid regex 'appro(ved'")


# --- nothing hangs, nothing outside the repository is read, no tracebacks --------------------------

SECRET = "hunter2-outside-the-repo"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the repository holding a fixture-looking file with a secret in it."""
    folder = tmp_path_factory.mktemp("outside")
    write(folder / "secret.yaml", f"id: {SECRET}\nowner: {SECRET}\ntoken: {SECRET}\n")
    return folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_and_links_out_are_refused_not_opened(repo: Path, outside: Path) -> None:
    f = repo / "fixtures"
    os.mkfifo(f / "pipe.yaml")  # opened for reading, it would block the run until a writer came
    (f / "passwd.yaml").symlink_to("/etc/passwd")
    (f / "leak.yaml").symlink_to(outside / "secret.yaml")
    (f / "linked").symlink_to(outside, target_is_directory=True)  # never walked
    write(f / "real.yaml", GOOD)
    (f / "alias.yaml").symlink_to("real.yaml")  # inside the repository: followed (and a duplicate id)
    os.mkfifo(repo / "incidents/pipe.yaml")
    refused = {
        "fixtures/pipe.yaml:1:1: FILE001 a named pipe (FIFO), not a regular file; not read",
        "fixtures/passwd.yaml:1:1: FILE001 leads outside the repository through a symlink; not read",
        "fixtures/leak.yaml:1:1: FILE001 leads outside the repository through a symlink; not read",
        "incidents/pipe.yaml:1:1: FILE001 a named pipe (FIFO), not a regular file; not read",
    }
    # found by globbing (a real process: were anything opened, it would hang, not fail)
    proc = run_evalloop("validate", cwd=repo)
    out = lines(proc.stdout)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert refused <= set(out)
    assert {ln.split(":", 1)[0] for ln in out} == {
        "fixtures/pipe.yaml", "fixtures/passwd.yaml", "fixtures/leak.yaml", "incidents/pipe.yaml",
        "fixtures/real.yaml", "fixtures/alias.yaml"}  # the last two: ID001, each other
    # given on the command line
    proc = run_evalloop("validate", "fixtures/pipe.yaml", "fixtures/passwd.yaml", "fixtures/leak.yaml",
                        "incidents/pipe.yaml", "fixtures/linked/secret.yaml", cwd=repo)
    out = lines(proc.stdout)
    assert proc.returncode == 1
    assert set(out) == refused | {
        "fixtures/linked/secret.yaml:1:1: FILE001 leads outside the repository through a symlink; not read"}
    for fmt in ("text", "json", "github"):
        proc = run_evalloop("validate", "--format", fmt, cwd=repo)
        assert SECRET not in proc.stdout + proc.stderr and "root:" not in proc.stdout + proc.stderr


def test_scope_globs_do_not_walk_symlink_loops(repo: Path) -> None:
    # glob.iglob's `**` follows links: two links to `.` make its walk exponential (it never ended)
    for name in ("a", "b", "c"):
        (repo / "prompts" / name).symlink_to(".", target_is_directory=True)
    write(repo / "prompts/refund.md", "prompt\n")
    write(repo / "fixtures/s.yaml", GOOD + "scope: {paths: ['prompts/**/*.md', 'prompts/**/*.txt']}\n")
    proc = run_evalloop("validate", "fixtures/s.yaml", cwd=repo)
    assert lines(proc.stdout) == [
        "fixtures/s.yaml:7:36: REF002 scope path 'prompts/**/*.txt' matches no file in the repository"]


@pytest.mark.parametrize(("field", "value", "position", "message"), [
    ("created_at", "2026-02-30", "5:13: YAML001",
     "invalid date or time '2026-02-30': day is out of range for month"),
    ("runs", "9" * 5000, "5:7: YAML001", "integer with 5,000 digits is too large"),
    ("expected", "{budget: {max_tokens: 123456789012345678901234567890}}", "5:33: SCH001",
     "expected.budget.max_tokens: Value error, a 30-digit number is over the largest budget accepted "
     "(9,007,199,254,740,991)"),
    ("expected", "{budget: {max_tokens: Infinity}}", "5:33: SCH001",
     "expected.budget.max_tokens: 'Infinity' is not of type 'integer'"),
    ("expected", "{budget: {max_cost_usd: .inf}}", "5:35: SCH001",
     "expected.budget.max_cost_usd: Input should be a finite number"),
    ("expected", "{budget: {max_latency_ms: .nan}}", "5:37: SCH001",
     "expected.budget.max_latency_ms: Input should be a finite number"),
    ("expected", "{budget: {max_latency_ms: -.inf}}", "5:37: SCH001",
     "expected.budget.max_latency_ms: -inf is less than the minimum of 0"),
])
def test_hostile_values_get_one_positioned_line(repo: Path, field: str, value: str, position: str,
                                                message: str) -> None:
    text = GOOD.replace("expected: {tools_not_called: [issue_refund]}\n", "").replace(
        "created_at: 2026-01-01\n", "") + f"{field}: {value}\n"
    write(repo / "fixtures/h.yaml", text)
    proc = run_evalloop("validate", cwd=repo)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines(proc.stdout) == [f"fixtures/h.yaml:{position} {message}"]


def test_json_budget_infinity_and_overflow(repo: Path) -> None:
    write(repo / "fixtures/b.json", '{"id": "b", "owner": "my-team",\n'
          ' "expected": {"budget": {"max_cost_usd": 1e400, "max_latency_ms": NaN}}}')
    out = lines(invoke("validate").output)
    assert out == ["fixtures/b.json:2:42: SCH001 expected.budget.max_cost_usd: Input should be a finite number",
                   "fixtures/b.json:2:67: SCH001 expected.budget.max_latency_ms: Input should be a finite number"]


def test_control_characters_in_names_cannot_split_a_finding(repo: Path) -> None:
    name = "fixtures/evil\nfixtures/x.yaml:1:1: FAKE001 \x1b[31mall good\x1b[0m.yaml"
    write(repo / name, 'id: evil\nowner: "no\\e]8;;https://e.test\\a-body"\n')  # YAML escapes: ESC, BEL
    text = invoke("validate").output
    out = lines(text)
    assert out == ["fixtures/evil\\nfixtures/x.yaml:1:1: FAKE001 \\x1b[31mall good\\x1b[0m.yaml:2:8: OWN001 "
                   "owner 'no\\x1b]8;;https://e.test\\x07-body' is not listed in owners.yaml"]
    assert "\x1b" not in text and "\x07" not in text
    gh = invoke("validate", "--format", "github").output.strip()
    assert gh == ("::error file=fixtures/evil%0Afixtures/x.yaml%3A1%3A1%3A FAKE001 \\x1b[31mall good\\x1b[0m.yaml,"
                  "line=2,col=8,title=OWN001::owner 'no\\x1b]8;;https://e.test\\x07-body' is not listed in owners.yaml")
    doc = json.loads(invoke("validate", "--format", "json").output)
    assert [f["path"] for f in doc["findings"]] == [name]


def test_message_with_raw_control_characters_stays_on_its_line(repo: Path) -> None:
    # messages quote user content: here an unknown key holding a newline and a terminal escape
    write(repo / "fixtures/k.yaml", GOOD + '"x\\ny\\e[2J": 1\n')
    out = lines(invoke("validate").output)
    assert out == ["fixtures/k.yaml:7:1: SCH001 x\\ny\\x1b[2J: unknown key 'x\\ny\\x1b[2J'"]


# --- every finding a file has, in one run ------------------------------------------------------------

def test_schema_errors_do_not_hide_the_other_findings(repo: Path) -> None:
    write(repo / "fixtures/all.yaml", "id: all-at-once\nowner: my-teem\nseverity: blocker\n"
          "expires_at: 2020-01-01\nincident_id: INC-404\nscope: {paths: [nowhere/*.md]}\n"
          "input: {user_message: 'mail jane@corp.io'}\ngatez: [prompt]\n")
    write(repo / "fixtures/other.json", '{"id": "all-at-once", "owner": "my-team"}')
    result = invoke("validate", "--today", "2026-01-01", "fixtures/all.yaml")
    assert result.exit_code == 1
    assert [ln.split(" (redact")[0] for ln in lines(result.output)] == [
        "fixtures/all.yaml:1:5: ID001 id 'all-at-once' is also used by fixtures/other.json",
        "fixtures/all.yaml:2:8: OWN001 owner 'my-teem' is not listed in owners.yaml (did you mean 'my-team'?)",
        "fixtures/all.yaml:3:11: SCH001 severity: 'blocker' is not one of ['blocking', 'warning', 'exploratory']",
        "fixtures/all.yaml:4:13: EXP001 fixture expired on 2020-01-01 (2192 days ago): renew it with a reason "
        "or delete it",
        "fixtures/all.yaml:5:14: REF001 incident 'INC-404' not found under incidents/",
        "fixtures/all.yaml:6:17: REF002 scope path 'nowhere/*.md' matches no file in the repository",
        "fixtures/all.yaml:7:29: RED001 unredacted e-mail address in input.user_message",
        "fixtures/all.yaml:8:1: SCH001 gatez: unknown key 'gatez' (did you mean 'gates'?)",
    ]


def test_schema_errors_in_json_do_not_hide_the_other_findings(repo: Path) -> None:
    write(repo / "fixtures/j.json", json.dumps({
        "id": "j", "owner": "nobody", "runs": 0, "temporary": True,
        "context": {"notes": "card 4111 1111 1111 1111"}}, indent=2))
    out = lines(invoke("validate", "fixtures/j.json").output)
    assert [ln.split(" ", 2)[0] + " " + ln.split(" ", 2)[1] for ln in out] == [
        "fixtures/j.json:3:12: OWN001", "fixtures/j.json:4:11: SCH001", "fixtures/j.json:5:3: EXP003",
        "fixtures/j.json:7:20: RED003"]


def test_a_wrong_field_leaves_out_only_its_own_check(repo: Path) -> None:
    # a list for an owner is no owner to look up, and a date that is not one is not a missing date
    write(repo / "fixtures/w.yaml", "id: w\nowner: [my-team]\ntemporary: true\nexpires_at: soon\n"
          "synthetic_values: ['4242 4242 4242 4242', 3]\ninput: {card: '4242 4242 4242 4242'}\n")
    out = lines(invoke("validate", "fixtures/w.yaml").output)
    assert [ln.split(" ", 2)[1] for ln in out] == ["SCH001", "SCH001", "SCH001"], out


def test_a_document_that_is_no_mapping_gets_its_schema_error_only(repo: Path) -> None:
    write(repo / "fixtures/list.yaml", "- owner: nobody\n- expires_at: 2020-01-01\n")
    assert lines(invoke("validate", "fixtures/list.yaml").output) == [
        "fixtures/list.yaml:1:1: SCH001 (root): [{'owner': 'nobody'}, {'expires_at': '2020-01-01'}] is not of "
        "type 'object'"]


@pytest.mark.parametrize(("config", "position", "message"), [
    ("fixture: ['evals/*.yaml']\n", "2:1", "fixture: Extra inputs are not permitted (did you mean 'fixtures'?)"),
    ("agnet: {command: [x]}\n", "2:1", "agnet: Extra inputs are not permitted (did you mean 'agent'?)"),
    ("owners: {source: codeowner}\n", "2:18",
     "owners.source: Input should be 'owners_file' or 'codeowners' (did you mean 'codeowners'?)"),
])
def test_config_typos_get_did_you_mean(repo: Path, config: str, position: str, message: str) -> None:
    write(repo / "evalloop.yaml", "version: 1\n" + config)
    for args in (["validate"], ["validate", "fixtures/example-confirm-before-side-effect.yaml"]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert f"evalloop.yaml:{position}: CFG001 {message}" in result.output


# --- the pre-commit case: one file, the others' ids from the index, nothing else imported ------------

def test_one_file_imports_only_what_it_needs(repo: Path) -> None:
    """A clean fixture is decided by pydantic alone: no jsonschema (schema messages), no ruamel
    (positions), no detect-secrets once its patterns are cached, no GitPython, no gate, harness,
    traces or evaluator."""
    write(repo / "fixtures/f.yaml", GOOD + "context: {policy_version: refund-policy-2026-04}\n")
    probe = ("import sys\nfrom evalloop.main import main\nrc = main(['validate', 'fixtures/f.yaml'])\n"
             "print(rc, *sorted(m for m in sys.modules if m.split('.')[0] in "
             "('jsonschema', 'ruamel', 'detect_secrets', 'git', 'regex') or m.startswith(("
             "'evalloop.gate', 'evalloop.harness', 'evalloop.traces', 'evalloop.evaluate', 'evalloop.github'))),"
             " file=sys.stderr)\n")
    run_evalloop("validate", cwd=repo)  # caches detect-secrets' patterns, as any earlier run does
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.stderr.splitlines()[-1].split() == ["0"], proc.stdout + proc.stderr
    # a file with findings brings in what explains them
    write(repo / "fixtures/f.yaml", GOOD.replace("severity: warning", "severity: blocker"))
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, timeout=300)
    imported = proc.stderr.splitlines()[-1].split()
    assert imported[0] == "1" and "jsonschema" in imported and "ruamel.yaml" in imported, proc.stderr


def test_duplicates_are_found_however_the_index_is_left(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run after run, as the hook runs: another fixture edited to take the id, then the index
    edited to hide it, then the duplicate removed."""
    monkeypatch.setattr(idindex, "RACY_NS", 0)  # files here are written just before each run
    for i in range(20):
        write(repo / f"fixtures/many/f{i}.yaml", GOOD.replace("good-one", f"f{i}"))
    assert lines(invoke("validate", "fixtures/many/f0.yaml").output) == []
    write(repo / "fixtures/many/f7.yaml", GOOD.replace("good-one", "f0"))
    dup = ["fixtures/many/f0.yaml:1:5: ID001 id 'f0' is also used by fixtures/many/f7.yaml"]
    assert lines(invoke("validate", "fixtures/many/f0.yaml").output) == dup
    index = idindex.index_file(repo)
    head, _, body = index.read_bytes().partition(b"\n")
    index.write_bytes(head + b"\n" + body.replace(b'"f0"', b'"f7"'))
    assert lines(invoke("validate", "fixtures/many/f0.yaml").output) == dup
    write(repo / "fixtures/many/f7.yaml", GOOD.replace("good-one", "f7"))
    assert lines(invoke("validate", "fixtures/many/f0.yaml").output) == []


def test_incidents_and_fixtures_are_linked_both_ways(repo: Path) -> None:
    write(repo / "fixtures/a.yaml", GOOD.replace("good-one", "a") + "incident_id: INC-1\n")
    write(repo / "incidents/INC-1.yaml", "id: INC-1\nseverity: blocking\nopened_at: 2026-04-18\n"
          "signal: money_movement\nsummary: a refund went out early\nowner: my-team\n"
          "fixture_ids:\n  - a\n  - gone-fixture\n")
    out = lines(invoke("validate").output)
    assert "incidents/INC-1.yaml:9:5: REF004 fixture 'gone-fixture' (in fixture_ids) does not exist" in out
    assert not any("REF001" in ln for ln in out)
    # one changed incident record in a hook run is checked against every fixture (the index)
    one = lines(invoke("validate", "incidents/INC-1.yaml").output)
    assert one == ["incidents/INC-1.yaml:9:5: REF004 fixture 'gone-fixture' (in fixture_ids) does not exist"]

"""The gate end to end: real git repositories, the real harness, the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import git
import pytest

from tests.support import PROJECT, invoke
from tests.support.gitrepo import FLAKY_AGENT, commit_all, write_files

STEADY = '''
def run(request, tools):
    return {"stop_reason": "done", "final_status": "ok", "output": "hello"}
'''
FIXTURE = """id: {id}
owner: t
severity: blocking
gates: [prompt]
runs: {runs}
{extra}input: {{user_message: {id}}}
expected: {{stop_reason: done}}
"""
CONFIG = "version: 1\nagent: {entrypoint: agent_mod:run, python_path: [agent], isolation: process}\n"


def test_readme_demo_blocks_the_bypass_passes_the_fix_and_scopes_unrelated_changes() -> None:
    proc = subprocess.run([sys.executable, "examples/gate_demo.py"], cwd=PROJECT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "evalloop gate: BLOCK" in out and "came before the first approval:required" in out
    assert "it reproduces INC-2026-04-18-001" in out
    assert out.count("  ok   ") == 5


@pytest.fixture
def flaky_repo(chdir: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(chdir, initial_branch="main")
    write_files(chdir, {
        "evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n", "agent/agent_mod.py": FLAKY_AGENT,
        "fixtures/flaky.yaml": FIXTURE.format(id="flaky", runs=2, extra=""),
        "fixtures/money.yaml": FIXTURE.format(id="money", runs=2, extra="risk: [money_movement]\n"),
        "prompts/p.md": "v1\n", ".gitignore": "agent/count-*.txt\n",
        ".github/CODEOWNERS": "* @acme/devs\n/protection-changes.yaml @acme/t\n",
    })
    base = commit_all(repo, "base")
    repo.git.checkout("-b", "change")
    write_files(chdir, {"prompts/p.md": "v2\n"})
    commit_all(repo, "prompt")
    return repo, base


def results(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in report["results"]}  # type: ignore[attr-defined]


QUARANTINE_ENTRY = ("  - {{id: {id}, owner: t, reason: mock race, issue: 'https://github.com/a/b/issues/1', "
                    "expires_at: 2026-12-31}}\n")


def test_flaky_blocking_fixture_blocks_unless_quarantined(flaky_repo: tuple[git.Repo, str], chdir: Path) -> None:
    repo, base = flaky_repo
    out = invoke("gate", "--base", base, "--format", "json", "--today", "2026-06-01")
    assert out.exit_code == 1
    report = json.loads(out.output)
    assert {k: (v["status"], v["runs"], v["passes"]) for k, v in results(report).items()} == {
        "flaky": ("flaky", 2, 1), "money": ("flaky", 2, 1)}
    # a quarantine the pull request adds for a blocking fixture is a protection change: it needs approval
    write_files(chdir, {"quarantine.yaml": "quarantine:\n" + QUARANTINE_ENTRY.format(id="flaky")
                        + QUARANTINE_ENTRY.format(id="money")})
    commit_all(repo, "quarantine both")
    report = json.loads(invoke("gate", "--base", base, "--format", "json", "--today", "2026-06-01").output)
    assert {(c["id"], c["kind"], c["approved"]) for c in report["protection_changes"]} == {
        ("flaky", "quarantined", False), ("money", "quarantined", False)}
    assert results(report)["flaky"]["quarantined"] is False and report["verdict"] == "block"
    # the owner approves it in protection-changes.yaml, which base's CODEOWNERS assigns an owner
    write_files(chdir, {"protection-changes.yaml": "approvals:\n"
                        "  - {fixture: flaky, change: quarantined, approved_by: t, reason: mock race (issue 1)}\n"
                        "  - {fixture: money, approved_by: t, reason: same race}\n"})
    commit_all(repo, "approve")
    out = invoke("gate", "--base", base, "--format", "json", "--today", "2026-06-01")
    report = json.loads(out.output)
    assert all(c["approved"] for c in report["protection_changes"]), report["notes"]
    assert results(report)["flaky"]["quarantined"] is True
    assert results(report)["money"]["quarantined"] is False
    assert any("money is flaky; its quarantine entry is ignored because it guards money_movement" in n
               for n in report["notes"])
    assert out.exit_code == 1 and report["verdict"] == "block"
    # once quarantine has expired, flaky blocks again
    (chdir / "fixtures/money.yaml").unlink()
    commit_all(repo, "drop money fixture")
    write_files(chdir, {"protection-changes.yaml": "approvals:\n"
                        "  - {fixture: flaky, change: quarantined, approved_by: t, reason: mock race (issue 1)}\n"
                        "  - {fixture: money, approved_by: t, reason: the money flow moved to payments}\n"})
    commit_all(repo, "approve the removal")
    assert invoke("gate", "--base", base, "--today", "2026-06-01").exit_code == 0
    assert invoke("gate", "--base", base, "--today", "2027-01-01").exit_code == 1


def test_reports_to_files(flaky_repo: tuple[git.Repo, str], chdir: Path) -> None:
    _, base = flaky_repo
    out = invoke("gate", "--base", base, "--format", "markdown", "--output", "r.md", "--json", "r.json")
    assert out.exit_code == 1 and out.output == ""
    md = (chdir / "r.md").read_text()
    assert md.startswith("## evalloop gate: ❌ BLOCK") and "prompts/p.md" in md
    assert json.loads((chdir / "r.json").read_text())["verdict"] == "block"
    invoke("gate", "--base", base, "--format", "junit", "--output", "r.xml")
    suite = ET.parse(chdir / "r.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "2"


def test_no_agent_and_broken_fixture_fail_closed(chdir: Path) -> None:
    repo = git.Repo.init(chdir, initial_branch="main")
    write_files(chdir, {"evalloop.yaml": "version: 1\n", "owners.yaml": "owners: {t: {}}\n",
                        "fixtures/a.yaml": FIXTURE.format(id="a", runs=1, extra=""), "prompts/p.md": "v1\n"})
    base = commit_all(repo, "base")
    write_files(chdir, {"prompts/p.md": "v2\n", "fixtures/broken.yaml": "id: [unclosed\n"})
    commit_all(repo, "change")
    out = invoke("gate", "--base", base, "--format", "json")
    assert out.exit_code == 1
    r = results(json.loads(out.output))
    assert r["a"]["status"] == "error" and "no agent configured" in str(r["a"]["error"])
    assert r["fixtures/broken.yaml"]["status"] == "error"
    assert "fixture unreadable" in str(r["fixtures/broken.yaml"]["error"])


def test_shards_merge_to_the_unsharded_verdict(chdir: Path) -> None:
    repo = git.Repo.init(chdir, initial_branch="main")
    files = {"evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n", "agent/agent_mod.py": STEADY,
             "prompts/p.md": "v1\n"}
    files |= {f"fixtures/f{i}.yaml": FIXTURE.format(id=f"f{i}", runs=1, extra="") for i in range(5)}
    write_files(chdir, files)
    base = commit_all(repo, "base")
    write_files(chdir, {"prompts/p.md": "v2\n"})
    commit_all(repo, "change")
    for i in (1, 2):
        assert invoke("gate", "--base", base, "--shard", f"{i}/2", "--json", f"s{i}.json").exit_code == 0
    shards = [json.loads((chdir / f"s{i}.json").read_text()) for i in (1, 2)]
    assert sorted(len(s["results"]) for s in shards) == [2, 3]
    merged = invoke("merge", "s1.json", "s2.json", "--format", "json")
    assert merged.exit_code == 0
    assert json.loads(merged.output)["counts"]["passed"] == 5
    assert invoke("merge", "s1.json").exit_code == 1


def test_verbose_and_saved_runs_show_and_keep_every_run(flaky_repo: tuple[git.Repo, str], chdir: Path) -> None:
    _, base = flaky_repo
    out = invoke("gate", "--base", base, "--verbose", "--save-runs", "runs", "--today", "2026-06-01")
    assert out.exit_code == 1
    text = out.output
    # the trajectories first, then the report as always
    trajectories, report = text[:text.index("evalloop gate: BLOCK")], text[text.index("evalloop gate: BLOCK"):]
    assert trajectories.startswith("Trajectories:\n\nFLAKY flaky (blocking, fixtures/flaky.yaml)\n")
    sections = {s.split(" ")[1]: s for s in trajectories.split("\n\n")[1:] if s.startswith("FLAKY ")}
    assert set(sections) == {"flaky", "money"}
    for section in sections.values():
        assert re.findall(r"  run (\d) of 2: (PASS|FAIL)", section) in (
            [("1", "PASS"), ("2", "FAIL")], [("1", "FAIL"), ("2", "PASS")])  # the agent alternates
        assert "(1 violation: stop_reason)" in section and section.count('    output: "hello"') == 2
        assert re.search(r"\n    time \d+ ms, tokens in/out -, cost -\n", section)
    assert "  STATUS  FIXTURE [SEVERITY]" in report and "  total (2 fixtures)" in report
    assert "evalloop: saved 4 runs to runs" in text
    # each saved run is judged again by check as the gate judged it
    assert sorted(p.name for p in (chdir / "runs").iterdir()) == [
        "flaky.run1.json", "flaky.run2.json", "money.run1.json", "money.run2.json"]
    for fixture_id, section in sections.items():
        for n in (1, 2):
            passed = f"  run {n} of 2: PASS" in section
            check = invoke("check", f"fixtures/{fixture_id}.yaml", f"runs/{fixture_id}.run{n}.json")
            assert check.exit_code == (0 if passed else 1), check.output


def test_gate_colour_and_help(flaky_repo: tuple[git.Repo, str]) -> None:
    _, base = flaky_repo
    plain = invoke("gate", "--base", base, "--today", "2026-06-01")
    assert "\x1b" not in plain.output and plain.output.startswith("evalloop gate: BLOCK")
    coloured = invoke("gate", "--base", base, "--today", "2026-06-01", "--color", "always").output
    assert coloured.startswith("evalloop gate: \x1b[1;31mBLOCK") and "\n  \x1b[33mFLAKY\x1b[0m   flaky" in coloured
    uncoloured = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert "\x1b" not in uncoloured and uncoloured.startswith("evalloop gate: BLOCK: 2 blocking failures")
    assert uncoloured.splitlines()[:12] == plain.output.splitlines()[:12]  # the same report, but for colour
    json_report = invoke("gate", "--base", base, "--format", "json", "--color", "always")
    assert json.loads(json_report.output)["verdict"] == "block"  # colour is for text: stdout stays JSON
    helped = invoke("gate", "--help").output
    assert "Examples:\n    evalloop gate --base origin/main  " in helped
    assert "--color [auto|always|never]" in helped and "--save-runs DIR" in helped


@pytest.fixture
def warn_repo(chdir: Path) -> str:
    """A prompt change that a failing warning fixture (w) and a passing blocking one (b) protect; a
    policy fixture (p) it does not select. Returns the base commit."""
    repo = git.Repo.init(chdir, initial_branch="main")
    warning = FIXTURE.format(id="w", runs=1, extra="").replace("severity: blocking", "severity: warning")
    write_files(chdir, {
        "evalloop.yaml": CONFIG, "owners.yaml": "owners: {t: {}}\n", "agent/agent_mod.py": STEADY,
        "fixtures/w.yaml": warning.replace("stop_reason: done", "stop_reason: gave_up"),
        "fixtures/b.yaml": FIXTURE.format(id="b", runs=1, extra=""),
        "fixtures/p.yaml": FIXTURE.format(id="p", runs=1, extra="").replace("gates: [prompt]", "gates: [policy]"),
        "prompts/p.md": "v1\n", ".gitignore": "__pycache__/\n",
    })
    base = commit_all(repo, "base")
    write_files(chdir, {"prompts/p.md": "v2\n"})
    commit_all(repo, "prompt")
    return base


def test_fail_on_warn_exits_1_on_a_warn_verdict(warn_repo: str) -> None:
    plain = invoke("gate", "--base", warn_repo)
    assert plain.exit_code == 0 and plain.output.startswith("evalloop gate: WARN")
    strict = invoke("gate", "--base", warn_repo, "--fail-on-warn")
    assert strict.exit_code == 1 and strict.output.startswith("evalloop gate: WARN")


def test_output_writes_the_report_in_its_format_and_stdout_gets_none(warn_repo: str, chdir: Path) -> None:
    text = invoke("gate", "--base", warn_repo, "--output", "report.txt")
    assert text.exit_code == 0 and text.output == ""
    assert (chdir / "report.txt").read_text().startswith("evalloop gate: WARN")
    as_json = invoke("gate", "--base", warn_repo, "--format", "json", "--output", "report.json")
    assert as_json.output == "" and json.loads((chdir / "report.json").read_text())["verdict"] == "warn"


def test_select_narrows_the_selection_and_says_what_the_change_does_not_select(warn_repo: str) -> None:
    out = invoke("gate", "--base", warn_repo, "--format", "json", "--select", "b or p")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert [s["id"] for s in report["selected"]] == ["b"] and list(results(report)) == ["b"]
    assert report["verdict"] == "pass"  # w, the failing warning fixture, is left out
    assert "--select b or p: 1 of the 2 fixtures the change selects" in report["notes"]
    assert any("--select b or p also matches p, which this change does not select: not run" in n
               for n in report["notes"])
    # the same expression language as `evalloop run --select`, and the same usage errors
    bad = invoke("gate", "--base", warn_repo, "--select", "colour:red")
    assert bad.exit_code == 2 and "unknown key 'colour'" in bad.output
    none = invoke("gate", "--base", warn_repo, "--select", "nothing-here")
    assert none.exit_code == 2 and "no fixture matches --select nothing-here" in none.output


def test_select_only_prints_no_verdict(warn_repo: str) -> None:
    out = invoke("gate", "--base", warn_repo, "--select-only")
    assert out.exit_code == 0
    first = out.output.splitlines()[0]
    assert first == "evalloop gate: selection only, nothing ran, no verdict  (2 selected)"
    for verdict in ("PASS", "WARN", "BLOCK"):
        assert verdict not in out.output
    assert "  (nothing ran: --select-only)" in out.output
    md = invoke("gate", "--base", warn_repo, "--select-only", "--format", "markdown")
    assert md.exit_code == 0
    assert md.output.splitlines()[0] == "## evalloop gate: selection only, nothing ran, no verdict"
    for verdict in ("PASS", "WARN", "BLOCK", "pass", "warn"):
        assert f"gate: {verdict}" not in md.output


def test_a_base_that_names_no_commit_is_a_usage_error_outside_ci(warn_repo: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CI", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    out = invoke("gate", "--base", "origin/mian")
    assert out.exit_code == 2
    assert "--base revision 'origin/mian' not found in this repository" in out.output
    for env in ({"CI": "true"}, {"GITHUB_ACTIONS": "true"}):  # in CI, as documented: every fixture runs
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            ci = invoke("gate", "--base", "origin/mian", "--select-only", "--format", "json")
        assert ci.exit_code == 0, ci.output
        report = json.loads(ci.output)
        assert sorted(s["id"] for s in report["selected"]) == ["b", "p", "w"]
        assert "Ran every fixture instead" in report["notes"][0]

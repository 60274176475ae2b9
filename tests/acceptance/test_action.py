"""The real action.yml, step by step, in a real git repository, against a local GitHub.

The steps come out of action.yml (tests/action_runner.py runs them as the runner does);
the event payloads are GitHub's real ones with this repository's SHAs written in; the
API is tests/github_server.py, which holds every request to GitHub's API description.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalloop.github.publish import COMMENT_MARKER as MARKER
from evalloop.model.results import FixtureResult, GateReport, Selected, Violation, count, decide
from tests.support import DATA, PROJECT
from tests.support.action_runner import PINNED, ActionRun, environment, load_action, parse_commands, run_action
from tests.support.github_server import FakeGitHub

PAYLOADS = DATA / "github"
TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
INSTALL_STEP = "Install evalloop"


# -- the runner's machine ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def action_install(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The action checked out (a copy of this project) and installed by its own install step
    into a fresh virtual environment, as on a runner after setup-python."""
    root = tmp_path_factory.mktemp("action")
    action_dir = root / "evalloop-action"
    action_dir.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, action_dir / name)
    shutil.copytree(PROJECT / "evalloop", action_dir / "evalloop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env_dir = root / "python"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    # The fresh environment sees this one's packages (pip, evalloop's dependencies) but not its
    # editable evalloop: the install step must put evalloop there itself.
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "_outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    bin_dir = env_dir / "bin"
    temp = root / "runner-temp"
    temp.mkdir()
    event = root / "event.json"
    event.write_text("{}")
    run = run_action(action_dir, workspace=root, runner_temp=temp, event_name="pull_request", event_path=event,
                     with_inputs={}, env=environment(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"),
                     only={INSTALL_STEP}, timeout=300)
    step = run.step(next(s.id for s in run.steps))
    assert step.returncode == 0, step.stdout + step.stderr
    installed = subprocess.run([str(bin_dir / "python"), "-c", "import evalloop; print(evalloop.__file__)"],
                               cwd=root, capture_output=True, text=True, check=True).stdout
    assert installed.startswith(str(env_dir)), installed
    assert (bin_dir / "evalloop").exists()
    return action_dir, bin_dir


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Mona", "GIT_AUTHOR_EMAIL": "mona@example.com",
           "GIT_COMMITTER_NAME": "Mona", "GIT_COMMITTER_EMAIL": "mona@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Repo:
    path: Path
    base: str
    head: str


def make_repo(path: Path, bin_dir: Path) -> Repo:
    """A fixture repository scaffolded by `evalloop init`, and a pull request commit on a branch."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    subprocess.run([str(bin_dir / "evalloop"), "init"], cwd=path, check=True, capture_output=True)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "evalloop init")
    base = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-qb", "changes")
    (path / "README.md").write_text("# Hello-World\n\nDocs only: no artifact of the agent changes.\n")
    git(path, "add", "README.md")
    git(path, "commit", "-qm", "docs")
    return Repo(path, base, git(path, "rev-parse", "HEAD"))


# -- events -------------------------------------------------------------------------------------


def pull_request_event(tmp: Path, name: str, base: str, head: str, *, fork: bool = False) -> Path:
    """A real pull_request payload with this repository's SHAs; everything else as GitHub sent it."""
    payload = json.loads((PAYLOADS / name).read_text())
    pr = payload["pull_request"]
    pr["base"]["sha"], pr["head"]["sha"] = base, head
    if "after" in payload:
        payload["after"] = head
    if fork:
        head_repo = copy.deepcopy(pr["head"]["repo"])
        head_repo["full_name"] = "forker/Hello-World"
        head_repo["owner"]["login"] = "forker"
        head_repo["fork"] = True
        pr["head"]["repo"], pr["head"]["label"] = head_repo, "forker:changes"
    out = tmp / f"event-{name}"
    out.write_text(json.dumps(payload))
    return out


@dataclass
class Runner:
    action_dir: Path
    bin_dir: Path
    server: FakeGitHub
    tmp: Path

    def env(self, event_name: str, event_path: Path, sha: str) -> dict[str, str]:
        return environment(
            PATH=f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}",
            GITHUB_EVENT_NAME=event_name, GITHUB_EVENT_PATH=str(event_path), GITHUB_SHA=sha,
            GITHUB_REPOSITORY="Codertocat/Hello-World", GITHUB_API_URL=self.server.url,
            GITHUB_SERVER_URL="https://github.com", GITHUB_RUN_ID="8210321232", GITHUB_RUN_ATTEMPT="1",
            GITHUB_REF="refs/pull/2/merge", GITHUB_ACTOR="Codertocat",
            EVALLOOP_GITHUB_BACKOFF="0.01", EVALLOOP_GITHUB_MAX_WAIT="2",
        )

    def run(self, workspace: Path, event_name: str, event_path: Path, sha: str, **inputs: str) -> ActionRun:
        temp = self.tmp / f"runner-temp-{len(list(self.tmp.glob('runner-temp-*')))}"
        temp.mkdir()
        return run_action(self.action_dir, workspace=workspace, runner_temp=temp, event_name=event_name,
                          event_path=event_path, with_inputs=inputs, env=self.env(event_name, event_path, sha),
                          token=TOKEN, skip={INSTALL_STEP})


@pytest.fixture
def server() -> Iterator[FakeGitHub]:
    gh = FakeGitHub(token=TOKEN).start()
    yield gh
    gh.stop()
    assert gh.violations == [], "requests GitHub's API description does not allow:\n" + "\n".join(gh.violations)


@pytest.fixture
def runner(action_install: tuple[Path, Path], server: FakeGitHub, tmp_path: Path) -> Runner:
    return Runner(*action_install, server, tmp_path)


def bot_comments(server: FakeGitHub, issue: int = 2) -> list[dict[str, Any]]:
    return [c for c in server.comments_on(issue) if c["user"]["login"] == "github-actions[bot]"]


# -- action.yml itself ---------------------------------------------------------------------------


def test_action_yml_passes_inputs_through_env_and_pins_actions() -> None:
    action = load_action(PROJECT / "action.yml")
    assert set(action["outputs"]) >= {"verdict", "selected", "failed", "report-path"}
    assert set(action["inputs"]) >= {"config", "base", "comment", "fail-on-warn", "token", "check-run",
                                     "python-version"}
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert PINNED.match(step["uses"].split("#")[0].strip()), step["uses"]
        else:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash"
    # The token reaches only the step that posts; the gate runs the pull request's code.
    gate = next(s for s in action["runs"]["steps"] if s.get("id") == "gate")
    assert "inputs.token" not in json.dumps(gate)


# -- end to end: the gate and the publishing, every step of the action -------------------------


def test_pull_request_gets_one_comment_updated_on_every_push(runner: Runner, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", runner.bin_dir)
    event = pull_request_event(tmp_path, "opened.payload.json", repo.base, repo.head)
    first = runner.run(repo.path, "pull_request", event, repo.head)
    assert not first.failed, first.log
    assert first.step("gate").outputs["exit-code"] == "0"
    assert first.outputs["verdict"] == "pass"
    assert first.outputs["selected"] == "0" and first.outputs["failed"] == "0"
    report = Path(first.outputs["report-path"])
    assert GateReport.model_validate_json(report.read_bytes()).head == repo.head
    assert (report.parent / "report.md").is_file()
    assert "evalloop gate" in first.summary and "PASS" in first.summary
    assert "Posted the [pull request comment]" in first.summary
    [comment] = bot_comments(runner.server)
    assert comment["body"].startswith(MARKER) and f"commit {repo.head[:12]}" in comment["body"]
    assert first.outputs["comment-url"] == comment["html_url"]

    # A push to the pull request: a new head, the same comment, updated.
    (repo.path / "README.md").write_text("# Hello-World\n\nSecond push.\n")
    git(repo.path, "commit", "-qam", "second push")
    head2 = git(repo.path, "rev-parse", "HEAD")
    event2 = pull_request_event(tmp_path, "synchronize.payload.json", repo.base, head2)
    second = runner.run(repo.path, "pull_request", event2, head2)
    assert not second.failed, second.log
    [updated] = bot_comments(runner.server)
    assert updated["id"] == comment["id"] and f"commit {head2[:12]}" in updated["body"]
    assert [r.method for r in runner.server.writes()] == ["POST", "PATCH"]


def test_shallow_checkout_fails_with_the_fix_and_says_so_on_the_pull_request(runner: Runner, tmp_path: Path
                                                                             ) -> None:
    repo = make_repo(tmp_path / "repo", runner.bin_dir)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "changes", repo.path.as_uri(), str(shallow))
    event = pull_request_event(tmp_path, "opened.payload.json", repo.base, repo.head)
    run = runner.run(shallow, "pull_request", event, repo.head)
    assert run.failed
    assert run.step("gate").outputs["exit-code"] == "2"
    assert run.step("publish").returncode == 2
    assert run.outputs["verdict"] == "error"
    [error] = run.commands("error")
    assert "too shallow" in error.message and "fetch-depth: 0" in error.message
    assert "could not run" in run.summary and "fetch-depth: 0" in run.summary
    # The comment must not keep showing an older verdict.
    [comment] = bot_comments(runner.server)
    assert "could not run" in comment["body"]


# -- publishing a report: the publish step of the real action with a report given ----------------


def result(fid: str, severity: str, status: str, *, failures: int = 1, message: str = "missing span",
           path: str | None = None, incident: str | None = None) -> FixtureResult:
    return FixtureResult(
        id=fid, severity=severity, status=status, path=path or f"fixtures/{fid}.yaml", owner="support-platform",
        incident_id=incident, reason="Refunds over the threshold need approval.",
        failures=[Violation(kind="missing_span", message=f"{message} #{i}")
                  for i in range(failures if status == "fail" else 0)],
        error="adapter crashed" if status == "error" else None, runs=1, passes=int(status == "pass"))


def write_report(directory: Path, results: list[FixtureResult], workspace: Path | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    selected = [Selected(id=r.id, severity=r.severity, path=r.path or "", reasons=["gates: [prompt]"])
                for r in results]
    report = GateReport(verdict=decide(results), base="a" * 40, head="b" * 40, results=results,
                        selected=selected, counts=count(results, len(results)))
    if workspace is not None:
        for r in results:
            p = workspace / (r.path or "")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"# fixture\nid: {r.id}\nowner: support-platform\n")
    path = directory / "report.json"
    path.write_text(report.model_dump_json())
    return path


HOSTILE = "::error file=evalloop.yaml,line=1::pwned%0A::add-mask::x\r\n::warning::injected"


def test_block_annotates_the_most_important_ten_and_fails_the_job(runner: Runner, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    results = [result(f"blocking-{i:02d}", "blocking", "fail", failures=i % 4 + 1) for i in range(12)]
    results += [result("incident-repro", "blocking", "fail", incident="INC-2026-04-18-001"),
                result("crashes", "blocking", "error"),
                result("hostile::error::x", "blocking", "fail", message=HOSTILE)]
    results += [result(f"warn-{i}", "warning", "fail") for i in range(3)]
    results += [result("explore", "exploratory", "fail"), result("fine", "blocking", "pass")]
    report = write_report(tmp_path / "artifact", results, workspace)
    event = pull_request_event(tmp_path, "opened.payload.json", "a" * 40, "b" * 40)
    run = runner.run(workspace, "pull_request", event, "b" * 40, report=str(report), **{"check-run": "true"})

    assert run.failed and run.step("publish").returncode == 1
    assert run.outputs["verdict"] == "block"
    assert run.outputs["selected"] == str(len(results)) and run.outputs["failed"] == "19"
    errors, warnings = run.commands("error"), run.commands("warning")
    assert len(errors) == 10 and len(warnings) == 3 and len(run.commands("notice")) == 1
    # The incident's fixture comes first; the tenth names the ones left out.
    assert errors[0].props["file"] == "fixtures/incident-repro.yaml" and errors[0].props["line"] == "2"
    assert "6 more" in errors[-1].props["title"] and "file" not in errors[-1].props
    # Hostile text never became a command of its own: every command is one we meant.
    assert {c.name for c in run.commands()} == {"error", "warning", "notice"}
    assert all(not c.props.get("file", "").startswith("evalloop.yaml") for c in run.commands())
    assert "::stop-commands::" in run.log and "pwned" in run.log
    assert not any(c.name == "add-mask" for c in parse_commands(run.log))

    [comment] = bot_comments(runner.server)
    assert "BLOCK" in comment["body"]
    [check] = runner.server.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"] == "b" * 40
    assert check["name"] == "evalloop" and check["output"]["annotations_count"] == 19
    assert {a["annotation_level"] for a in check["_annotations"]} == {"failure", "warning", "notice"}


def test_warn_passes_unless_fail_on_warn(runner: Runner, tmp_path: Path) -> None:
    report = write_report(tmp_path / "artifact", [result("tone", "warning", "fail"), result("ok", "blocking", "pass")])
    event = pull_request_event(tmp_path, "opened.payload.json", "a" * 40, "b" * 40)
    relaxed = runner.run(tmp_path, "pull_request", event, "b" * 40, report=str(report))
    assert not relaxed.failed and relaxed.outputs["verdict"] == "warn"
    strict = runner.run(tmp_path, "pull_request", event, "b" * 40, report=str(report), **{"fail-on-warn": "true"})
    assert strict.failed and strict.step("publish").returncode == 1
    assert len(bot_comments(runner.server)) == 1  # the second run updated the first run's comment


def test_fork_pull_request_keeps_summary_annotations_and_verdict(runner: Runner, tmp_path: Path) -> None:
    runner.server.read_only = True
    report = write_report(tmp_path / "artifact", [result("guard", "blocking", "fail")], tmp_path)
    event = pull_request_event(tmp_path, "opened.payload.json", "a" * 40, "b" * 40, fork=True)
    run = runner.run(tmp_path, "pull_request", event, "b" * 40, report=str(report), **{"check-run": "true"})
    assert run.outputs["verdict"] == "block" and run.step("publish").returncode == 1
    assert [c.props.get("file") for c in run.commands("error")] == ["fixtures/guard.yaml"]
    assert "token is read-only (fork pull request?) or lacks `pull-requests: write`: no comment posted" in run.summary
    assert "no check run posted" in run.summary
    warnings = [c.message for c in run.commands("warning")]
    assert any("read-only" in w for w in warnings)
    # A permission error is not retried.
    assert [r.operation for r in runner.server.writes()] == ["issues/create-comment", "checks/create"]
    assert runner.server.comments == {}


def test_never_edits_someone_elses_marker_and_pages_through_comments(runner: Runner, tmp_path: Path) -> None:
    gh = runner.server
    gh.add_comment(2, f"{MARKER}\nI pasted the bot's marker", "octocat")
    for i in range(130):
        gh.add_comment(2, f"review comment {i}", "Codertocat")
    ours = gh.add_comment(2, f"{MARKER}\nold verdict", "github-actions[bot]")
    report = write_report(tmp_path / "artifact", [result("ok", "blocking", "pass")])
    event = pull_request_event(tmp_path, "opened.payload.json", "a" * 40, "b" * 40)
    run = runner.run(tmp_path, "pull_request", event, "b" * 40, report=str(report))
    assert not run.failed, run.log
    lists = [r for r in gh.requests if r.operation == "issues/list-comments"]
    assert len(lists) == 2 and lists[1].path.startswith("/repositories/186853002/")  # GitHub's Link form
    [patch] = gh.writes()
    assert patch.path.endswith(f"/issues/comments/{ours['id']}")
    assert "old verdict" not in gh.comments[ours["id"]]["body"]
    assert gh.comments_on(2)[0]["body"].endswith("I pasted the bot's marker")


def test_workflow_run_comments_on_the_pull_request_the_artifact_names(runner: Runner, tmp_path: Path) -> None:
    """The two-workflow pattern: a fork's pull_request run uploads the report; workflow_run posts it."""
    gh = runner.server
    payload = json.loads((PAYLOADS / "completed.with-pull-requests.payload.json").read_text())
    head = payload["workflow_run"]["head_sha"]
    payload["workflow_run"]["pull_requests"] = []  # GitHub lists none for a fork's pull request
    event = tmp_path / "workflow_run.json"
    event.write_text(json.dumps(payload))
    report = write_report(tmp_path / "artifact", [result("guard", "blocking", "fail")])
    (report.parent / "pull-request.json").write_text(json.dumps({"number": 2, "head_sha": head, "fork": True}))

    gh.add_pull(2, "0" * 40)  # the pull request has moved on, or the artifact lies
    refused = runner.run(tmp_path, "workflow_run", event, "c" * 40, report=str(report))
    assert gh.comments == {} and "no comment posted" in refused.summary
    assert refused.commands("error") == []  # annotations would land on the default branch

    gh.add_pull(2, head)
    run = runner.run(tmp_path, "workflow_run", event, "c" * 40, report=str(report), **{"check-run": "true"})
    assert run.outputs["verdict"] == "block"
    [comment] = bot_comments(gh)
    assert "BLOCK" in comment["body"]
    [check] = gh.check_runs.values()
    assert check["head_sha"] == head and check["conclusion"] == "failure"


def test_push_event_has_no_pull_request_to_comment_on(runner: Runner, tmp_path: Path) -> None:
    report = write_report(tmp_path / "artifact", [result("ok", "blocking", "pass")])
    run = runner.run(tmp_path, "push", PAYLOADS / "push.tag-deleted.payload.json", "d" * 40, report=str(report))
    assert not run.failed and run.outputs["verdict"] == "pass"
    assert "No pull request in this `push` event" in run.summary
    assert runner.server.requests == []


# -- the shipped workflows and action pass zizmor -------------------------------------------------


def test_zizmor_finds_nothing_in_the_action_and_example_workflows() -> None:
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(zizmor).exists():
        pytest.fail("zizmor is not installed: pip install -e '.[test]'")
    workflows = sorted([*(PROJECT / "docs" / "workflows").glob("*.yml"),
                        *(PROJECT / ".github" / "workflows").glob("*.yml")])
    assert any(w.parent.name == "workflows" and w.parent.parent.name == "docs" for w in workflows)
    for wf in workflows:
        doc = yaml.safe_load(wf.read_text())
        assert "pull_request_target" not in json.dumps(doc.get(True, doc.get("on"))), wf.name
        assert "permissions" in doc, f"{wf.name}: no top-level permissions"
    proc = subprocess.run([zizmor, "--offline", "--no-progress", "--format", "plain",
                           str(PROJECT / "action.yml"), *map(str, workflows)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_shipped_workflows_check_out_full_history_and_pin_actions() -> None:
    workflows = [*(PROJECT / "docs" / "workflows").glob("*.yml"), *(PROJECT / ".github" / "workflows").glob("*.yml")]
    for wf in workflows:
        doc = yaml.safe_load(wf.read_text())
        for job in doc["jobs"].values():
            assert job.get("permissions") is not None, f"{wf.name}: job without its own minimal permissions"
            for step in job["steps"]:
                uses = step.get("uses", "")
                assert not uses or uses == "./" or PINNED.match(uses), f"{wf.name}: {uses}"
                if uses.startswith("actions/checkout@"):
                    assert step["with"]["fetch-depth"] == 0, f"{wf.name}: the gate needs fetch-depth: 0"
                    assert step["with"]["persist-credentials"] is False, wf.name
                assert "${{" not in step.get("run", ""), f"{wf.name}: expression inside run:"


# -- end to end on the worked example: a blocking change, then its fix ----------------------------

EXAMPLE_WORKFLOW = "examples/refund-support/workflows/refund.yaml"
# the README's demo knows what the worked example consists of; these tests copy it the same way
_demo_spec = importlib.util.spec_from_file_location("gate_demo", PROJECT / "examples" / "gate_demo.py")
assert _demo_spec is not None and _demo_spec.loader is not None
gate_demo = importlib.util.module_from_spec(_demo_spec)
_demo_spec.loader.exec_module(gate_demo)
EXAMPLE_BYPASS = PROJECT / "examples" / "refund-support" / "revisions" / "bypass" / "workflows" / "refund.yaml"


def example_repo(path: Path) -> Repo:
    """The worked example in a git repository, and a pull request that reintroduces the
    approval bypass of INC-2026-04-18-001 (the example's incident)."""
    path.mkdir()
    gate_demo.copy_example(path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "the refund agent and its fixtures")
    base = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-qb", "reorder-workflow")
    shutil.copy2(EXAMPLE_BYPASS, path / EXAMPLE_WORKFLOW)
    git(path, "commit", "-qam", "workflow: draft the refund before asking for approval")
    return Repo(path, base, git(path, "rev-parse", "HEAD"))


def test_worked_example_blocks_the_bypass_then_passes_the_fix_in_one_comment(runner: Runner, tmp_path: Path
                                                                            ) -> None:
    repo = example_repo(tmp_path / "repo")
    event = pull_request_event(tmp_path, "opened.payload.json", repo.base, repo.head)
    blocked = runner.run(repo.path, "pull_request", event, repo.head, **{"check-run": "true"})
    assert blocked.failed and blocked.step("publish").returncode == 1, blocked.log
    assert blocked.step("gate").outputs["exit-code"] == "1"
    assert blocked.outputs["verdict"] == "block" and int(blocked.outputs["failed"]) >= 1
    errors = blocked.commands("error")
    assert errors and all(e.props.get("file", "").startswith("fixtures/") for e in errors if "file" in e.props)
    # The verdict and its reasons: what changed, what it can affect, which fixtures, every violation.
    for part in ("BLOCK", "What changed", "refund.yaml", "Which behaviours", "Which fixtures protect them",
                 "Blocking failures"):
        assert part in blocked.summary, part
    [comment] = bot_comments(runner.server)
    assert "BLOCK" in comment["body"] and "Blocking failures" in comment["body"]
    [check] = runner.server.check_runs.values()
    assert check["conclusion"] == "failure" and check["head_sha"] == repo.head

    # The author pushes the fix: the same comment now says pass, and a passing check follows.
    (repo.path / EXAMPLE_WORKFLOW).write_text((PROJECT / EXAMPLE_WORKFLOW).read_text())
    git(repo.path, "commit", "-qam", "workflow: approval before drafting again")
    head2 = git(repo.path, "rev-parse", "HEAD")
    event2 = pull_request_event(tmp_path, "synchronize.payload.json", repo.base, head2)
    fixed = runner.run(repo.path, "pull_request", event2, head2, **{"check-run": "true"})
    assert not fixed.failed, fixed.log
    assert fixed.outputs["verdict"] == "pass"
    [updated] = bot_comments(runner.server)
    assert updated["id"] == comment["id"] and "PASS" in updated["body"] and "BLOCK" not in updated["body"]
    assert sorted(c["conclusion"] for c in runner.server.check_runs.values()) == ["failure", "success"]
